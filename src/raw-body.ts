// A request's body as bytes, and the refusals that go with it (413, 415): the webhooks (whose
// signatures are over the raw bytes), the console's forms and JSON, and the SendGrid emulator read
// bodies here, on the ground beside http-error.ts.
import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import { HttpError } from './http-error.ts';

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

/** True for a JSON media type (`application/json`, `application/merge-patch+json`, with parameters). */
export function isJsonContentType(header: string | undefined): boolean {
  return JSON_TYPE.test(header ?? '');
}

/** The body is larger than the limit. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`Body larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads the whole request body as bytes (the signature is over the raw bytes), refusing early
 * when Content-Length or the bytes read pass `limit`.
 */
export async function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new BodyTooLargeError(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      throw new BodyTooLargeError(limit);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/**
 * The raw body of a webhook delivery, or the HTTP refusal for it: 415 when it is not JSON, 413
 * past `limit` bytes, 400 when it cannot be read.
 */
export async function readWebhookBody(ctx: Context, limit: number): Promise<Buffer> {
  if (!isJsonContentType(ctx.get('content-type'))) throw new HttpError(415, 'Content-Type must be application/json');
  try {
    return await readRawBody(ctx.req, limit);
  } catch (err) {
    throw err instanceof BodyTooLargeError
      ? new HttpError(413, `Body larger than ${limit} bytes`)
      : new HttpError(400, 'Could not read the request body');
  }
}
