import { DelayedError, RateLimitError, WaitingChildrenError, WaitingError, type Job, type Processor } from 'bullmq';
import { context, SpanKind, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { contextOf, failSpan, linkTo, tracer, tracing } from '../telemetry/spans.ts';

/**
 * A job's spans, with OpenTelemetry on: the job carries its enrollment's trace context (`traceparent`
 * in its data, written by the intake), so a worker in any process, after any restart, continues
 * the webhook's trace. Per job: `wait <queue>` (from when it was queued to when a worker took it, on
 * its first run) and `process <queue>` (CONSUMER), with the queue wait as an attribute too.
 */

function traceparentOfJob(job: Job): string | undefined {
  const tp = (job.data as { traceparent?: unknown } | undefined)?.traceparent;
  return typeof tp === 'string' ? tp : undefined;
}

function jobAttributes(queue: string, job: Job): Attributes {
  const attributes: Attributes = {
    'messaging.system': 'bullmq',
    'messaging.operation.type': 'process',
    'messaging.destination.name': queue,
    'messaging.message.id': String(job.id),
    'course_sync.attempt': job.attemptsMade + 1,
  };
  if (job.processedOn && job.attemptsStarted <= 1)
    attributes['course_sync.queue_wait_ms'] = Math.max(0, job.processedOn - job.timestamp);
  return attributes;
}

/** Opens `process <queue>` for `job` under its own trace context (after its `wait` span); `extra` adds links. */
function startJobSpan(queue: string, job: Job, links: ReturnType<typeof linkTo> = []): { span: Span; ctx: Context } {
  const parent = contextOf(traceparentOfJob(job));
  if (job.processedOn && job.attemptsStarted <= 1) {
    tracer()
      .startSpan(
        `wait ${queue}`,
        {
          kind: SpanKind.INTERNAL,
          startTime: job.timestamp,
          attributes: { 'messaging.destination.name': queue, 'messaging.message.id': String(job.id) },
        },
        parent,
      )
      .end(job.processedOn);
  }
  const span = tracer().startSpan(
    `process ${queue}`,
    { kind: SpanKind.CONSUMER, attributes: jobAttributes(queue, job), links },
    parent,
  );
  return { span, ctx: trace.setSpan(parent, span) };
}

/** A job put back to wait (delayed, rate limited) is no failure: said as its outcome. */
function endJobSpan(span: Span, err?: unknown): void {
  if (
    err instanceof DelayedError ||
    err instanceof RateLimitError ||
    err instanceof WaitingError ||
    err instanceof WaitingChildrenError
  )
    span.setAttribute('course_sync.outcome', 'deferred');
  else if (err !== undefined) failSpan(span, err);
  span.end();
}

/** `processor` running each job inside its spans; the processor itself when tracing is off. */
export function tracedProcessor<D, R>(queue: string, processor: Processor<D, R>): Processor<D, R> {
  if (!tracing()) return processor;
  const run = async (...args: Parameters<Processor<D, R>>) => {
    const { span, ctx } = startJobSpan(queue, args[0]);
    try {
      const result = await context.with(ctx, () => processor(...args));
      endJobSpan(span);
      return result;
    } catch (err) {
      endJobSpan(span, err);
      throw err;
    }
  };
  // BullMQ hands a processor an abort signal only when it takes a third parameter: keep its arity.
  return processor.length >= 3 ? (job, token, signal) => run(job, token, signal) : (job, token) => run(job, token);
}

/**
 * Runs a micro-batch (one HubSpot call for many enrollments) under spans. Each job gets its own
 * `process <queue>` span in its enrollment's trace. The batch gets one `batch <queue>` span, whose
 * children are the HubSpot calls; it is a child of the first job's span (so an enrollment processed
 * alone has its upsert in its own trace) and links to every job's span, and every other job's span
 * links to it — a trace viewer follows the link from any enrollment to the call that wrote it.
 */
export async function tracedBatch(queue: string, jobs: Job[], handle: () => Promise<void>): Promise<void> {
  if (!tracing() || !jobs.length) return handle();
  const first = startJobSpan(queue, jobs[0]!);
  const batch = tracer().startSpan(
    `batch ${queue}`,
    {
      kind: SpanKind.INTERNAL,
      attributes: {
        'messaging.system': 'bullmq',
        'messaging.destination.name': queue,
        'messaging.batch.message_count': jobs.length,
      },
    },
    first.ctx,
  );
  const spans = [
    first.span,
    ...jobs
      .slice(1)
      .map(
        (job) =>
          startJobSpan(queue, job, [{ context: batch.spanContext(), attributes: { 'course_sync.link': 'batch' } }])
            .span,
      ),
  ];
  for (const span of spans.slice(1))
    batch.addLink({ context: span.spanContext(), attributes: { 'course_sync.link': 'job' } });
  const before = jobs.map(failureMarks);
  let failure: unknown;
  try {
    await context.with(trace.setSpan(first.ctx, batch), handle);
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    endJobSpan(batch, failure);
    jobs.forEach((job, i) => endBatchJobSpan(spans[i]!, job, before[i]!, failure));
  }
}

/** What BullMQ changes on a job object as it fails it: its reason and its stack traces. */
function failureMarks(job: Job): { reason: string | undefined; stack: unknown; depth: number } {
  return { reason: job.failedReason, stack: job.stacktrace, depth: job.stacktrace?.length ?? 0 };
}

/**
 * Ends a batch job's span with its own outcome: completed (BullMQ set its return value), failed (this
 * attempt changed its reason or stack traces: a job keeps them from earlier attempts), or put back to wait.
 */
function endBatchJobSpan(span: Span, job: Job, before: ReturnType<typeof failureMarks>, failure: unknown): void {
  if (failure !== undefined || job.returnvalue != null) return endJobSpan(span, failure);
  const now = failureMarks(job);
  if (now.reason !== before.reason || now.stack !== before.stack || now.depth !== before.depth)
    return endJobSpan(span, new Error(job.failedReason ?? 'failed'));
  span.setAttribute('course_sync.outcome', 'deferred');
  span.end();
}
