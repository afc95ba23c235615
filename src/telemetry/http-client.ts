import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { trace, type Span } from '@opentelemetry/api';
import { maskText } from '../privacy/text.ts';
import { clientSpans } from './spans.ts';

/**
 * Adds to each open HubSpot or SendGrid client span (spans.ts `clientSpan`) the request Node's HTTP
 * client sends for it — method, server, path without its query, and the answer's status — read from
 * the documented diagnostics channels `http.client.request.start` and `http.client.response.finish`.
 * Nothing else is patched: a request made outside a client span is left alone. Returns the unsubscribe.
 */
export function followClientRequests(): () => void {
  const spans = new WeakMap<ClientRequest, Span>();
  const started = (message: unknown) => {
    const { request } = message as { request: ClientRequest };
    const span = trace.getActiveSpan();
    if (!span || !clientSpans.has(span)) return;
    spans.set(request, span);
    const host = String(request.getHeader('host') ?? request.host ?? '');
    span.setAttributes({
      'http.request.method': request.method,
      'server.address': host.replace(/:\d+$/, ''),
      // The path only: a query could carry a key; an address in a path (never sent today) is masked.
      'url.path': maskText(request.path.split('?')[0] ?? ''),
    });
  };
  const answered = (message: unknown) => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    const span = spans.get(request);
    if (span && response.statusCode) span.setAttribute('http.response.status_code', response.statusCode);
  };
  subscribe('http.client.request.start', started);
  subscribe('http.client.response.finish', answered);
  return () => {
    unsubscribe('http.client.request.start', started);
    unsubscribe('http.client.response.finish', answered);
  };
}
