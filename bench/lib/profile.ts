import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a function lives, in words: a package name, "node:internal", "course-sync", or a V8 pseudo-frame. */
function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  if (url.includes('/src/')) return 'course-sync';
  return url.split('/').pop() ?? url;
}

/** Self time by function and by area of a .cpuprofile, largest first. */
export function summarise(profile: CpuProfile): {
  total: number;
  functions: [string, number][];
  areas: [string, number][];
  inclusive: [string, number][];
} {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map<string, number>();
  const fnTime = new Map<string, number>();
  const areaTime = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (!node) return;
    total += dt;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = area(url, functionName || '(anonymous)');
    const name =
      `${functionName || '(anonymous)'} ${url ? `${where}:${url.split('/').pop()}:${lineNumber + 1}` : ''}`.trim();
    fnTime.set(name, (fnTime.get(name) ?? 0) + dt);
    areaTime.set(where, (areaTime.get(where) ?? 0) + dt);
    // Inclusive time of course-sync's own functions: each counted once per sample it is on the stack.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (!f.url.includes('/src/')) continue;
      const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
      if (!seen.has(key)) incl.set(key, (incl.get(key) ?? 0) + dt);
      seen.add(key);
    }
  });
  const top = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return { total, functions: top(fnTime), areas: top(areaTime), inclusive: top(incl) };
}

/**
 * Two lines per profiled process (one folder per process under `dir`): where its time went by
 * area and its top self-time functions. A process writes one profile per thread (tsx runs its
 * loader in a thread); the busiest one is the main thread.
 */
export function summariseProfiles(dir: string, topN = 10): string[] {
  if (!existsSync(dir)) return [];
  const lines: string[] = [];
  for (const name of readdirSync(dir)) {
    const files = readdirSync(join(dir, name)).filter((f) => f.endsWith('.cpuprofile'));
    const all = files.map((f) => summarise(JSON.parse(readFileSync(join(dir, name, f), 'utf8')) as CpuProfile));
    const busy = (s: ReturnType<typeof summarise>) => s.total - (s.areas.find(([a]) => a === '(idle)')?.[1] ?? 0);
    const s = all.sort((a, b) => busy(b) - busy(a))[0];
    if (!s) continue;
    const pct = (t: number) => `${((100 * t) / s.total).toFixed(1)}%`;
    lines.push(
      `${name}: ${(s.total / 1e6).toFixed(1)} s sampled, busy ${pct(busy(s))}; by area: ${s.areas
        .slice(0, 9)
        .map(([a, t]) => `${a} ${pct(t)}`)
        .join(', ')}`,
    );
    lines.push(
      `${name}: course-sync functions incl. callees: ${s.inclusive
        .slice(0, topN)
        .map(([f, t]) => `${f} ${pct(t)}`)
        .join('; ')}`,
    );
    lines.push(
      `${name}: top self time: ${s.functions
        .slice(0, topN)
        .map(([f, t]) => `${f} ${pct(t)}`)
        .join('; ')}`,
    );
  }
  return lines;
}
