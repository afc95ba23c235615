import { ContactCourses } from '../hubspot/contact-courses.ts';
import type { ContactSyncDeps } from '../hubspot/contacts-sync.ts';
import { CourseOptions } from '../hubspot/course-options.ts';
import { compileContactMapping } from '../hubspot/contact-mapping-apply.ts';
import { startCoursesKit } from './courses-kit.ts';
import { setupOnce } from '../hubspot/setup.ts';
import { jobRetention } from '../queues/jobs.ts';
import { QUEUES } from '../queues/names.ts';
import { ContactsBatchHandler, type ContactsJob } from './contacts-batch.ts';
import type { RunningWorker, WorkerDeps } from './deps.ts';
import { hubSpotKit, type HubSpotWorkerOptions } from './hubspot-kit.ts';
import { tracedBatch } from './job-spans.ts';
import { MicroBatchWorker } from './micro-batch.ts';
import { notStarted } from './start.ts';

export interface ContactsWorkerOptions extends HubSpotWorkerOptions {
  /** Batches in hand at once in this process (default 8: enough to keep a 190/10 s budget busy). */
  concurrency?: number;
}

/** Starts the `crm-contacts` worker: micro-batched upserts of enrolled students into HubSpot contacts. */
export async function startContactsWorker(deps: WorkerDeps, opts: ContactsWorkerOptions = {}): Promise<RunningWorker> {
  const { config, log } = deps;
  const name = QUEUES.contacts;
  if (!opts.client && !config.hubspot.accessToken) {
    return notStarted(
      deps,
      name,
      'HUBSPOT_ACCESS_TOKEN is not set and no HubSpot emulator was given; enrollments wait in the queue',
    );
  }
  const queue = deps.queues.work[name];
  // The probe of a daily-limit pause: the smallest read of what this worker writes.
  const kit = hubSpotKit(deps, opts, (c) => c.crm.contacts.basicApi.getPage(1));
  const { client, call } = kit;
  const setup = setupOnce(client, call, ['contacts']);
  const sync = {
    client,
    call,
    setup,
    courses: new ContactCourses(deps.redis, config.redis.prefix, config.hubspot.contactRecordTtlSeconds),
    options: new CourseOptions(client, call, deps.redis, config.redis.prefix),
    mapping: compileContactMapping(config.hubspot.contactMapping),
  } satisfies ContactSyncDeps;
  const courses = await startCoursesKit(deps, kit, opts);
  const handler = new ContactsBatchHandler(deps, sync, courses.records, queue, kit.signal);
  const batches = new MicroBatchWorker<ContactsJob>({
    queue,
    connection: deps.connect(),
    prefix: config.redis.prefix,
    batchSize: config.hubspot.batchSize,
    waitMs: config.hubspot.batchWaitMs,
    concurrency: opts.concurrency ?? 8,
    retention: jobRetention(config),
    handle: (jobs, token, signal) => tracedBatch(name, jobs, () => handler.handle(jobs, token, signal)),
    onError: (err) => log.error({ queue: name, err: err.message }, 'crm-contacts worker error'),
  });
  // Create the group and properties now, so a new portal needs no manual step; a failure here is
  // retried before the first batch.
  void setup.ensure().then(
    (report) => report.created.length && log.info({ created: report.created }, 'HubSpot properties created'),
    (err) =>
      log.warn({ err: (err as Error).message }, 'HubSpot property set-up failed; will retry before the first batch'),
  );
  await batches.start();
  log.info(
    {
      queue: name,
      batchSize: config.hubspot.batchSize,
      batchWaitMs: config.hubspot.batchWaitMs,
      requestsPer10s: config.hubspot.requestsPer10s,
    },
    'crm-contacts worker started',
  );
  return {
    name,
    close: async () => {
      await kit.stop();
      await batches.close();
    },
  };
}
