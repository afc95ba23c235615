import type { HubSpotEmulator } from '../../src/emulators/hubspot/index.ts';
import type { SendGridEmulator } from '../../src/emulators/sendgrid/index.ts';
import { WORK_QUEUES } from '../../src/queues/names.ts';
import type { QueueSet } from '../../src/queues/registry.ts';
import { WebhookSignature } from '../../src/receiver/signature.ts';
import { fixture, SECRET } from './env.ts';

/** A seed enrollment with its own id and student (e-mail `<id>@example.com`, lower case). */
export function enrollEvent(id: string, course: { id?: string; name?: string } = {}): any {
  const body = fixture('course.student_enroll');
  body.data.id = id;
  body.data.user = { ...body.data.user, id: `user-${id}`, email: `${id.toLowerCase()}@example.com` };
  body.data.course = { ...body.data.course, ...course };
  return body;
}

/** The enrollment id of an enrollment job (the intake's jobs hold only a reference; its id is the idempotency key). */
export function enrollmentIdOf(job: { id?: string; data?: { enrollment?: { id?: string } } }): string {
  return job.data?.enrollment?.id ?? (job.id ?? '').replace(/^enroll-/, '');
}

/** A seed course event with its own course id, plan ids and `updated_at`. */
export function courseEvent(
  type: 'course.created' | 'course.updated',
  id: string,
  updatedAt = '2023-05-15T14:30:00Z',
): any {
  const body = fixture(type);
  body.data.id = id;
  body.data.updated_at = updatedAt;
  body.data.plans = body.data.plans.map((p: { id: string }) => ({ ...p, id: `${id}-${p.id}` }));
  return body;
}

/** What became of one POST: its status, or `error` when no answer came (connection refused, reset, timeout). */
export type PostResult = { status: number; body: any } | { status: 0; error: string };

/** POSTs `body` signed with the test secret to `base`/webhooks/loopwise; never throws. */
export async function postSigned(base: string, body: unknown, timeoutMs = 15_000): Promise<PostResult> {
  const raw = JSON.stringify(body);
  try {
    const res = await fetch(`${base}/webhooks/loopwise`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'loopwise-webhook-signature': new WebhookSignature([SECRET]).sign(raw),
      },
      body: raw,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { status: 0, error: e.cause?.code ?? e.name };
  }
}

/** Jobs not yet finished, per work queue and in total (waiting, active, delayed, failed, paused, prioritized). */
export async function unfinished(
  queues: QueueSet,
): Promise<{ total: number; byQueue: Record<string, Record<string, number>> }> {
  const byQueue: Record<string, Record<string, number>> = {};
  let total = 0;
  for (const name of WORK_QUEUES) {
    const counts = await queues.work[name].getJobCounts(
      'waiting',
      'active',
      'delayed',
      'failed',
      'prioritized',
      'waiting-children',
    );
    byQueue[name] = counts;
    total += Object.values(counts).reduce((a, b) => a + b, 0);
  }
  return { total, byQueue };
}

/** Dead letters across every work queue. */
export async function deadLetterCount(queues: QueueSet): Promise<number> {
  let n = 0;
  for (const name of WORK_QUEUES) n += await queues.deadLetter[name].count();
  return n;
}

/** Contacts in the HubSpot emulator, by e-mail. */
export function contactEmails(em: HubSpotEmulator): Set<string> {
  return new Set([...em.state.objects.contacts.values()].map((c) => c.properties.email!).filter(Boolean));
}

/** Contact writes (creates and updates) the emulator logged, per e-mail. */
export function contactWrites(em: HubSpotEmulator, email: string): number {
  return em.state.writes.filter((w) => w.objectType === 'contacts' && w.properties.email === email).length;
}

/** Emails the SendGrid emulator accepted per enrollment id, and the surplus over one each. */
export function emailTally(sg: SendGridEmulator): { perEnrollment: Map<string, number>; duplicates: number } {
  const perEnrollment = new Map<string, number>();
  for (const e of sg.outbox.all()) {
    const id = e.customArgs.enrollment_id;
    if (id) perEnrollment.set(id, (perEnrollment.get(id) ?? 0) + 1);
  }
  let duplicates = 0;
  for (const n of perEnrollment.values()) duplicates += n - 1;
  return { perEnrollment, duplicates };
}

/** Prints one scenario's measured numbers on a line of their own (collected into docs/reliability.md). */
export function report(scenario: string, numbers: Record<string, unknown>): void {
  console.log(`[faults] ${scenario}: ${JSON.stringify(numbers)}`);
}
