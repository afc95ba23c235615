import type { IncomingMessage } from 'node:http';

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
