import type { Context } from 'koa';
import { HttpError } from '../http-error.ts';
import { readRawBody } from '../raw-body.ts';

const MAX_BODY = 64 * 1024;

/** The JSON object body of an admin API request (400 when it is not one, 413 past 64 KB). */
export async function jsonBody(ctx: Context): Promise<Record<string, unknown>> {
  const raw = (
    await readRawBody(ctx.req, MAX_BODY).catch(() => {
      throw new HttpError(413, `Body larger than ${MAX_BODY} bytes`);
    })
  ).toString('utf8');
  if (raw.trim() === '') return {};
  try {
    const parsed = JSON.parse(raw);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
  } catch {
    /* answered below */
  }
  throw new HttpError(400, 'Body must be a JSON object');
}
