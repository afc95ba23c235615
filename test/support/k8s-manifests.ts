import { join } from 'node:path';
import { build, readKustomization, type K8sObject } from './kustomize.ts';

/** deploy/kubernetes, and its overlays built the way `kubectl apply -k` would build them. */
export const K8S = join(import.meta.dirname, '..', '..', 'deploy', 'kubernetes');

/** The overlays ship secrets.env.example; a user's secrets.env takes its place. */
const substitutes = Object.fromEntries(
  ['example', 'example-hpa'].map((o) => [
    join(K8S, 'overlays', o, 'secrets.env'),
    join(K8S, 'overlays', o, 'secrets.env.example'),
  ]),
);

export const buildOverlay = (name: string): K8sObject[] => build(join(K8S, 'overlays', name), { substitutes });
export const overlayKustomization = (name: string) => readKustomization(join(K8S, 'overlays', name));
export const buildComponent = (name: string): K8sObject[] => build(join(K8S, 'components', name));

export function find(objects: K8sObject[], kind: string, name?: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}

export function one(objects: K8sObject[], kind: string, name: string): K8sObject {
  const hits = find(objects, kind, name);
  if (hits.length !== 1) throw new Error(`${kind}/${name}: found ${hits.length}`);
  return hits[0]!;
}

/** The role a Deployment's container starts (`course-sync start --role <role>`). */
export function roleOf(deployment: K8sObject): string {
  const cmd: string[] = deployment.spec.template.spec.containers[0].command;
  return cmd[cmd.indexOf('--role') + 1]!;
}

/** The environment a container gets from its ConfigMap and Secret (envFrom) and its own env. */
export function envOf(objects: K8sObject[], container: any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    Object.assign(env, one(objects, from.configMapRef ? 'ConfigMap' : 'Secret', ref.name).data);
  }
  for (const e of container.env ?? []) env[e.name] = e.value;
  return env;
}

/** Label matchers of a PromQL selector inside `query`, for the metric `name`. */
export function matchersOf(query: string, name: string): Record<string, string>[] {
  return [...query.matchAll(new RegExp(`${name}\\{([^}]*)\\}`, 'g'))].map((m) =>
    Object.fromEntries(
      [...m[1]!.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map((x) => [
        `${x[1]}${x[2] === '=' ? '' : x[2]}`,
        x[3]!,
      ]),
    ),
  );
}
