import { createHmac } from 'node:crypto';
import type { Enrollment } from '../../src/events/types.ts';

/** The signing key every benchmark service is started with. */
export const BENCH_SECRET = 'bench-signing-secret';

/** The seed enrollment (fixtures/loopwise) with its ids and e-mail made unique by `tag` and `i`. */
export function enrollment(tag: string, i: number): Enrollment {
  const now = new Date().toISOString();
  return {
    id: `enroll-${tag}-${i}`,
    course: {
      id: 'course_789012',
      name: 'Introduction to Programming',
      slug: 'intro-to-programming',
      subtitle: 'Learn the basics of coding',
    },
    user: { id: `user-${tag}-${i}`, name: `Bench Student${i}`, email: emailOf(tag, i), phone_number: '0912 345 678' },
    created_at: now,
    updated_at: now,
    state: 'pending',
  };
}

/** The distinct e-mail address of enrollment `i` of run `tag`. */
export function emailOf(tag: string, i: number): string {
  return `student${i}.${tag}@example.com`;
}

/** A webhook body for enrollment `i`. */
export function enrollBody(tag: string, i: number): string {
  return JSON.stringify({ type: 'course.student_enroll', data: enrollment(tag, i) });
}

/** Lowercase hex HMAC-SHA256 of `body`, as Loopwise signs it. */
export function sign(body: string): string {
  return createHmac('sha256', BENCH_SECRET).update(body).digest('hex');
}

/** Headers of a signed webhook delivery of `body`. */
export function signedHeaders(body: string): Record<string, string> {
  return { 'content-type': 'application/json', 'loopwise-webhook-signature': sign(body) };
}
