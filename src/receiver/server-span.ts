import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Context, Next } from 'koa';
import { maskText } from '../privacy/text.ts';
import { tracer } from '../telemetry/spans.ts';

/** Probes are frequent and say nothing about an event: no span. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Koa middleware (installed only with OpenTelemetry on): one SERVER span per request, named
 * `<method> <path>`, continuing a caller's W3C `traceparent` if it sent one, with the HTTP semantic
 * conventions' method, path (no query), status and the correlation id. The handlers below run in
 * its context, so the intake's span and the jobs' trace context hang under it.
 */
export async function serverSpan(ctx: Context, next: Next): Promise<void> {
  if (UNTRACED.has(ctx.path)) return next();
  // A console path can name a student (a search): masked like every text course-sync shows.
  const path = maskText(ctx.path);
  const parent = propagation.extract(context.active(), ctx.headers);
  const span = tracer().startSpan(
    `${ctx.method} ${path}`,
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': ctx.method, 'url.path': path, 'url.scheme': ctx.protocol },
    },
    parent,
  );
  try {
    await context.with(trace.setSpan(parent, span), next);
  } finally {
    span.setAttribute('http.response.status_code', ctx.status);
    // @koa/router's matched route (its pattern, with no value in it) names the span when there is one.
    const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
    if (typeof route === 'string') span.setAttribute('http.route', route).updateName(`${ctx.method} ${route}`);
    const correlationId = ctx.response.get('x-request-id');
    if (correlationId) span.setAttribute('course_sync.correlation_id', correlationId.slice(0, 64));
    if (ctx.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }
}
