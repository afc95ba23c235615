import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanOptions,
} from '@opentelemetry/api';
import { maskText } from '../privacy/text.ts';

/**
 * OpenTelemetry in the code paths, through `@opentelemetry/api` only. Every helper first asks
 * `tracing()`: false until `telemetry/sdk.ts` registered an SDK (OTEL_TRACES_EXPORTER=otlp), and
 * then the hot paths do exactly what they did before — no span, no context switch, no extra job
 * field. No attribute set here holds a student's e-mail or phone: ids, queue names, statuses, paths.
 */

let on = false;

/** True once an SDK is registered (telemetry/sdk.ts, or a test's provider). */
export function tracing(): boolean {
  return on;
}

/** Called by whoever registered a tracer provider; `false` again when it shut down. */
export function setTracing(value: boolean): void {
  on = value;
}

/** The tracer every course-sync span comes from. */
export function tracer() {
  return trace.getTracer('course-sync');
}

/** The W3C `traceparent` of `ctx` (default: the active one), or undefined when it holds no span. */
export function traceparentOf(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent;
}

/** The context a W3C `traceparent` names (the root context when there is none, or it is malformed). */
export function contextOf(traceparent: string | undefined): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

/** A link to the span a `traceparent` names; none when it names none. */
export function linkTo(traceparent: string | undefined, attributes?: Attributes): Link[] {
  const sc = traceparent ? trace.getSpanContext(contextOf(traceparent)) : undefined;
  return sc ? [{ context: sc, attributes }] : [];
}

/** Ends `span` as failed, with the error's message (addresses and phone numbers masked), never its stack. */
export function failSpan(span: Span, err: unknown): void {
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: maskText(err instanceof Error ? err.message : String(err)).slice(0, 500),
  });
}

/**
 * Runs `fn` inside a new span (child of `parent`, default the active context), ending it when `fn`
 * settles; a throw marks it failed and goes on. Without tracing, just `fn()`.
 */
export async function inSpan<T>(
  name: string,
  options: SpanOptions & { parent?: Context },
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!on) return fn(undefined);
  const span = tracer().startSpan(name, options, options.parent ?? context.active());
  try {
    return await context.with(trace.setSpan(options.parent ?? context.active(), span), () => fn(span));
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Where an API call went, for its client span: `api` names the peer (hubspot, sendgrid). */
export interface ClientCall {
  api: 'hubspot' | 'sendgrid';
  operation: string;
}

/**
 * Runs one HubSpot or SendGrid call inside a CLIENT span named `<api> <operation>`; `statusOf`
 * reads the HTTP status from its result or its error (`http.response.status_code`). The request's
 * method and path (without its query) are added by telemetry/http-client.ts as Node's HTTP client
 * announces them.
 */
export async function clientSpan<T>(
  call: ClientCall,
  request: () => Promise<T>,
  statusOf: (result: T | undefined, err?: unknown) => number | undefined,
): Promise<T> {
  if (!on) return request();
  const attributes = { 'peer.service': call.api, 'course_sync.api': call.api, 'course_sync.operation': call.operation };
  return inSpan(`${call.api} ${call.operation}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    clientSpans.add(span!);
    try {
      const result = await request();
      const status = statusOf(result);
      if (status !== undefined) span!.setAttribute('http.response.status_code', status);
      return result;
    } catch (err) {
      const status = statusOf(undefined, err);
      if (status !== undefined) span!.setAttribute('http.response.status_code', status);
      throw err;
    }
  });
}

/** The client spans open now (http-client.ts adds the request's method and path to them). */
export const clientSpans = new WeakSet<Span>();

/** A span opened now and ended by the caller, with its W3C `traceparent` to carry on (a job's data). */
export interface OpenSpan {
  span: Span;
  traceparent: string | undefined;
  /** Ends the span; with `err`, as failed. */
  end(err?: unknown): void;
}

/** Opens a span (child of `parent`, default the active context); undefined without tracing. */
export function openSpan(name: string, options: SpanOptions & { parent?: Context } = {}): OpenSpan | undefined {
  if (!on) return undefined;
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, options, parent);
  return {
    span,
    traceparent: traceparentOf(trace.setSpan(parent, span)),
    end: (err) => {
      if (err !== undefined) failSpan(span, err);
      span.end();
    },
  };
}

const NO_IDS = {};

/** The active span's ids for a log line (`trace_id`, `span_id`); nothing outside a span. */
export function activeTraceIds(): { trace_id?: string; span_id?: string } {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc ? { trace_id: sc.traceId, span_id: sc.spanId } : NO_IDS;
}
