import { WebhookSignature } from '../receiver/signature.ts';

/** The receiver could not be reached at all (refused, unknown host, timed out). */
export class ReceiverUnreachableError extends Error {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`no receiver answered at ${url} (${reason}). Is \`course-sync start\` running there? Use --url to point elsewhere.`);
    this.name = 'ReceiverUnreachableError';
  }
}

export interface WebhookReply {
  status: number;
  statusText: string;
  /** The response body as text (the receiver answers JSON). */
  body: string;
}

/** The receiver's webhook URL for a port on this machine. */
export function localWebhookUrl(port: number): string {
  return `http://localhost:${port}/webhooks/loopwise`;
}

/**
 * POSTs a raw JSON body to the receiver the way Loopwise does: signed with `secret` in
 * `Loopwise-Webhook-Signature` (unsigned when no secret). Throws ReceiverUnreachableError when
 * nothing answers; any HTTP answer, 2xx or not, is returned.
 */
export async function postWebhook(url: string, body: string, secret?: string, timeoutMs = 15_000): Promise<WebhookReply> {
  const headers: Record<string, string> = {};
  if (secret) headers['loopwise-webhook-signature'] = new WebhookSignature([secret]).sign(body);
  return postJson(url, body, headers, timeoutMs);
}

/** POSTs a raw JSON body with extra headers; throws ReceiverUnreachableError when nothing answers. */
export async function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs = 15_000): Promise<WebhookReply> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const reason = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new ReceiverUnreachableError(url, reason);
  }
  return { status: res.status, statusText: res.statusText, body: await res.text() };
}
