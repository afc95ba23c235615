import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SignatureError, WebhookSignature } from '../src/receiver/signature.ts';

const body = Buffer.from('{"type":"course.student_enroll","data":{}}');
const hex = (secret: string, b: Buffer | string) => createHmac('sha256', secret).update(b).digest('hex');

describe('WebhookSignature', () => {
  it('signs as lowercase hex HMAC-SHA256 of the raw body with the first secret', () => {
    expect(new WebhookSignature(['k1', 'k2']).sign(body)).toBe(hex('k1', body));
  });

  it.each([
    ['current header', { 'loopwise-webhook-signature': hex('k', body) }],
    ['legacy header', { 'teachify-webhook-signature': hex('k', body) }],
    ['uppercase hex', { 'loopwise-webhook-signature': hex('k', body).toUpperCase() }],
    ['surrounding spaces', { 'loopwise-webhook-signature': ` ${hex('k', body)} ` }],
  ])('accepts the %s', (_name, headers) => {
    expect(() => new WebhookSignature(['k']).verify(body, headers)).not.toThrow();
  });

  it('accepts a signature made with any secret of a rotation list', () => {
    const v = new WebhookSignature(['new', 'old']);
    expect(() => v.verify(body, { 'loopwise-webhook-signature': hex('old', body) })).not.toThrow();
    expect(() => v.verify(body, { 'loopwise-webhook-signature': hex('new', body) })).not.toThrow();
  });

  it.each([
    ['no header', {}, 'Missing signature header (loopwise-webhook-signature or teachify-webhook-signature)'],
    [
      'empty header',
      { 'loopwise-webhook-signature': '' },
      'Malformed signature: expected 64 hex characters of HMAC-SHA256',
    ],
    [
      'short header',
      { 'loopwise-webhook-signature': 'abcd' },
      'Malformed signature: expected 64 hex characters of HMAC-SHA256',
    ],
    [
      'non-hex header',
      { 'loopwise-webhook-signature': 'z'.repeat(64) },
      'Malformed signature: expected 64 hex characters of HMAC-SHA256',
    ],
    ['other secret', { 'loopwise-webhook-signature': hex('other', body) }, 'No matching signature found'],
    ['other body', { 'loopwise-webhook-signature': hex('k', body.toString() + ' ') }, 'No matching signature found'],
    [
      'sha1-length digest',
      { 'loopwise-webhook-signature': 'a'.repeat(40) },
      'Malformed signature: expected 64 hex characters of HMAC-SHA256',
    ],
  ])('refuses %s with a SignatureError saying what failed', (_name, headers, message) => {
    let error: unknown;
    try {
      new WebhookSignature(['k']).verify(body, headers);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SignatureError);
    expect((error as Error).message).toBe(message);
  });

  it('refuses to be built without a secret', () => {
    expect(() => new WebhookSignature([])).toThrow('At least one signing secret must be provided');
  });
});
