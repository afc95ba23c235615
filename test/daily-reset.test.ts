import { describe, expect, it } from 'vitest';
import { nextPortalMidnight } from '../src/emulators/hubspot/daily-limit.ts';
import { dailyResetAt, formatPortalTime, nextMidnight } from '../src/hubspot/daily-reset.ts';

const at = (iso: string) => Date.parse(iso);

describe("nextMidnight (the portal's next day)", () => {
  it.each([
    ['Taipei (UTC+8, no DST)', 'Asia/Taipei', '2024-05-01T10:00:00Z', '2024-05-01T16:00:00Z'],
    ['Taipei just before midnight', 'Asia/Taipei', '2024-05-01T15:59:59.999Z', '2024-05-01T16:00:00Z'],
    [
      'Taipei at midnight itself: the next one, a day later',
      'Asia/Taipei',
      '2024-05-01T16:00:00Z',
      '2024-05-02T16:00:00Z',
    ],
    ['US/Eastern in winter (UTC-5)', 'US/Eastern', '2024-01-15T20:00:00Z', '2024-01-16T05:00:00Z'],
    [
      'US/Eastern the evening before DST starts: midnight is still EST',
      'US/Eastern',
      '2024-03-09T17:00:00Z',
      '2024-03-10T05:00:00Z',
    ],
    [
      'US/Eastern on the day DST starts (23 hours long): midnight is EDT',
      'US/Eastern',
      '2024-03-10T06:00:00Z',
      '2024-03-11T04:00:00Z',
    ],
    [
      'US/Eastern on the day DST ends (25 hours long): midnight is EST',
      'US/Eastern',
      '2024-11-03T04:30:00Z',
      '2024-11-04T05:00:00Z',
    ],
    [
      'Santiago, where DST skips midnight: the day begins at 01:00',
      'America/Santiago',
      '2024-09-07T20:00:00Z',
      '2024-09-08T04:00:00Z',
    ],
    ['UTC', 'UTC', '2024-02-28T23:00:00Z', '2024-02-29T00:00:00Z'],
  ])('%s', (_title, zone, now, expected) => {
    expect(new Date(nextMidnight(zone, at(now))).toISOString()).toBe(new Date(expected).toISOString());
    // The emulator computes the same instant its own way (offsets, not bisection).
    expect(new Date(nextPortalMidnight(zone, at(now))).toISOString()).toBe(new Date(expected).toISOString());
  });

  it('throws for a zone ICU does not know', () => {
    expect(() => nextMidnight('Mars/Olympus_Mons', 0)).toThrow(RangeError);
  });
});

describe('dailyResetAt (when HubSpot work may start again)', () => {
  const now = at('2024-05-01T10:00:00Z');
  it.each([
    [
      'resetsAt from the usage endpoint wins',
      { resetsAt: '2024-05-01T16:00:00Z', timeZone: 'US/Eastern' },
      '2024-05-01T16:00:00.000Z',
      'api-usage',
    ],
    ['resetsAt with an offset', { resetsAt: '2024-05-02T00:00:00+08:00' }, '2024-05-01T16:00:00.000Z', 'api-usage'],
    [
      'a resetsAt already past (stale, cached) gives way to the time zone',
      { resetsAt: '2024-05-01T04:00:00Z', timeZone: 'US/Eastern' },
      '2024-05-02T04:00:00.000Z',
      'time-zone',
    ],
    [
      "a resetsAt more than a day ahead is not today's",
      { resetsAt: '2024-05-03T04:00:00Z', timeZone: 'Asia/Taipei' },
      '2024-05-01T16:00:00.000Z',
      'time-zone',
    ],
    ['an unreadable resetsAt', { resetsAt: 'soon', timeZone: 'Asia/Taipei' }, '2024-05-01T16:00:00.000Z', 'time-zone'],
    ['the time zone alone (EDT)', { timeZone: 'US/Eastern' }, '2024-05-02T04:00:00.000Z', 'time-zone'],
    ['an unknown time zone falls back to UTC', { timeZone: 'Nowhere/Special' }, '2024-05-02T00:00:00.000Z', 'utc'],
    ['nothing known: next midnight UTC', {}, '2024-05-02T00:00:00.000Z', 'utc'],
  ] as const)('%s', (_title, hints, expected, source) => {
    const reset = dailyResetAt(hints, now);
    expect({ at: new Date(reset.at).toISOString(), source: reset.source }).toEqual({ at: expected, source });
  });
});

describe('formatPortalTime', () => {
  it("shows an instant in the portal's zone, or in UTC when the zone is unknown", () => {
    expect(formatPortalTime(at('2024-05-01T16:00:00Z'), 'Asia/Taipei')).toBe('2024-05-02 00:00 Asia/Taipei');
    expect(formatPortalTime(at('2024-05-01T16:00:00Z'))).toBe('2024-05-01 16:00 UTC');
    expect(formatPortalTime(at('2024-05-01T16:00:00Z'), 'Not/AZone')).toBe('2024-05-01 16:00 UTC');
  });
});
