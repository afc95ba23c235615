import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import { generateEventKeyPair } from '../src/sendgrid-signature.ts';
import { startTelemetry, telemetrySettings } from '../src/telemetry/sdk.ts';
import { inSpan, tracing } from '../src/telemetry/spans.ts';
import { runCli } from './support/cli.ts';
import { redisUrl, SECRET } from './support/env.ts';
import { enrollEvent, postSigned } from './support/faults.ts';
import { KIND, startOtlpCollector, type CollectedSpan, type OtlpCollector } from './support/otlp-collector.ts';
import { spawnService, type ServiceProcess } from './support/processes.ts';

describe('OpenTelemetry settings (the standard OTEL_* variables)', () => {
  it('is off unless OTEL_TRACES_EXPORTER=otlp, and OTEL_SDK_DISABLED turns it off', () => {
    expect(telemetrySettings({}).enabled).toBe(false);
    expect(telemetrySettings({ OTEL_TRACES_EXPORTER: 'none' }).enabled).toBe(false);
    expect(telemetrySettings({ OTEL_TRACES_EXPORTER: 'otlp' })).toEqual({ enabled: true, protocol: 'http/protobuf' });
    expect(telemetrySettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }).enabled).toBe(false);
  });

  it('takes http/json and http/protobuf, the traces-only variable first', () => {
    expect(telemetrySettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).protocol).toBe(
      'http/json',
    );
    expect(
      telemetrySettings({
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      }).protocol,
    ).toBe('http/protobuf');
  });

  it('stops on a value it cannot honour, naming the variable', () => {
    expect(() => telemetrySettings({ OTEL_TRACES_EXPORTER: 'jaeger' })).toThrow(
      /config OTEL_TRACES_EXPORTER: expected otlp or none/,
    );
    expect(() => telemetrySettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      /config OTEL_EXPORTER_OTLP_PROTOCOL: .*gRPC is not bundled/,
    );
    expect(() =>
      telemetrySettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector:4318' }),
    ).toThrow(/config OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: expected an http/);
  });

  it('stops `course-sync start` before it starts anything', async () => {
    const res = await runCli(['start', '--role', 'receiver'], {
      REDIS_URL: redisUrl(),
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/config OTEL_EXPORTER_OTLP_PROTOCOL: expected http\/protobuf or http\/json, got "grpc"/);
  });
});

describe('the SDK, started and stopped', () => {
  it('exports over http/protobuf as well, and is off again once shut down', async () => {
    const collector = await startOtlpCollector();
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', collector.url);
    try {
      expect(tracing()).toBe(false);
      const telemetry = await startTelemetry({ enabled: true, protocol: 'http/protobuf' }, 'worker');
      expect(tracing()).toBe(true);
      await inSpan('probe', {}, async (span) => expect(span?.isRecording()).toBe(true));
      await telemetry!.shutdown();
      expect(tracing()).toBe(false);
      expect(collector.contentTypes).toEqual(['application/x-protobuf']);
      await inSpan('after', {}, async (span) => expect(span).toBeUndefined());
    } finally {
      vi.unstubAllEnvs();
      await collector.close();
    }
  });
});

