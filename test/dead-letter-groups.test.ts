import { describe, expect, it } from 'vitest';
import { categoryOf, causeOf } from '../src/queues/dead-letter-groups.ts';

describe('causeOf: what varies between letters is taken out', () => {
  it.each([
    ['e-mail addresses', 'contact jane@x.com is blocked', 'contact bob@y.com is blocked', 'contact <email> is blocked'],
    [
      'ids and numbers',
      'HubSpot answered 500 #1 for enroll_123',
      'HubSpot answered 500 #3 for enroll_9',
      'HubSpot answered <n> #<n> for <n>',
    ],
    ['quoted values', 'option "course-42x" is not valid', "option 'c_7' is not valid", 'option "…" is not valid'],
    [
      'uuids',
      'course 550e8400-e29b-41d4-a716-446655440000 failed',
      'course 123e4567-e89b-12d3-a456-426614174000 failed',
      'course <id> failed',
    ],
    [
      'addresses with ports',
      'HubSpot unreachable: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:4321',
      'HubSpot unreachable: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:9',
      'HubSpot unreachable: ECONNREFUSED connect ECONNREFUSED <n>',
    ],
  ])('%s', (_name, a, b, cause) => {
    expect(causeOf(a)).toBe(cause);
    expect(causeOf(b)).toBe(cause);
  });

  it.each([
    [
      'the HTTP status after HubSpot / SendGrid',
      'contacts.upsert: HubSpot 503 INTERNAL_ERROR: internal error',
      'contacts.upsert: HubSpot 503 INTERNAL_ERROR: internal error',
    ],
    [
      'a status differs from another',
      'SendGrid 400: Does not contain a valid address. (personalizations.0.to.0.email)',
      'SendGrid 400: Does not contain a valid address. (personalizations.<n>.to.<n>.email)',
    ],
    [
      'codes in capitals and phrases inside quotes',
      'HubSpot 207 VALIDATION_ERROR: [{"message":"Email address jane@x.com is invalid","error":"INVALID_EMAIL","name":"email"}]',
      'HubSpot 207 VALIDATION_ERROR: [{"message":"Email address <email> is invalid","error":"INVALID_EMAIL","name":"…"}]',
    ],
  ])('keeps %s', (_name, message, cause) => {
    expect(causeOf(message)).toBe(cause);
  });

  it('tells different causes apart', () => {
    expect(causeOf('SendGrid 400: bad')).not.toBe(causeOf('SendGrid 413: bad'));
    expect(causeOf('HubSpot 503 x')).not.toBe(causeOf('HubSpot 502 x'));
  });
});

describe('categoryOf', () => {
  it.each([
    ['contacts.upsert: HubSpot 503 INTERNAL_ERROR: internal error', 'INTERNAL_ERROR'],
    ['HubSpot 207 VALIDATION_ERROR: [{"error":"INVALID_EMAIL","name":"email"}]', 'VALIDATION_ERROR / INVALID_EMAIL'],
    ['HubSpot 404 no message', 'HubSpot 404'],
    ['SendGrid 400: Does not contain a valid address.', 'SendGrid 400'],
    ['contacts.upsert: HubSpot unreachable: ECONNREFUSED', 'network'],
    ['SendGrid unreachable: ETIMEDOUT', 'network'],
    ['lost the course lock before recording the version; retrying', undefined],
  ])('%s → %s', (message, category) => {
    expect(categoryOf(message)).toBe(category);
  });
});
