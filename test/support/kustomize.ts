import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

// kubectl and kustomize do not run here: this builds a kustomization the way kustomize documents
// it, for the fields deploy/kubernetes uses, and refuses any other field (so a new one is noticed).
// Generated names keep no hash suffix (kustomize adds one and rewrites the references to it).

/** A Kubernetes object as YAML gives it. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: any;
};

interface Generator {
  name: string;
  behavior?: 'create' | 'merge' | 'replace';
  envs?: string[];
  literals?: string[];
  options?: { disableNameSuffixHash?: boolean };
}

interface Kustomization {
  apiVersion: string;
  kind: 'Kustomization' | 'Component';
  namespace?: string;
  resources?: string[];
  components?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
  configMapGenerator?: Generator[];
  secretGenerator?: Generator[];
}

const KNOWN = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'resources',
  'components',
  'images',
  'configMapGenerator',
  'secretGenerator',
]);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']);

export interface BuildOptions {
  /** Stand-ins for files absent from the tree (a secrets.env the user writes): path → path. */
  substitutes?: Record<string, string>;
}

/** Reads `dir`/kustomization.yaml, refusing fields this builder does not apply. */
export function readKustomization(dir: string): Kustomization {
  const k = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as Kustomization;
  const unknown = Object.keys(k).filter((key) => !KNOWN.has(key));
  if (unknown.length)
    throw new Error(`${dir}/kustomization.yaml: fields this builder does not apply: ${unknown.join(', ')}`);
  return k;
}

/** The KEY=VALUE lines of an env file (blank lines and # comments skipped, as kustomize does). */
export function readEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const i = t.indexOf('=');
    if (i < 1) throw new Error(`${path}: not KEY=VALUE: ${t}`);
    out[t.slice(0, i)] = t.slice(i + 1);
  }
  return out;
}

function readObjects(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => !!o);
}

function generate(kind: 'ConfigMap' | 'Secret', g: Generator, dir: string, out: K8sObject[], opts: BuildOptions): void {
  const data: Record<string, string> = {};
  for (const env of g.envs ?? []) {
    const path = join(dir, env);
    Object.assign(data, readEnvFile(existsSync(path) ? path : (opts.substitutes?.[path] ?? path)));
  }
  for (const lit of g.literals ?? [])
    Object.assign(data, Object.fromEntries([[lit.slice(0, lit.indexOf('=')), lit.slice(lit.indexOf('=') + 1)]]));
  const existing = out.find((o) => o.kind === kind && o.metadata.name === g.name);
  if (g.behavior === 'merge' || g.behavior === 'replace') {
    if (!existing) throw new Error(`${dir}: ${kind} ${g.name} to ${g.behavior} does not exist`);
    existing.data = g.behavior === 'merge' ? { ...existing.data, ...data } : data;
    return;
  }
  if (existing) throw new Error(`${dir}: ${kind} ${g.name} generated twice`);
  out.push({
    apiVersion: 'v1',
    kind,
    metadata: {
      name: g.name,
      ...(g.options?.disableNameSuffixHash ? { annotations: { 'test/no-hash': 'true' } } : {}),
    },
    data,
  });
}

/** Builds the kustomization (or component) in `dir` onto `into`, as `kustomize build` would. */
export function build(dir: string, opts: BuildOptions = {}, into: K8sObject[] = []): K8sObject[] {
  const k = readKustomization(dir);
  const own: K8sObject[] = [];
  for (const r of k.resources ?? []) {
    const path = join(dir, r);
    if (statSync(path).isDirectory()) {
      if (readKustomization(path).kind !== 'Kustomization')
        throw new Error(`${path}: a Component belongs under components:`);
      own.push(...build(path, opts));
    } else own.push(...readObjects(path));
  }
  const all = k.kind === 'Component' ? into : own;
  if (k.kind === 'Component') all.push(...own);
  for (const g of k.configMapGenerator ?? []) generate('ConfigMap', g, dir, all, opts);
  for (const g of k.secretGenerator ?? []) generate('Secret', g, dir, all, opts);
  for (const c of k.components ?? []) {
    const path = join(dir, c);
    if (readKustomization(path).kind !== 'Component') throw new Error(`${path}: not a Component`);
    build(path, opts, all);
  }
  for (const img of k.images ?? []) {
    for (const o of all) {
      for (const c of o.spec?.template?.spec?.containers ?? []) {
        const [name, tag] = String(c.image).split(':');
        if (name === img.name) c.image = `${img.newName ?? name}:${img.newTag ?? tag ?? 'latest'}`;
      }
    }
  }
  if (k.namespace) for (const o of all) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  return all;
}
