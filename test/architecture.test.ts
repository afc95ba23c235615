import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The rooms of src/ (docs/architecture.md): an event's way through the service is the lower floor, what
// watches, shows and repairs it the upper one. These checks read the import statements themselves.
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** The pipeline and its toolkit: none of these may import from a room on top of them. */
const LOWER = new Set(['receiver', 'events', 'queues', 'workers', 'hubspot', 'sendgrid', 'redis', 'privacy', 'api-failure', 'http-error', 'html', 'address-list', 'constant-time', 'log', 'config', 'metrics']);

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** A file's room: its folder under src/, or its own name for the files at the top. */
const roomOf = (file: string) => {
  const parts = relative(SRC, file).split('/');
  return parts.length > 1 ? parts[0]! : parts[0]!.replace(/\.ts$/, '');
};

interface Import {
  from: string;
  to: string;
  /** `import type …`: erased at run time. */
  typeOnly: boolean;
}

const imports: Import[] = files(SRC).flatMap((file) =>
  [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s+(type\s+)?[^'";]*?from\s+['"](\.[^'"]+)['"]/gm)].map((m) => ({
    from: file,
    to: resolve(dirname(file), m[2]!),
    typeOnly: !!m[1],
  })),
);

describe('the rooms of src/', () => {
  it('reads the imports it checks', () => {
    expect(imports.length).toBeGreaterThan(300);
    expect(imports.filter((i) => i.typeOnly).length).toBeGreaterThan(20);
  });

  it('keeps the pipeline and its toolkit from importing what watches, shows or repairs it', () => {
    const upward = imports.filter((i) => LOWER.has(roomOf(i.from)) && roomOf(i.to) !== roomOf(i.from) && !LOWER.has(roomOf(i.to)) && i.to.startsWith(SRC));
    expect(upward.map((i) => `${relative(SRC, i.from)} → ${relative(SRC, i.to)}`)).toEqual([]);
  });

  it('has no import cycle at run time', () => {
    const graph = new Map<string, string[]>();
    for (const i of imports) if (!i.typeOnly) graph.set(i.from, [...(graph.get(i.from) ?? []), i.to]);
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      stack.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(SRC, f)).join(' → '));
        else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });

  it('keeps files small enough to read in one sitting (at most 300 lines)', () => {
    const long = files(SRC)
      .map((f) => [relative(SRC, f), readFileSync(f, 'utf8').split('\n').length] as const)
      .filter(([, lines]) => lines > 300);
    expect(long).toEqual([]);
  });
});
