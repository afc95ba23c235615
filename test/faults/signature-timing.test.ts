import { createRequire, syncBuiltinESMExports } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookSignature } from '../../src/receiver/signature.ts';
import { report } from '../support/faults.ts';

// The signature check must not tell an attacker, through its timing, how much of a forged
// signature was right, nor which of several rotation secrets matched. Two checks:
// 1. structural: every verify() runs crypto.timingSafeEqual once per secret over full-length
//    digests, whatever the input (observed by swapping the real function for a counting wrapper);
// 2. statistical: medians of many interleaved timing batches for "first half right" vs "nothing
//    right", and "matches the first secret" vs "matches the last", agree within robust bounds.
// An early exit over the secrets fails both; a plain `===` on the hex strings differs by
// nanoseconds against a ~5 us HMAC, which only the structural check can see.
const require = createRequire(import.meta.url);
const crypto = require('node:crypto') as typeof import('node:crypto');
const realTimingSafeEqual = crypto.timingSafeEqual;

afterEach(() => {
  crypto.timingSafeEqual = realTimingSafeEqual;
  syncBuiltinESMExports();
});

const SECRETS = ['current-signing-key', 'previous-signing-key', 'oldest-signing-key'];
const body = Buffer.from(JSON.stringify({ type: 'course.student_enroll', data: { id: 'enroll_timing' } }));
const valid = (secret: string) => new WebhookSignature([secret]).sign(body);

/** A wrong signature sharing its first `right` hex characters with the valid one. */
function forged(right: number): string {
  const v = valid(SECRETS[0]!);
  const flip = (c: string) => (c === '0' ? '1' : '0');
  return v.slice(0, right) + [...v.slice(right)].map(flip).join('');
}

function attempt(sig: WebhookSignature, signature: string): boolean {
  try {
    sig.verify(body, { 'loopwise-webhook-signature': signature });
    return true;
  } catch {
    return false;
  }
}

describe('signature compare', () => {
  it('runs timingSafeEqual over every secret, on full 32-byte digests, whatever the signature', () => {
    const calls: number[][] = [];
    crypto.timingSafeEqual = ((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      calls.push([a.byteLength, b.byteLength]);
      return realTimingSafeEqual(a, b);
    }) as typeof crypto.timingSafeEqual;
    syncBuiltinESMExports();
    const sig = new WebhookSignature(SECRETS);
    const cases: [string, string, boolean][] = [
      ['matches the current secret', valid(SECRETS[0]!), true],
      ['matches the oldest secret', valid(SECRETS[2]!), true],
      ['first 32 hex right', forged(32), false],
      ['first 63 hex right', forged(63), false],
      ['nothing right', forged(0), false],
    ];
    for (const [name, signature, ok] of cases) {
      calls.length = 0;
      expect(attempt(sig, signature), name).toBe(ok);
      expect(calls, name).toEqual(SECRETS.map(() => [32, 32]));
    }
  });

  it('takes the same time whether much or nothing of a forgery is right, and whichever secret matches', () => {
    const sig = new WebhookSignature(SECRETS);
    const kinds = { half: forged(32), none: forged(0), first: valid(SECRETS[0]!), last: valid(SECRETS[2]!) };
    const samples: Record<keyof typeof kinds, number[]> = { half: [], none: [], first: [], last: [] };
    const batch = 200;
    for (let i = 0; i < 5 * batch; i++) for (const k of Object.keys(kinds) as (keyof typeof kinds)[]) attempt(sig, kinds[k]); // warm-up
    for (let round = 0; round < 150; round++) {
      // Interleaved, order rotating, so machine noise hits every kind alike.
      const order = (Object.keys(kinds) as (keyof typeof kinds)[]).sort(() => (round % 2 ? 1 : -1));
      for (const k of order) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < batch; i++) attempt(sig, kinds[k]);
        samples[k].push(Number(process.hrtime.bigint() - t0) / batch);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) as Record<keyof typeof kinds, number>;
    const forgeryRatio = m.half / m.none;
    const secretRatio = m.first / m.last;
    report('signature-timing', { nsPerVerify: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v)])), forgeryRatio: +forgeryRatio.toFixed(3), secretRatio: +secretRatio.toFixed(3) });
    // One HMAC is a third of a verify with three secrets: an early exit would show as ~0.4.
    expect(forgeryRatio).toBeGreaterThan(0.85);
    expect(forgeryRatio).toBeLessThan(1.18);
    expect(secretRatio).toBeGreaterThan(0.85);
    expect(secretRatio).toBeLessThan(1.18);
  });
});
