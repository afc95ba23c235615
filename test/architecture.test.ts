import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The rooms of src/ (docs/architecture.md) stand on floors, from the ground up, in the order an event's
// data flows: the toolkit; the records several rooms share; the pipeline an event passes through;
// what watches it; the faces ops use. A room imports only from its own floor or the floors below,
// so a lower layer that must tell an upper one something calls an observer interface it defines
// itself. These checks read the import statements themselves.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

interface Floor {
  name: string;
  rooms: string[];
  /** Imports between two rooms of this floor: any, or only these (`from → to`). */
  sideways: 'any' | string[];
  /** The floors above that may import it, when not every one of them. */
  seenFrom?: string[];
}

/** From the ground up. Type-only imports (`import type`) follow the same order: none goes up either. */
const FLOORS: Floor[] = [
  {
    // The toolkit: knows no room above it. config.ts also stands for config/settings.ts.
    name: 'ground',
    rooms: [
      'config',
      'config-values',
      'env-file',
      'log',
      'metrics',
      'html',
      'http-error',
      'raw-body',
      'address-list',
      'constant-time',
      'api-failure',
      'duration',
      'console-links',
      'sendgrid-signature',
      'formats',
      'contact-mapping',
      'privacy',
      'redis',
      'telemetry',
    ],
    sideways: 'any',
  },
  {
    // The sandbox's HubSpot and SendGrid stand beside the building: they stand in for the real
    // services, so they share none of the pipeline's code (its bugs would hide in both), and only
    // the faces start them (service.ts, in sandbox mode) or show what they hold (/admin/sandbox).
    name: 'sandbox',
    rooms: ['emulators'],
    sideways: 'any',
    seenFrom: ['faces'],
  },
  {
    // What several floors above share: the events' shape, refused deliveries, who did what.
    name: 'records',
    rooms: ['events', 'quarantine', 'audit'],
    sideways: ['quarantine → events'],
  },
  { name: 'pipeline', rooms: ['receiver', 'queues', 'workers', 'hubspot', 'sendgrid'], sideways: 'any' },
  { name: 'watching', rooms: ['trace', 'stats', 'alerts', 'student-data', 'doctor', 'watchers'], sideways: 'any' },
  {
    // Each face stands alone — the console and the command line never import each other — but
    // for the start-up: service.ts mounts the console, and `course-sync start` runs service.ts.
    name: 'faces',
    rooms: ['admin', 'cli', 'service'],
    sideways: ['service → admin', 'cli → service'],
  },
];

const floorOf = new Map(
  FLOORS.flatMap((floor, level) => floor.rooms.map((room) => [room, { ...floor, level }] as const)),
);

/** Why `from` may not import `to`, or undefined when it may. */
function refusal(from: string, to: string): string | undefined {
  const a = floorOf.get(from);
  const b = floorOf.get(to);
  if (!a || !b) return `${!a ? from : to} has no floor`;
  if (from === to) return undefined;
  if (a.level === b.level) {
    return a.sideways === 'any' || a.sideways.includes(`${from} → ${to}`)
      ? undefined
      : `sideways on the ${a.name} floor`;
  }
  if (a.level < b.level) return `upward, ${a.name} → ${b.name}`;
  return b.seenFrom && !b.seenFrom.includes(a.name)
    ? `${b.name} is seen only from ${b.seenFrom.join(', ')}`
    : undefined;
}

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** A file's room: its folder under src/, or its own name for the files at the top; config/settings.ts is config's. */
const roomOf = (file: string) => {
  if (file === join(ROOT, 'config', 'settings.ts')) return 'config';
  if (!file.startsWith(SRC + '/')) return `outside src/: ${relative(ROOT, file)}`;
  const parts = relative(SRC, file).split('/');
  return parts.length > 1 ? parts[0]! : parts[0]!.replace(/\.ts$/, '');
};

interface Import {
  from: string;
  to: string;
  /** `import type …`: erased at run time. */
  typeOnly: boolean;
}

const STATIC = /^(?:import|export)\s+(type\s+)?[^'";]*?from\s+['"](\.[^'"]+)['"]/gm;
const BARE_OR_DYNAMIC = /(?:^import\s+|\bimport\(\s*)['"](\.[^'"]+)['"]/gm;

const imports: Import[] = files(SRC).flatMap((file) => {
  const text = readFileSync(file, 'utf8');
  const to = (spec: string) => resolve(dirname(file), spec);
  return [
    ...[...text.matchAll(STATIC)].map((m) => ({ from: file, to: to(m[2]!), typeOnly: !!m[1] })),
    ...[...text.matchAll(BARE_OR_DYNAMIC)].map((m) => ({ from: file, to: to(m[1]!), typeOnly: false })),
  ];
});

const shown = (i: Import) => `${relative(SRC, i.from)} → ${relative(SRC, i.to)}${i.typeOnly ? ' (type)' : ''}`;

describe('the rooms of src/', () => {
  it('reads the imports it checks', () => {
    expect(imports.length).toBeGreaterThan(300);
    expect(imports.filter((i) => i.typeOnly).length).toBeGreaterThan(20);
  });

  it('puts every room on one floor, and names no room that is gone', () => {
    const rooms = new Set(files(SRC).map(roomOf));
    expect([...rooms].filter((room) => !floorOf.has(room))).toEqual([]);
    expect(FLOORS.flatMap((f) => f.rooms).filter((room) => !rooms.has(room))).toEqual([]);
    expect(new Set(FLOORS.flatMap((f) => f.rooms)).size).toBe(FLOORS.flatMap((f) => f.rooms).length);
  });

  it('imports only from its own floor or the floors below (type-only imports too)', () => {
    const wrong = imports.flatMap((i) => {
      const why = refusal(roomOf(i.from), roomOf(i.to));
      return why ? [`${shown(i)}: ${why}`] : [];
    });
    expect(wrong).toEqual([]);
  });

  it('refuses what it is there to refuse', () => {
    const cases: [from: string, to: string, refused: boolean][] = [
      ['admin', 'cli', true],
      ['cli', 'admin', true],
      ['admin', 'service', true],
      ['service', 'cli', true],
      ['hubspot', 'trace', true],
      ['receiver', 'admin', true],
      ['queues', 'student-data', true],
      ['trace', 'cli', true],
      ['redis', 'queues', true],
      ['config', 'receiver', true],
      ['events', 'quarantine', true],
      ['audit', 'quarantine', true],
      ['quarantine', 'receiver', true],
      ['emulators', 'receiver', true],
      ['emulators', 'admin', true],
      ['receiver', 'emulators', true],
      ['trace', 'emulators', true],
      ['a-new-room', 'config', true],
      ['service', 'admin', false],
      ['cli', 'service', false],
      ['service', 'emulators', false],
      ['admin', 'emulators', false],
      ['cli', 'audit', false],
      ['admin', 'duration', false],
      ['cli', 'console-links', false],
      ['student-data', 'audit', false],
      ['trace', 'quarantine', false],
      ['receiver', 'quarantine', false],
      ['quarantine', 'events', false],
      ['workers', 'hubspot', false],
      ['config', 'sendgrid-signature', false],
    ];
    expect(cases.map(([from, to]) => [from, to, refusal(from, to) !== undefined])).toEqual(cases);
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
        if (state.get(next) === 'open')
          cycles.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(SRC, f)).join(' → '));
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