// Enrollments through a receiver process and a worker process (restarted half-way), all exporting OTLP
// http/json to a collector this test runs: one connected trace per enrollment, webhook to HubSpot and SendGrid.
describe('one trace per enrollment across a receiver and a worker process', () => {
  const keys = generateEventKeyPair();
  let collector: OtlpCollector;
  let hubspot: HubSpotEmulator;
  let sendgrid: SendGridEmulator;
  let receiver: ServiceProcess;
  let worker: ServiceProcess;
  let env: Record<string, string>;
  let base: string;
  const students = ['otel_alone', 'otel_b1', 'otel_b2', 'otel_b3'].map((id, i) => ({
    id,
    event: enrollEvent(id),
    phone: `+1415555010${i}`,
  }));
  for (const s of students) s.event.data.user.phone_number = s.phone;

  beforeAll(async () => {
    collector = await startOtlpCollector();
    hubspot = await startHubSpotEmulator({ requestsPer10s: 100_000 });
    sendgrid = await startSendGridEmulator();
    env = {
      NODE_ENV: 'test',
      REDIS_URL: redisUrl(),
      QUEUE_PREFIX: `t${randomBytes(5).toString('hex')}`,
      WEBHOOK_SECRET: SECRET,
      PORT: '0',
      HOST: '127.0.0.1',
      HUBSPOT_ACCESS_TOKEN: hubspot.token,
      HUBSPOT_BASE_URL: hubspot.url,
      SENDGRID_API_KEY: sendgrid.apiKey,
      SENDGRID_BASE_URL: sendgrid.url,
      SENDGRID_WEBHOOK_PUBLIC_KEY: keys.publicKey,
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    receiver = spawnService('receiver', 'receiver', env);
    worker = spawnService('worker', 'worker', env);
    base = `http://127.0.0.1:${await receiver.port()}`;
    await worker.waitFor('"msg":"workers started"');
    sendgrid.setEventWebhook({
      url: `${base}/webhooks/sendgrid`,
      privateKey: keys.privateKey,
      deliverAfterMs: 100,
      flushMs: 200,
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([receiver?.stop(), worker?.stop()]);
    await Promise.all([hubspot?.close(), sendgrid?.close(), collector?.close()]);
  });

  const byTrace = () => {
    const traces = new Map<string, CollectedSpan[]>();
    for (const s of collector.spans) traces.set(s.traceId, [...(traces.get(s.traceId) ?? []), s]);
    return traces;
  };
  const intakeOf = (id: string) =>
    collector.spans.find((s) => s.name === 'intake' && s.attributes['course_sync.idempotency_key'] === `enroll-${id}`);
  const named = (spans: CollectedSpan[] | undefined, name: string) => (spans ?? []).filter((s) => s.name === name);

  /** The spans of the trace `id`'s intake span belongs to; the HubSpot upsert may sit in a batch's trace, linked from it. */
  function traceOf(id: string) {
    const intake = intakeOf(id);
    const spans = intake ? (byTrace().get(intake.traceId) ?? []) : [];
    const contactsJob = named(spans, 'process crm-contacts')[0];
    const batchLink = contactsJob?.links.find((l) => l.attributes['course_sync.link'] === 'batch');
    const batchTrace = batchLink ? (byTrace().get(batchLink.traceId) ?? []) : spans;
    const batch = batchTrace.find(
      (s) =>
        s.name === 'batch crm-contacts' &&
        (batchLink ? s.spanId === batchLink.spanId : s.parentSpanId === contactsJob?.spanId),
    );
    const upsert = batchTrace.find((s) => s.name === 'hubspot contacts.upsert' && s.parentSpanId === batch?.spanId);
    return { intake, spans, contactsJob, batch, upsert };
  }

  it('holds the webhook, the intake, both jobs, the HubSpot upsert and the SendGrid send, linked to the delivery event', async () => {
    // Alone first, so its batch is its own; then three at once, which the contacts worker may batch together.
    expect((await postSigned(base, students[0]!.event)).status).toBe(202);
    await vi.waitFor(() => expect(traceOf(students[0]!.id).upsert).toBeDefined(), { timeout: 30_000, interval: 50 });
    // The worker restarts while the next three wait in Redis: their traces go on in the new process.
    await worker.stop();
    const answers = await Promise.all(students.slice(1).map((s) => postSigned(base, s.event)));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    worker = spawnService('worker-2', 'worker', env);

    const sendOf = (spans: CollectedSpan[]) => named(spans, 'sendgrid mail.send')[0];
    await vi.waitFor(
      () => {
        for (const s of students) {
          const t = traceOf(s.id);
          expect(t.upsert, s.id).toBeDefined();
          const send = sendOf(t.spans);
          expect(send, s.id).toBeDefined();
          // The SendGrid event that reports delivery: linked to the send.
          expect(
            collector.spans.some(
              (e) => e.name === 'sendgrid event delivered' && e.links.some((l) => l.spanId === send!.spanId),
            ),
          ).toBe(true);
        }
      },
      { timeout: 45_000, interval: 100 },
    );

    for (const s of students) {
      const { intake, spans, contactsJob, batch, upsert } = traceOf(s.id);
      // Connected: one root (the webhook's server span), every other span's parent in the same trace.
      const ids = new Set(spans.map((x) => x.spanId));
      const roots = spans.filter((x) => !x.parentSpanId || !ids.has(x.parentSpanId));
      expect(
        roots.map((r) => r.name),
        s.id,
      ).toEqual(['POST /webhooks/loopwise']);
      const server = roots[0]!;
      expect(server.kind).toBe(KIND.server);
      expect(server.attributes['http.response.status_code']).toBe(202);
      expect(server.resource['service.name']).toBe('course-sync');
      expect(server.resource['course_sync.role']).toBe('receiver');
      expect(intake!.parentSpanId).toBe(server.spanId);
      for (const queue of ['crm-contacts', 'email-welcome']) {
        const job = named(spans, `process ${queue}`)[0];
        expect(job, `${s.id} ${queue}`).toBeDefined();
        expect(job!.kind).toBe(KIND.consumer);
        expect(job!.parentSpanId).toBe(intake!.spanId);
        expect(job!.resource['course_sync.role']).toBe('worker');
        expect(job!.attributes['course_sync.queue_wait_ms']).toBeGreaterThanOrEqual(0);
        // Completed: neither failed (OTLP status code 2) nor put back to wait.
        expect(job!.status?.code ?? 0, `${s.id} ${queue}`).not.toBe(2);
        expect(job!.attributes['course_sync.outcome']).toBeUndefined();
        expect(named(spans, `wait ${queue}`)[0]?.parentSpanId).toBe(intake!.spanId);
      }
      const send = sendOf(spans)!;
      expect(send.kind).toBe(KIND.client);
      expect(send.attributes['http.response.status_code']).toBe(202);
      expect(send.attributes['url.path']).toBe('/v3/mail/send');
      expect(send.parentSpanId).toBe(named(spans, 'process email-welcome')[0]!.spanId);
      expect(upsert!.kind).toBe(KIND.client);
      expect(upsert!.attributes['http.response.status_code']).toBeGreaterThanOrEqual(200);
      expect(upsert!.attributes['http.response.status_code']).toBeLessThan(300);
      expect(upsert!.attributes['url.path']).toBe('/crm/v3/objects/contacts/batch/upsert');
      // The batch links to every job it wrote, and sits in the trace of its first.
      expect(
        batch!.parentSpanId === contactsJob!.spanId || batch!.links.some((l) => l.spanId === contactsJob!.spanId),
      ).toBe(true);
    }
    // The first enrollment, alone in its batch, has its upsert in its own trace.
    expect(traceOf(students[0]!.id).upsert!.traceId).toBe(traceOf(students[0]!.id).intake!.traceId);

    // No student's address or phone in any span attribute, link attribute or status.
    const text = JSON.stringify(collector.spans.map((x) => [x.name, x.attributes, x.links, x.status, x.resource]));
    for (const s of students) {
      expect(text).not.toContain(s.event.data.user.email);
      expect(text).not.toContain(s.phone);
      expect(text).not.toContain(s.phone.slice(2));
    }
    // Log lines made inside a span carry its trace id (the receiver's request line, here).
    expect(receiver.output()).toContain(`"trace_id":"${traceOf(students[0]!.id).intake!.traceId}"`);
  }, 90_000);
});
