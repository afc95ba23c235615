import { createHash, timingSafeEqual } from 'node:crypto';

/** Compares a given secret with the expected one in constant time (over fixed-length digests, so length leaks nothing either). */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
