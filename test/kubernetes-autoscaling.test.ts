import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { WORK_QUEUES } from '../src/queues/names.ts';
import { fixture, SETTLE } from './support/env.ts';
import {
  buildComponent,
  buildOverlay,
  find,
  K8S,
  matchersOf,
  one,
  overlayKustomization,
} from './support/k8s-manifests.ts';
import { startTestService } from './support/receiver.ts';

// The autoscalers of deploy/kubernetes read what course-sync really exports: checked against the
// /metrics of a real receiver and the keys BullMQ really writes in Redis.
const example = buildOverlay('example');
const exampleHpa = buildOverlay('example-hpa');
const configMap = one(example, 'ConfigMap', 'course-sync').data as Record<string, string>;
const workerName = 'course-sync-worker';
let t: Awaited<ReturnType<typeof startTestService>>;
let metricsText = '';
const exported = (name: string) => new RegExp(`^# TYPE ${name} (gauge|counter|histogram)$`, 'm').test(metricsText);
/** Label values a metric shows in the scrape, per label. */
const valuesOf = (metric: string, label: string) =>
  new Set([...metricsText.matchAll(new RegExp(`^${metric}\\{[^}]*\\b${label}="([^"]*)"`, 'gm'))].map((m) => m[1]));

beforeAll(async () => {
  t = await startTestService();
  metricsText = await (await fetch(`${t.base}/metrics`)).text();
});
afterAll(async () => t.stop());

describe('KEDA, Prometheus scaler (components/keda, the default)', () => {
  const [scaled] = find(example, 'ScaledObject');

  it('scales the worker Deployment, never below one worker', () => {
    expect(find(example, 'ScaledObject')).toHaveLength(1);
    expect(scaled!.spec.scaleTargetRef.name).toBe(workerName);
    one(example, 'Deployment', workerName);
    expect(scaled!.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(scaled!.spec.maxReplicaCount).toBeGreaterThan(scaled!.spec.minReplicaCount);
    expect(scaled!.spec.fallback.replicas).toBeGreaterThanOrEqual(scaled!.spec.minReplicaCount);
  });

  it('queries only exported metrics, the waiting state of real work queues, in the namespace the overlay installs into', () => {
    const namespace = overlayKustomization('example').namespace;
    for (const trigger of scaled!.spec.triggers) {
      expect(trigger.type).toBe('prometheus');
      const { query, threshold } = trigger.metadata;
      expect(Number(threshold)).toBeGreaterThan(0);
      // Every receiver serves the same gauge (read from Redis): one value, never a sum over receivers.
      expect(query).toMatch(/^max\(/);
      const names = query.match(/course_sync_[a-z_]+/g);
      for (const name of names) expect(exported(name), name).toBe(true);
      const [m] = matchersOf(query, 'course_sync_queue_jobs');
      expect(WORK_QUEUES).toContain(m!.queue);
      expect(m!.state).toBe('waiting');
      expect(valuesOf('course_sync_queue_jobs', 'state')).toContain(m!.state);
      expect(m!.namespace).toBe(namespace);
    }
  });
});

describe('KEDA, Redis lists scaler (components/keda-redis, the alternative)', () => {
  const objects = buildComponent('keda-redis');
  const [scaled] = find(objects, 'ScaledObject');
  const [auth] = find(objects, 'TriggerAuthentication');

  it('reads <QUEUE_PREFIX>:<queue>:wait of real work queues, with the prefix the ConfigMap sets', () => {
    expect(scaled!.spec.scaleTargetRef.name).toBe(workerName);
    expect(scaled!.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    for (const trigger of scaled!.spec.triggers) {
      expect(trigger.type).toBe('redis');
      const [prefix, queue, list] = trigger.metadata.listName.split(':');
      expect(prefix).toBe(configMap.QUEUE_PREFIX);
      expect(WORK_QUEUES).toContain(queue);
      expect(list).toBe('wait');
      expect(trigger.authenticationRef.name).toBe(auth!.metadata.name);
    }
    expect(auth!.spec.secretTargetRef.map((r: { parameter: string }) => r.parameter).sort()).toEqual([
      'address',
      'password',
    ]);
  });

  it('that key is the list where BullMQ keeps waiting jobs: its length is the gauge the Prometheus scaler reads', async () => {
    expect((await t.post(fixture('course.student_enroll'))).status).toBe(202);
    const key = `${t.config.redis.prefix}:email-welcome:wait`;
    expect(await t.redis.type(key)).toBe('list');
    const length = await t.redis.llen(key);
    expect(length).toBe(1);
    await vi.waitFor(async () => {
      const text = await (await fetch(`${t.base}/metrics`)).text();
      expect(text).toMatch(
        new RegExp(`^course_sync_queue_jobs\\{queue="email-welcome",state="waiting"\\} ${length}$`, 'm'),
      );
    }, SETTLE);
  });
});

describe('HPA without KEDA (components/hpa, overlays/example-hpa)', () => {
  const [hpa] = find(exampleHpa, 'HorizontalPodAutoscaler');

  it('is overlays/example with the HPA in place of the ScaledObject, and nothing else changed', () => {
    const { components: a, ...restA } = overlayKustomization('example');
    const { components: b, ...restB } = overlayKustomization('example-hpa');
    expect(restB).toEqual(restA);
    expect([a, b]).toEqual([['../../components/keda'], ['../../components/hpa']]);
    expect(find(exampleHpa, 'ScaledObject')).toEqual([]);
    const strip = (objs: typeof example) =>
      objs.filter((o) => !['ScaledObject', 'HorizontalPodAutoscaler'].includes(o.kind));
    expect(strip(exampleHpa)).toEqual(strip(example));
    for (const file of ['config.env', 'secrets.env.example']) {
      expect(readFileSync(join(K8S, 'overlays/example-hpa', file), 'utf8'), file).toBe(
        readFileSync(join(K8S, 'overlays/example', file), 'utf8'),
      );
    }
  });

  it('scales the worker Deployment on an exported gauge with real label values, and on CPU', () => {
    expect(hpa!.spec.scaleTargetRef).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', name: workerName });
    expect(hpa!.spec.minReplicas).toBeGreaterThanOrEqual(1);
    const external = hpa!.spec.metrics.find((m: { type: string }) => m.type === 'External').external;
    expect(exported(external.metric.name)).toBe(true);
    for (const [label, value] of Object.entries(external.metric.selector.matchLabels))
      expect(valuesOf(external.metric.name, label), label).toContain(value);
    expect(hpa!.spec.metrics.some((m: any) => m.type === 'Resource' && m.resource.name === 'cpu')).toBe(true);
  });

  it('gets that gauge from the prometheus-adapter rule shipped beside it, under the same name', () => {
    const values = parse(readFileSync(join(K8S, 'components/hpa/prometheus-adapter-rules.yaml'), 'utf8'));
    const [rule] = values.rules.external;
    const metric = hpa!.spec.metrics.find((m: { type: string }) => m.type === 'External').external.metric.name;
    expect(rule.name.as).toBe(metric);
    expect(rule.seriesQuery).toMatch(new RegExp(`^${metric}\\{`));
    expect(exported(metric)).toBe(true);
    expect(rule.metricsQuery).toMatch(/^max by \(queue, state\)/);
  });
});
