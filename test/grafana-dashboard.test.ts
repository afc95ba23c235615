import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deadLetterQueueName, WORK_QUEUES } from '../src/queues/names.ts';
import { fixture, SETTLE } from './support/env.ts';
import { matchersOf } from './support/k8s-manifests.ts';
import { startTestService } from './support/receiver.ts';

// deploy/grafana/course-sync.json may only query what /metrics serves: checked against the scrape
// of a real service (all roles, sandbox emulators) after one enrollment went through it.
const dashboard = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'deploy', 'grafana', 'course-sync.json'), 'utf8'),
);
const panels: any[] = dashboard.panels.filter((p: any) => p.type !== 'row');
const queries: string[] = panels.flatMap((p) => p.targets.map((t: { expr: string }) => t.expr));
let t: Awaited<ReturnType<typeof startTestService>>;
let metricsText = '';

beforeAll(async () => {
  t = await startTestService({ HUBSPOT_BATCH_WAIT_MS: '20' }, 'all');
  expect((await t.post(fixture('course.student_enroll'))).status).toBe(202);
  // The welcome email sent, and the sandbox's SendGrid reporting it back through the Event Webhook.
  metricsText = await vi.waitFor(async () => {
    const text = await (await fetch(`${t.base}/metrics`)).text();
    expect(text).toMatch(/^course_sync_email_events_total\{event="delivered"\} 1$/m);
    expect(text).toMatch(/^course_sync_job_duration_seconds_count\{queue="crm-contacts"/m);
    return text;
  }, SETTLE);
}, 40_000);
afterAll(async () => t?.stop());

/** The metric families of the scrape: name → type. */
const families = () => new Map([...metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
/** A queried name as its family: histogram series end in _bucket, _sum or _count. */
function familyOf(name: string): string | undefined {
  const f = families();
  if (f.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return f.get(base) === 'histogram' ? base : undefined;
}
const seenValues = (metric: string, label: string) =>
  new Set([...metricsText.matchAll(new RegExp(`^${metric}\\{[^}]*\\b${label}="([^"]*)"`, 'gm'))].map((m) => m[1]));

describe('deploy/grafana/course-sync.json', () => {
  it('is a dashboard of a current Grafana, on a Prometheus data source chosen by a variable', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    const ds = dashboard.templating.list.find((v: any) => v.type === 'datasource');
    expect(ds.query).toBe('prometheus');
    for (const p of panels) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: `\${${ds.name}}` });
      for (const target of p.targets) expect(target.datasource, p.title).toEqual(p.datasource);
      expect(p.targets.map((x: { refId: string }) => x.refId)).toEqual(
        p.targets.map((_: unknown, i: number) => String.fromCharCode(65 + i)),
      );
    }
  });

  it('lays its panels out on the 24-column grid without overlap, each with a unique id', () => {
    const all = dashboard.panels;
    expect(new Set(all.map((p: { id: number }) => p.id)).size).toBe(all.length);
    const cells = new Set<string>();
    for (const { gridPos: g, title } of all) {
      expect(g.x + g.w, title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
  });

  it('shows queues, HubSpot against its budget and its 429s, throughput, delivery and latency', () => {
    const text = queries.join('\n');
    for (const part of [
      'course_sync_queue_jobs',
      '.+-dlq',
      'status="429"',
      '$hubspot_budget',
      'operation="mail.send"',
      'course_sync_email_events_total',
      'histogram_quantile',
      'course_sync_queue_oldest_waiting_seconds',
    ]) {
      expect(text).toContain(part);
    }
  });

  it('queries only metrics that /metrics serves', () => {
    const names = new Set(queries.flatMap((q) => q.match(/\bcourse_sync_[a-z0-9_]+/g) ?? []));
    expect(names.size).toBeGreaterThanOrEqual(12);
    for (const name of names) expect(familyOf(name), name).toBeDefined();
  });

  it('matches label values that course-sync really uses', () => {
    const queues = [...WORK_QUEUES, ...WORK_QUEUES.map(deadLetterQueueName)];
    for (const q of queries) {
      for (const name of new Set(q.match(/\bcourse_sync_[a-z0-9_]+/g) ?? [])) {
        for (const m of matchersOf(q, name)) {
          for (const [label, value] of Object.entries(m)) {
            if (label.endsWith('~')) {
              expect(() => new RegExp(value), value).not.toThrow();
              continue;
            }
            if (label === 'queue') expect(queues).toContain(value);
            else if (label === 'status') expect(value).toMatch(/^\d{3}$/);
            else expect(seenValues(name, label), `${name}{${label}="${value}"}`).toContain(value);
          }
        }
      }
    }
  });
});
