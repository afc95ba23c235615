import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { settings } from '../config/settings.ts';
import { loadConfig } from '../src/config.ts';
import { ROLES } from '../src/cli/start.ts';
import {
  buildComponent,
  buildOverlay,
  envOf,
  find,
  K8S,
  one,
  overlayKustomization,
  roleOf,
} from './support/k8s-manifests.ts';
import { startTestService } from './support/receiver.ts';

// kubectl does not run here: these checks build deploy/kubernetes as kustomize would and hold
// every manifest against the project: its settings, its roles, its image and its real endpoints.
const root = join(import.meta.dirname, '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true });
const example = buildOverlay('example');
const deployments = find(example, 'Deployment');
const podOf = (d: (typeof deployments)[number]) => d.spec.template.spec;
const containerOf = (d: (typeof deployments)[number]) => podOf(d).containers[0];
const configMap = one(example, 'ConfigMap', 'course-sync').data as Record<string, string>;

describe('deploy/kubernetes', () => {
  it('builds the base, both example overlays and every component with only the kustomize fields the check applies', () => {
    for (const c of readdirSync(join(K8S, 'components'))) expect(buildComponent(c).length, c).toBeGreaterThan(0);
    expect(buildOverlay('example-hpa').length).toBeGreaterThan(0);
    expect(example.every((o) => o.metadata.namespace === overlayKustomization('example').namespace)).toBe(true);
  });

  it('runs a receiver Deployment and one worker Deployment, each starting its role, both from the image the Dockerfile builds', () => {
    expect(deployments.map((d) => `${d.metadata.name}:${roleOf(d)}`).sort()).toEqual([
      'course-sync-receiver:receiver',
      'course-sync-worker:worker',
    ]);
    // One worker Deployment: every worker process runs every queue (no setting picks the queues).
    expect(Object.keys(settings).filter((k) => /QUEUES|WORKER_ROLE/.test(k))).toEqual([]);
    const image = compose.services.worker.image;
    expect(image).toBe('course-sync');
    expect(compose.services.receiver.image).toBe(image);
    expect(compose.services.worker.build).toBe('.');
    const [rename] = overlayKustomization('example').images!;
    expect(rename!.name).toBe(image);
    for (const d of deployments) {
      const c = containerOf(d);
      expect(c.command.slice(0, 4)).toEqual(['node', 'bin/course-sync.js', 'start', '--role']);
      expect(ROLES).toContain(roleOf(d));
      expect(c.image).toBe(`${rename!.newName}:${rename!.newTag}`);
      expect(c.workingDir, 'the Dockerfile WORKDIR holds bin/').toBeUndefined();
    }
    for (const file of ['base/receiver.yaml', 'base/worker.yaml'])
      expect(readFileSync(join(K8S, file), 'utf8')).toMatch(new RegExp(`image: ${image}\\n`));
  });

  it('sets only environment variables that config/settings.ts defines', () => {
    for (const d of deployments) {
      const env = envOf(example, containerOf(d));
      expect(Object.keys(env).length).toBeGreaterThan(10);
      for (const key of Object.keys(env)) expect(Object.keys(settings), `${d.metadata.name}: ${key}`).toContain(key);
    }
  });

  it('starts in production once the secrets are filled in, and refuses the empty example naming the key', () => {
    const env = envOf(example, containerOf(deployments[0]!));
    expect(env.NODE_ENV).toBe('production');
    expect(() => loadConfig(env)).toThrow(/WEBHOOK_SECRET/);
    const config = loadConfig({ ...env, WEBHOOK_SECRET: 's', HUBSPOT_ACCESS_TOKEN: 't', SENDGRID_API_KEY: 'k' });
    expect(config.admin.port).toBe(9090);
    expect(config.redis.url).toMatch(/^redis:\/\//);
  });

  it('runs non-root on a read-only root filesystem, with a writable /tmp, resources and no service-account token', () => {
    for (const d of deployments) {
      const pod = podOf(d);
      const c = containerOf(d);
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      // The Dockerfile's USER is the name "node"; the kubelet can only check a numeric user: its uid.
      expect(pod.securityContext.runAsUser).toBe(1000);
      expect(c.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.enableServiceLinks).toBe(false);
      for (const kind of ['requests', 'limits'])
        expect(Object.keys(c.resources[kind]).sort(), kind).toEqual(['cpu', 'memory']);
      const tmp = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp');
      expect(pod.volumes.find((v: { name: string }) => v.name === tmp.name).emptyDir).toBeDefined();
    }
    expect(readFileSync(join(root, 'Dockerfile'), 'utf8')).toMatch(/^USER node$/m);
  });

  it('needs that writable temp dir: tsx writes its compile cache there, and the CLI fails without one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'course-sync-tmp-'));
    try {
      const notADir = join(dir, 'file');
      writeFileSync(notADir, '');
      const run = (TMPDIR: string) =>
        spawnSync(process.execPath, ['bin/course-sync.js', '--help'], {
          cwd: root,
          env: { ...process.env, TMPDIR },
          encoding: 'utf8',
        });
      const refused = run(notADir);
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/ENOTDIR|EACCES|EROFS/);
      expect(run(dir).status).toBe(0);
      expect(readdirSync(dir).some((n) => n.startsWith('tsx-'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('points the Services and the PodDisruptionBudgets at the pods of one Deployment, by named ports', () => {
    const podsOf = (selector: Record<string, string>) =>
      deployments.filter((d) => Object.entries(selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
    for (const svc of find(example, 'Service')) {
      const [d] = podsOf(svc.spec.selector);
      expect(podsOf(svc.spec.selector)).toHaveLength(1);
      expect(svc.spec.type).toBe('ClusterIP');
      for (const p of svc.spec.ports)
        expect(containerOf(d!).ports.map((x: { name: string }) => x.name)).toContain(p.targetPort);
    }
    for (const pdb of find(example, 'PodDisruptionBudget')) {
      expect(podsOf(pdb.spec.selector.matchLabels), pdb.metadata.name).toHaveLength(1);
      expect(pdb.spec.maxUnavailable).toBe(1);
    }
    // The autoscaler owns the worker count; a `replicas` here would reset it at every apply.
    expect(one(example, 'Deployment', 'course-sync-worker').spec.replicas).toBeUndefined();
  });
});

describe('probes', () => {
  const probesOf = (d: (typeof deployments)[number]) =>
    ['startupProbe', 'livenessProbe', 'readinessProbe'].map((k) => [k, containerOf(d)[k]?.httpGet] as const);

  it('every Deployment is probed on the admin port, which is ADMIN_PORT on an address the kubelet reaches', () => {
    expect(['0.0.0.0', '::']).toContain(configMap.ADMIN_HOST);
    for (const d of deployments) {
      for (const [kind, get] of probesOf(d)) {
        expect(get, `${d.metadata.name} ${kind}`).toBeDefined();
        const port = containerOf(d).ports.find((p: { name: string }) => p.name === get.port);
        expect(port.containerPort, `${d.metadata.name} ${kind}`).toBe(Number(configMap.ADMIN_PORT));
      }
      expect(probesOf(d).map(([k, g]) => `${k} ${g.path}`)).toEqual([
        'startupProbe /healthz',
        'livenessProbe /healthz',
        'readinessProbe /readyz',
      ]);
    }
  });

  it('every probe path answers 200 on the port it names, in a real process of that role (and not on the webhook port)', async () => {
    for (const d of deployments) {
      const t = await startTestService(
        { ADMIN_PORT: '0', ADMIN_HOST: configMap.ADMIN_HOST!, PORT: '0' },
        roleOf(d) as 'receiver' | 'worker',
      );
      try {
        const portFor: Record<string, number | undefined> = { admin: t.service.adminPort, http: t.service.port };
        for (const [kind, get] of probesOf(d)) {
          const res = await fetch(`http://127.0.0.1:${portFor[get.port]}${get.path}`);
          expect(res.status, `${d.metadata.name} ${kind} ${get.path}`).toBe(200);
        }
        if (t.service.port !== undefined)
          expect((await fetch(`http://127.0.0.1:${t.service.port}/healthz`)).status).toBe(404);
      } finally {
        await t.stop();
      }
    }
  });
});

describe('graceful shutdown', () => {
  it('gives the receiver time for its preStop wait and the requests in hand (each bounded by the 5 s Redis command timeout)', () => {
    const receiver = one(example, 'Deployment', 'course-sync-receiver');
    const [cmd, secs] = containerOf(receiver).lifecycle.preStop.exec.command;
    expect(cmd).toBe('sleep');
    expect(podOf(receiver).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(Number(secs) + 5 + 10);
    expect(existsSync(join(K8S, 'base', 'receiver.yaml'))).toBe(true);
  });
});
