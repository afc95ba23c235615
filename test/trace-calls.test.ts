import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { createHubSpotClient } from '../src/hubspot/client.ts';
import { maskEmail } from '../src/privacy/email.ts';
import { QUEUES } from '../src/queues/names.ts';
import { TraceCallLog } from '../src/trace/calls.ts';
import { describeCalls } from '../src/trace/format.ts';
import { TraceReader } from '../src/trace/reader.ts';
import type { RunningWorker } from '../src/workers/deps.ts';
import { startContactsWorker } from '../src/workers/contacts-worker.ts';
import { enrollment } from './support/hubspot.ts';
import { testConfig } from './support/env.ts';
import { testWorkerDeps } from './support/worker-deps.ts';

// "Why isn't this student in HubSpot?": each record of a batch keeps, in its own trace, its own part
// of the call — the properties asked for and its own result — never its neighbours'.
let em: HubSpotEmulator;
let deps: ReturnType<typeof testWorkerDeps>;
let worker: RunningWorker;

beforeAll(async () => {
  em = await startHubSpotEmulator({ requestsPer10s: undefined });
  deps = testWorkerDeps(
    testConfig({
      HUBSPOT_ACCESS_TOKEN: em.token,
      HUBSPOT_BASE_URL: em.url,
      SENDGRID_API_KEY: 'SG.unused',
      HUBSPOT_BATCH_WAIT_MS: '2000',
    }),
  );
  deps.calls = new TraceCallLog(deps.redis, deps.config);
  worker = await startContactsWorker(deps, {
    client: createHubSpotClient({ accessToken: em.token, baseUrl: em.url }),
    concurrency: 1,
  });
});
afterAll(async () => {
  await worker?.close();
  await deps?.stop();
  await em?.close();
});

describe('calls kept with the trace', () => {
  it('a contact written in a batch of 100 shows exactly its own properties and its own result', async () => {
    const list = Array.from({ length: 100 }, (_, i) =>
      enrollment(
        `calls_${i}`,
        {
          email: i === 42 ? 'broken@school.c0m' : `student${i}@example.com`,
          name: `Student Number${i}`,
          phone_number: `0912 345 ${String(i).padStart(3, '0')}`,
        },
        { id: `course-${i % 3}` },
      ),
    );
    const queue = deps.queues.work[QUEUES.contacts];
    await queue.addBulk(
      list.map((e) => ({
        name: 'course.student_enroll',
        data: {
          key: `enroll-${e.id}`,
          eventType: 'course.student_enroll',
          receivedAt: new Date().toISOString(),
          correlationId: e.id,
          enrollment: e,
        },
        opts: { jobId: `enroll-${e.id}` },
      })),
    );
    await vi.waitFor(
      async () => expect(await queue.getJobCounts('completed', 'failed')).toMatchObject({ completed: 99, failed: 1 }),
      { timeout: 30_000, interval: 100 },
    );
    expect(em.state.requestsTo('/contacts/batch/upsert')[0]!.body).toMatchObject({ inputs: expect.any(Array) });
    expect((em.state.requestsTo('/contacts/batch/upsert')[0]!.body as any).inputs).toHaveLength(100);

    const [seven] = await new TraceReader(deps.redis, deps.config).load(['enroll-calls_7']);
    const contact = [...em.state.objects.contacts.values()].find((c) => c.properties.email === 'student7@example.com')!;
    expect(seven!.calls).toEqual([
      {
        queue: QUEUES.contacts,
        attempt: 1,
        calls: [
          {
            api: 'hubspot',
            operation: 'contacts.upsert',
            request: expect.objectContaining({
              email: maskEmail('student7@example.com'),
              firstname: 'Student',
              lastname: 'Number7',
              loopwise_enrolled_courses: 'course-1',
              phone: '+88********07',
            }),
            response: { outcome: 'written', contactId: contact.id, created: true },
          },
        ],
      },
    ]);
    const text = JSON.stringify(seven!.calls);
    for (const other of ['student8', 'Number8', 'course-2', 'student6']) expect(text).not.toContain(other);
    expect(text).not.toContain('student7@example.com');

    const [broken] = await new TraceReader(deps.redis, deps.config).load(['enroll-calls_42']);
    expect(broken!.calls![0]!.calls[0]!.response).toMatchObject({
      outcome: 'rejected',
      error: expect.stringContaining('INVALID_EMAIL'),
    });
    expect(JSON.stringify(broken!.calls)).not.toContain('broken@school.c0m');
    expect(describeCalls(seven!.calls)[0]).toMatch(
      /^crm-contacts attempt 1: hubspot contacts\.upsert asked \{.*\} → answered \{"outcome":"written"/,
    );
  });
});
