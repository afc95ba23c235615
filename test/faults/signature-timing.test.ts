import { createRequire, syncBuiltinESMExports } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookSignature } from '../../src/receiver/signature.ts';
import { report } from '../support/faults.ts';

// The signature check must not tell an attacker, through its timing, how much of a forged
// signature was right, nor which of several rotation secrets matched. Two checks:
// 1. structural: every verify() runs crypto.timingSafeEqual once per secret over full-length
//    digests, whatever the input (observed by swapping the real function for a counting wrapper);
// 2. statistical: the median over many short back-to-back rounds of the time ratio "first half
//    right" / "nothing right", and "matches the first secret" / "matches the last", is near 1.
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
    crypto.timingSafeEqual = (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      calls.push([a.byteLength, b.byteLength]);
      return realTimingSafeEqual(a, b);
    };
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
    const names = Object.keys(kinds) as (keyof typeof kinds)[];
    const time = (k: keyof typeof kinds, n: number) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) attempt(sig, kinds[k]);
      return Number(process.hrtime.bigint() - t0) / n;
    };
    for (const k of names) time(k, 1_000); // warm-up
    // Many short rounds, each timing every kind back to back in a rotating order; a ratio is taken
    // within each round (so load that comes and goes hits both sides alike), then the median of them.
    const ratios = { forgery: [] as number[], secret: [] as number[] };
    const per: Record<keyof typeof kinds, number[]> = { half: [], none: [], first: [], last: [] };
    for (let round = 0; round < 600; round++) {
      const t = {} as Record<keyof typeof kinds, number>;
      for (let i = 0; i < names.length; i++) {
        const k = names[(round + i) % names.length]!;
        t[k] = time(k, 50);
        per[k].push(t[k]);
      }
      ratios.forgery.push(t.half / t.none);
      ratios.secret.push(t.first / t.last);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const forgeryRatio = median(ratios.forgery);
    const secretRatio = median(ratios.secret);
    report('signature-timing', {
      nsPerVerify: Object.fromEntries(names.map((k) => [k, Math.round(median(per[k]))])),
      forgeryRatio: +forgeryRatio.toFixed(3),
      secretRatio: +secretRatio.toFixed(3),
    });
    // One HMAC is a third of a verify with three secrets: an early exit shows as ~0.4.
    expect(forgeryRatio).toBeGreaterThan(0.8);
    expect(forgeryRatio).toBeLessThan(1.25);
    expect(secretRatio).toBeGreaterThan(0.8);
    expect(secretRatio).toBeLessThan(1.25);
  });
});
