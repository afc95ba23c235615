import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { SETTLE } from './support/env.ts';
import { startTestService } from './support/receiver.ts';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

const file = parse(readFileSync(join(import.meta.dirname, '..', 'ops', 'prometheus-alerts.yml'), 'utf8')) as {
  groups: { name: string; rules: Rule[] }[];
};
const rules = file.groups.flatMap((g) => g.rules);
let t: Awaited<ReturnType<typeof startTestService>>;
let metricsText = '';

beforeAll(async () => {
  t = await startTestService({}, 'all');
  // The worker's alert loop marks it in Redis on start; wait until /metrics shows it.
  metricsText = await vi.waitFor(async () => {
    const text = await (await fetch(`${t.base}/metrics`)).text();
    expect(text).toMatch(/^course_sync_worker_last_seen_timestamp_seconds\{worker=/m);
    return text;
  }, SETTLE);
});
afterAll(async () => t.stop());

describe('ops/prometheus-alerts.yml', () => {
  it('has one rule per alert condition, each with a severity and a summary', () => {
    expect(rules.map((r) => r.alert)).toEqual([
      'CourseSyncDeadLetterQueueGrew',
      'CourseSyncOldestWaitingJobTooOld',
      'CourseSyncApiAuthFailing',
      'CourseSyncRedisUnreachable',
      'CourseSyncWorkerLostRedis',
      'CourseSyncHubSpotDailyLimitReached',
    ]);
    for (const r of rules) {
      expect(['warning', 'critical']).toContain(r.labels.severity);
      expect(r.annotations.summary).toBeTruthy();
      if (r.for) expect(r.for).toMatch(/^\d+[smh]$/);
    }
  });

  it('uses only metrics that /metrics serves', () => {
    const used = new Set(rules.flatMap((r) => r.expr.match(/course_sync_[a-z_]+/g) ?? []));
    expect(used.size).toBeGreaterThanOrEqual(6);
    for (const name of used) expect(metricsText).toMatch(new RegExp(`^# TYPE ${name} (gauge|counter)$`, 'm'));
  });

  it('reads the DLQ sizes from queue gauges whose names end in -dlq', () => {
    expect(metricsText).toMatch(/^course_sync_queue_jobs\{queue="crm-contacts-dlq",state="waiting"\} 0$/m);
    expect(rules[0]!.expr).toContain('queue=~".+-dlq"');
  });
});
