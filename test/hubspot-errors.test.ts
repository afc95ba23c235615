import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyHubSpotError, rateLimitWaitMs, type HubSpotFailure } from '../src/hubspot/errors.ts';
import { freePort } from '../src/redis/local-server.ts';
import { startScriptedServer, type ScriptedAnswer } from './support/scripted-server.ts';

// Every input is what @hubspot/api-client 13 really throws (an ApiException with the status, the
// parsed body and lower-cased headers, or node-fetch's FetchError), made by a scripted server.
let server: Awaited<ReturnType<typeof startScriptedServer>>;
let hubspot: Client;
beforeAll(async () => {
  server = await startScriptedServer();
  hubspot = new Client({ accessToken: 'test-token', basePath: server.url });
});
afterAll(async () => server.close());

/** The error a contacts batch upsert throws on `answer`. */
async function thrownOn(answer: ScriptedAnswer, client = hubspot): Promise<unknown> {
  server.answer(answer);
  const err = await client.crm.contacts.batchApi.upsert({ inputs: [] }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the client threw').toBeDefined();
  return err;
}

const rateLimited = (over: Record<string, unknown>) => ({
  status: 'error',
  message: 'You have reached your ten_secondly_rolling limit.',
  errorType: 'RATE_LIMIT',
  correlationId: 'c-1',
  ...over,
});

describe('classifyHubSpotError', () => {
  const cases: [title: string, answer: ScriptedAnswer, expected: HubSpotFailure][] = [
    [
      '429 TEN_SECONDLY_ROLLING waits the interval HubSpot names',
      {
        status: 429,
        headers: {
          'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
          'X-HubSpot-RateLimit-Max': '100',
          'X-HubSpot-RateLimit-Remaining': '0',
        },
        body: rateLimited({ policyName: 'TEN_SECONDLY_ROLLING' }),
      },
      {
        kind: 'rate_limited',
        status: 429,
        waitMs: 10_000,
        policy: 'TEN_SECONDLY_ROLLING',
        message: 'HubSpot 429 RATE_LIMIT: You have reached your ten_secondly_rolling limit.',
      },
    ],
    [
      '429 with Retry-After waits that many seconds, before the interval',
      {
        status: 429,
        headers: { 'Retry-After': '3', 'X-HubSpot-RateLimit-Interval-Milliseconds': '10000' },
        body: rateLimited({ policyName: 'TEN_SECONDLY_ROLLING' }),
      },
      {
        kind: 'rate_limited',
        status: 429,
        waitMs: 3000,
        policy: 'TEN_SECONDLY_ROLLING',
        message: 'HubSpot 429 RATE_LIMIT: You have reached your ten_secondly_rolling limit.',
      },
    ],
    [
      '429 DAILY waits an hour, whatever the headers say',
      {
        status: 429,
        headers: { 'Retry-After': '3', 'X-HubSpot-RateLimit-Interval-Milliseconds': '10000' },
        body: rateLimited({ policyName: 'DAILY', message: 'You have reached your daily limit.' }),
      },
      {
        kind: 'rate_limited',
        status: 429,
        waitMs: 3_600_000,
        policy: 'DAILY',
        message: 'HubSpot 429 RATE_LIMIT: You have reached your daily limit.',
      },
    ],
    [
      '429 with neither headers nor policy waits a whole 10 s window',
      { status: 429, body: {} },
      { kind: 'rate_limited', status: 429, waitMs: 10_000, policy: undefined, message: 'HubSpot 429 no message' },
    ],
    [
      '401: the token',
      {
        status: 401,
        body: { status: 'error', message: 'Authentication credentials not found.', category: 'INVALID_AUTHENTICATION' },
      },
      {
        kind: 'auth',
        status: 401,
        message: 'HubSpot 401 INVALID_AUTHENTICATION: Authentication credentials not found.',
      },
    ],
    [
      '403: a missing scope',
      {
        status: 403,
        body: {
          status: 'error',
          message: "This app hasn't been granted all required scopes.",
          category: 'MISSING_SCOPES',
        },
      },
      {
        kind: 'auth',
        status: 403,
        message: "HubSpot 403 MISSING_SCOPES: This app hasn't been granted all required scopes.",
      },
    ],
    [
      '400 with a category: rejected as sent, the category kept',
      {
        status: 400,
        body: {
          status: 'error',
          message: 'Duplicate IDs found in batch input: [a@example.com]',
          category: 'VALIDATION_ERROR',
        },
      },
      {
        kind: 'rejected',
        status: 400,
        category: 'VALIDATION_ERROR',
        message: 'HubSpot 400 VALIDATION_ERROR: Duplicate IDs found in batch input: [a@example.com]',
      },
    ],
    [
      '404 without a category',
      { status: 404, body: { status: 'error', message: 'Not found' } },
      { kind: 'rejected', status: 404, category: undefined, message: 'HubSpot 404 Not found' },
    ],
    [
      "500: HubSpot's side, retried",
      { status: 500, body: { status: 'error', message: 'internal error', category: 'INTERNAL_ERROR' } },
      { kind: 'transient', status: 500, message: 'HubSpot 500 INTERNAL_ERROR: internal error' },
    ],
    [
      '423 Locked with Retry-After: transient, waiting at least that long',
      {
        status: 423,
        headers: { 'retry-after': '3' },
        body: { status: 'error', message: 'locked', category: 'LOCKED' },
      },
      { kind: 'transient', status: 423, message: 'HubSpot 423 LOCKED: locked', waitMs: 3000 },
    ],
    [
      "423 Locked without Retry-After: transient, the 2 s HubSpot's guide asks for",
      { status: 423, body: { status: 'error', message: 'locked', category: 'LOCKED' } },
      { kind: 'transient', status: 423, message: 'HubSpot 423 LOCKED: locked', waitMs: 2000 },
    ],
    [
      '477 Migration in Progress: transient for the whole account, for its Retry-After',
      {
        status: 477,
        headers: { 'retry-after': '120' },
        body: { status: 'error', message: 'migrating', category: 'MIGRATION_IN_PROGRESS' },
      },
      {
        kind: 'transient',
        status: 477,
        message: 'HubSpot 477 MIGRATION_IN_PROGRESS: migrating',
        waitMs: 120_000,
        accountWide: true,
      },
    ],
    [
      '503 with Retry-After: transient, not sooner than that',
      {
        status: 503,
        headers: { 'retry-after': '5' },
        body: { status: 'error', message: 'unavailable', category: 'SERVICE_UNAVAILABLE' },
      },
      { kind: 'transient', status: 503, message: 'HubSpot 503 SERVICE_UNAVAILABLE: unavailable', waitMs: 5000 },
    ],
    [
      "502 with a proxy's HTML page",
      { status: 502, body: '<html>Bad gateway</html>' },
      { kind: 'transient', status: 502, message: 'HubSpot 502 no message' },
    ],
  ];
  it.each(cases)('%s', async (_title, answer, expected) => {
    const err = await thrownOn(answer);
    expect(err).toMatchObject({ code: typeof answer === 'string' ? undefined : answer.status });
    expect(classifyHubSpotError(err)).toEqual(expected);
  });

  it('a connection refused: transient, no status, with the code', async () => {
    const closed = new Client({ accessToken: 'test-token', basePath: `http://127.0.0.1:${await freePort()}` });
    const err = await thrownOn({ status: 200 }, closed);
    expect(classifyHubSpotError(err)).toEqual({
      kind: 'transient',
      message: expect.stringMatching(
        /^HubSpot unreachable: ECONNREFUSED request to http:\/\/127\.0\.0\.1:\d+\/crm\/v3\/objects\/contacts\/batch\/upsert failed, reason: connect ECONNREFUSED/,
      ),
    });
  });

  it('a connection dropped before the answer: transient, no status, with the code', async () => {
    expect(classifyHubSpotError(await thrownOn('reset'))).toEqual({
      kind: 'transient',
      message: expect.stringMatching(/^HubSpot unreachable: ECONNRESET request to .* failed, reason: socket hang up$/),
    });
  });

  it('a page that says it is JSON but is not (no code on the error): transient, no status', async () => {
    expect(
      classifyHubSpotError(
        await thrownOn({
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: '<html>captive portal</html>',
        }),
      ),
    ).toEqual({ kind: 'transient', message: expect.stringMatching(/^HubSpot unreachable: Unexpected token '<'/) });
  });

  it('keeps the first line of a multi-line message, and copes with something that is not an Error', () => {
    expect(classifyHubSpotError(new Error('socket closed\n    at Socket.emit'))).toEqual({
      kind: 'transient',
      message: 'HubSpot unreachable: socket closed',
    });
    expect(classifyHubSpotError('gone')).toEqual({ kind: 'transient', message: 'HubSpot unreachable: gone' });
  });
});

describe('rateLimitWaitMs (HubSpot)', () => {
  it.each([
    ['Retry-After in seconds', { 'retry-after': '2' }, { policyName: 'TEN_SECONDLY_ROLLING' }, 2000],
    ['header names in any case', { 'Retry-After': '2' }, undefined, 2000],
    ['the interval when no Retry-After', { 'x-hubspot-ratelimit-interval-milliseconds': '1000' }, undefined, 1000],
    [
      'a Retry-After that is no number falls back to the interval',
      { 'retry-after': 'soon', 'x-hubspot-ratelimit-interval-milliseconds': '1000' },
      undefined,
      1000,
    ],
    [
      'zero or negative values are ignored',
      { 'retry-after': '0', 'x-hubspot-ratelimit-interval-milliseconds': '-5' },
      undefined,
      10_000,
    ],
    ['no headers at all', undefined, undefined, 10_000],
    ['DAILY beats everything', { 'retry-after': '2' }, { policyName: 'DAILY' }, 3_600_000],
  ])('%s', (_title, headers, body, expected) => {
    expect(rateLimitWaitMs(headers, body)).toBe(expected);
  });
});
