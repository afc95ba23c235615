import { randomBytes } from 'node:crypto';
import { EVENT_SIGNATURE_HEADER, EVENT_TIMESTAMP_HEADER, signEventBatch } from '../../src/sendgrid-signature.ts';

/** A SendGrid event as SendGrid posts it, about the send `messageId` of `enrollmentId` (custom_args on unless `bare`). */
export function sgEvent(
  event: string,
  enrollmentId: string,
  messageId: string,
  over: Record<string, unknown> = {},
  bare = false,
): Record<string, unknown> {
  return {
    email: `${enrollmentId}@example.com`,
    timestamp: Math.floor(Date.now() / 1000),
    event,
    sg_event_id: randomBytes(12).toString('base64url'),
    sg_message_id: `${messageId}.filter0001.16648.5515E0B88.0`,
    ...(bare ? {} : { enrollment_id: enrollmentId, course_id: 'course_789012' }),
    ...over,
  };
}

/** POSTs `events` (or a raw body) to /webhooks/sendgrid, signed with `privateKey` unless told otherwise (`sentTimestamp`: a header other than the one signed). */
export async function postEvents(
  base: string,
  privateKey: string,
  events: unknown,
  opts: { timestamp?: string; sentTimestamp?: string; alter?: (body: string) => string; signature?: string } = {},
): Promise<{ status: number; json: any }> {
  const body = typeof events === 'string' ? events : JSON.stringify(events) + '\r\n';
  const timestamp = opts.timestamp ?? String(Math.floor(Date.now() / 1000));
  const signature = opts.signature ?? signEventBatch(privateKey, timestamp, body);
  const res = await fetch(`${base}/webhooks/sendgrid`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [EVENT_TIMESTAMP_HEADER]: opts.sentTimestamp ?? timestamp,
      [EVENT_SIGNATURE_HEADER]: signature,
    },
    body: opts.alter ? opts.alter(body) : body,
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json };
}
