import { WebhookSignature } from '../receiver/signature.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';

/** The receiver could not be reached at all (refused, unknown host, timed out). */
export class ReceiverUnreachableError extends Error {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(
      `no receiver answered at ${url} (${reason}). Is \`course-sync start\` running there? Use --url to point elsewhere.`,
    );
    this.name = 'ReceiverUnreachableError';
  }
}

export interface WebhookReply {
  status: number;
  statusText: string;
  /** The response body as text (the receiver answers JSON). */
  body: string;
}

/** A receiver's webhook URL for a port on this machine (Loopwise's endpoint unless told). */
export function localWebhookUrl(port: number, path = '/webhooks/loopwise'): string {
  return `http://localhost:${port}${path}`;
}

/**
 * Sends `post` and tells what came back, as every \`emit\` does: the request line, the status and
 * the body (through `show`). Exit 0 on a 2xx, 1 on another answer, 3 when nothing answered.
 */
export async function postAndReport(
  io: CliIO,
  url: string,
  what: string,
  post: () => Promise<WebhookReply>,
  show = (body: string) => body,
): Promise<number> {
  io.out(`POST ${url}  (${what})`);
  try {
    const reply = await post();
    io.out(`HTTP ${reply.status} ${reply.statusText}`);
    if (reply.body) io.out(show(reply.body));
    return reply.status >= 200 && reply.status < 300 ? EXIT.ok : EXIT.problem;
  } catch (err) {
    if (!(err instanceof ReceiverUnreachableError)) throw err;
    io.err(`course-sync emit: ${err.message}`);
    return EXIT.unavailable;
  }
}

/**
 * POSTs a raw JSON body to the receiver the way Loopwise does: signed with `secret` in
 * `Loopwise-Webhook-Signature` (unsigned when no secret). Throws ReceiverUnreachableError when
 * nothing answers; any HTTP answer, 2xx or not, is returned.
 */
export async function postWebhook(
  url: string,
  body: string,
  secret?: string,
  timeoutMs = 15_000,
): Promise<WebhookReply> {
  const headers: Record<string, string> = {};
  if (secret) headers['loopwise-webhook-signature'] = new WebhookSignature([secret]).sign(body);
  return postJson(url, body, headers, timeoutMs);
}

/** POSTs a raw JSON body with extra headers; throws ReceiverUnreachableError when nothing answers. */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs = 15_000,
): Promise<WebhookReply> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const reason =
      e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new ReceiverUnreachableError(url, reason);
  }
  return { status: res.status, statusText: res.statusText, body: await res.text() };
}
