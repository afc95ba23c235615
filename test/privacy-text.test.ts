import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { maskBody, maskPersonalData } from '../src/privacy/mask.ts';
import { maskErrorText, maskText } from '../src/privacy/text.ts';

// The one masker of free text: what HubSpot's and SendGrid's error messages quote.
describe('maskText', () => {
  it.each([
    ['Email address jane.doe@school.c0m is invalid', 'Email address j***@school.c0m is invalid'],
    [
      'A contact with email Bob@X.com already exists. Existing ID: 12345678901',
      'A contact with email B***@X.com already exists. Existing ID: 12345678901',
    ],
    ['+886912345678 was not a valid number.', '+88********78 was not a valid number.'],
    ['phone=+886 912 345 678', 'phone=+88* *** *** *78'],
    ['"phone":"+1-415-555-2671"', '"phone":"+1-4**-***-**71"'],
    ['call +1 (415) 555-2671 now', 'call +1 (4**) ***-**71 now'],
    ['mobile 0912 345 678, home (02) 2345-6789', 'mobile 09** *** *78, home (02) ****-**89'],
    ['0912-345-678 / 0912.345.678 / 0912345678', '09**-***-*78 / 09**.***.*78 / 09******78'],
    ['UK 020 7946 0958, FR 09 12 34 56 78', 'UK 02* **** **58, FR 09 ** ** ** 78'],
    ['US (415) 555-2671 or 415-555-2671 or 1-415-555-2671', 'US (41*) ***-**71 or 41*-***-**71 or 1-4**-***-**71'],
    ['tel:+886912345678', 'tel:+88********78'],
    // A number next to the phone (a status before it, a count after it) stays.
    ['HubSpot 400 0912 345 678', 'HubSpot 400 09** *** *78'],
    ['0912345678 2024 times', '09******78 2024 times'],
  ])('masks %j', (text, masked) => {
    expect(maskText(text)).toBe(masked);
  });

  it.each([
    ['timestamps', 'at 2026-11-27T03:09:31.602Z, next try 2026-11-27T11:09:31+08:00, on 01.02.2023 12:30, 2023/05/15'],
    ['epoch times and stream ids', 'at 1700000000000 (1700000000 s), stream entry 1700000000000-0'],
    [
      'HubSpot and SendGrid ids',
      'Contact already exists. Existing ID: 12345678901; product 9876543210; message ChvuhxlPtVH97gQKGRmYuA',
    ],
    ['HTTP statuses', 'contacts.upsert: HubSpot 503 Service Unavailable; SendGrid 429; HubSpot 400 (VALIDATION_ERROR)'],
    ['correlation ids', 'correlationId 635ffae2-31de-4d6a-a61a-ac42a6ffb9f6 and 12345678-1234-1234-1234-123456789012'],
    ['durations and attempts', 'failed (attempt 8, 1013 ms) — retry in 30000 ms, took 1.5 s'],
    ['course-sync ids', 'job enroll-enroll_0912345678 of user_0912345678, plan-0912345678, key enroll-123456789'],
    ['addresses and ports', 'HubSpot unreachable: ECONNREFUSED 192.168.100.200:443 (127.0.0.1:6379)'],
    ['decimals and amounts', 'price 1900.00 TWD, rate 3.0912345678, 1 000 000 units'],
    [
      'stack frames',
      'Error: x\n    at fail (/work/src/workers/contacts-worker.ts:152:15)\n    at async Promise.all (index 0)',
    ],
    ['text already masked', 'j***@school.c0m, +88********78, 09** *** *78, (02) ****-**89'],
  ])('leaves %s alone', (_what, text) => {
    expect(maskText(text)).toBe(text);
  });

  it('reads through a whole HubSpot validation message', () => {
    const message =
      'HubSpot 207 VALIDATION_ERROR: Property values were not valid: [{"isValid":false,"message":"Email address ada@school.c0m is invalid","error":"INVALID_EMAIL","name":"email"},{"isValid":false,"message":"+886912345678 was not a valid number.","error":"INVALID_DECIMAL","name":"phone"}] (correlationId 635ffae2-31de-4d6a-a61a-ac42a6ffb9f6, 2026-11-27T03:09:31.602Z)';
    const masked = maskText(message);
    expect(masked).not.toMatch(/ada@|912345/);
    expect(masked).toBe(message.replace('ada@school.c0m', 'a***@school.c0m').replace('+886912345678', '+88********78'));
  });
});

describe('maskErrorText', () => {
  it('masks the message and the stack in place, keeping the error what it was', () => {
    const err = new UnrecoverableError('HubSpot 207: contact ada@school.c0m, phone +886 912 345 678');
    void err.stack;
    expect(maskErrorText(err)).toBe(err);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(err.name).toBe('UnrecoverableError');
    expect(err.message).toBe('HubSpot 207: contact a***@school.c0m, phone +88* *** *** *78');
    expect(err.stack).toContain('a***@school.c0m');
    expect(err.stack).not.toMatch(/ada@|912 345/);
  });

  it('leaves what is no error, and an error without personal data, as they are', () => {
    expect(maskErrorText('ada@school.c0m')).toBe('ada@school.c0m');
    const err = new Error('bullmq:rateLimitExceeded');
    const stack = err.stack;
    expect(maskErrorText(err).stack).toBe(stack);
  });
});

describe('the maskers of structured data use it', () => {
  it('masks phone numbers in any string of a payload, and in a body that is not JSON', () => {
    expect(
      maskPersonalData({ note: 'call 0912 345 678', at: '2026-11-27T03:09:31.602Z', phone: '+886912345678' }),
    ).toEqual({ note: 'call 09** *** *78', at: '2026-11-27T03:09:31.602Z', phone: '+88********78' });
    expect(maskBody('not json: ada@school.c0m on 2026-11-27 at +886 912 345 678')).toBe(
      'not json: a***@school.c0m on 2026-11-27 at +88* *** *** *78',
    );
  });
});
