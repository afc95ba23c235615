import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { settings } from '../config/settings.ts';
import { ROLES } from '../src/cli/main.ts';
import { ENV_EXAMPLE_PATH, envFileKeys, renderEnvExample } from '../scripts/env-example.ts';

// Docker does not run here: these checks keep docker-compose.yml, the Dockerfile and
// .env.example in agreement with the config module and the command line.
const root = join(import.meta.dirname, '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');
// Compose resolves YAML merge keys (<<: *app); so must the parser.
const compose = parse(read('docker-compose.yml'), { merge: true });
const dockerfile = read('Dockerfile').replace(/\\\n/g, ' ');
const instructions = dockerfile
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const settingKeys = Object.keys(settings);

/** The argv of a compose `command` or Dockerfile exec-form CMD. */
const argv = (command: unknown): string[] => (Array.isArray(command) ? command : String(command).split(/\s+/));

function expectStartCommand(command: unknown, role: string) {
  const args = argv(command);
  expect(args.slice(0, 3)).toEqual(['node', 'bin/course-sync.js', 'start']);
  const i = args.indexOf('--role');
  expect(i).toBeGreaterThan(2);
  expect(ROLES).toContain(args[i + 1]);
  expect(args[i + 1]).toBe(role);
}

describe('docker-compose.yml', () => {
  it('has redis, receiver and worker', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['receiver', 'redis', 'worker']);
  });

  it('runs Redis with AOF on, noeviction, a named volume and a ping health check', () => {
    const redis = compose.services.redis;
    expect(redis.image).toMatch(/^redis:7/);
    const cmd = argv(redis.command).join(' ');
    expect(cmd).toMatch(/--appendonly yes/);
    expect(cmd).toMatch(/--maxmemory-policy noeviction/);
    const [volume] = String(redis.volumes[0]).split(':');
    expect(Object.keys(compose.volumes)).toContain(volume);
    expect(redis.healthcheck.test.join(' ')).toMatch(/redis-cli ping/);
  });

  it('builds receiver and worker from the one Dockerfile and starts each in its role', () => {
    for (const [name, role] of [
      ['receiver', 'receiver'],
      ['worker', 'worker'],
    ] as const) {
      const svc = compose.services[name];
      expect(svc.build === '.' || svc.build?.context === '.').toBe(true);
      expect(svc.build?.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
      expectStartCommand(svc.command, role);
      expect(svc.env_file).toBe('.env');
      expect(svc.depends_on.redis.condition).toBe('service_healthy');
      expect(svc.environment.REDIS_URL).toBe('redis://redis:6379');
    }
  });

  it('publishes the receiver port from PORT to the port the container listens on, the admin port on loopback only; workers publish none (scalable)', () => {
    const receiver = compose.services.receiver;
    expect(receiver.ports).toEqual(['${PORT:-3000}:3000', '127.0.0.1:${ADMIN_PORT:-9090}:9090']);
    expect(receiver.environment.PORT).toBe('3000');
    expect(receiver.environment.ADMIN_PORT).toBe('9090');
    expect(compose.services.worker.ports).toBeUndefined();
    expect(compose.services.worker.container_name).toBeUndefined();
    expect(dockerfile).toMatch(/^EXPOSE 3000$/m);
  });

  it('sets and interpolates only variables that config/settings.ts defines', () => {
    const text = read('docker-compose.yml');
    const interpolated = [...text.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!);
    const set = ['receiver', 'worker'].flatMap((s) => Object.keys(compose.services[s].environment ?? {}));
    expect(interpolated.length + set.length).toBeGreaterThan(0);
    for (const key of [...interpolated, ...set]) expect(settingKeys, key).toContain(key);
  });
});

describe('Dockerfile', () => {
  const froms = instructions.filter((l) => /^FROM /i.test(l));
  const finalStage = instructions.slice(instructions.lastIndexOf(froms.at(-1)!));

  it('builds and runs on one Node image whose major package.json engines accepts (an LTS line CI tests)', () => {
    const images = froms.map((l) => /^FROM (node:(\d+)-[a-z]+-slim)\b/i.exec(l));
    expect(images.every(Boolean), froms.join(' | ')).toBe(true);
    expect(new Set(images.map((m) => m![1])).size).toBe(1);
    const engines = JSON.parse(read('package.json')).engines.node as string;
    const majors = [...engines.matchAll(/\^(\d+)\./g)].map((m) => m[1]);
    expect(majors).toContain(images[0]![2]);
    expect(read('.ci/run')).toMatch(new RegExp(`extra_majors="[^"]*\\b${images[0]![2]}\\b`));
  });

  it('is multi-stage, installing production dependencies only from the lock file', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms[0]).toMatch(/AS deps$/i);
    expect(dockerfile).toMatch(/RUN npm ci --omit=dev/);
    expect(finalStage.join('\n')).toMatch(/COPY --from=deps \/app\/node_modules/);
  });

  it('runs as the non-root node user with a /healthz HEALTHCHECK that needs no curl', () => {
    const users = finalStage.filter((l) => /^USER /.test(l));
    expect(users.at(-1)).toBe('USER node');
    const health = finalStage.find((l) => /^HEALTHCHECK /.test(l))!;
    expect(health).toMatch(/CMD \["node", "-e", ".*fetch\(.*\/healthz/);
    expect(health).not.toMatch(/curl|wget/);
  });

  it('starts all roles by default with the bin the package declares', () => {
    const cmd = finalStage.find((l) => /^CMD /.test(l))!;
    expectStartCommand(JSON.parse(cmd.slice(4)), 'all');
    expect(JSON.parse(read('package.json')).bin['course-sync']).toBe('bin/course-sync.js');
  });

  it('copies what the app needs at run time, and that exists', () => {
    for (const path of ['package.json', 'bin', 'config', 'src', 'fixtures', 'reference']) {
      expect(
        finalStage.some((l) => new RegExp(`^COPY ${path} `).test(l)),
        path,
      ).toBe(true);
      expect(existsSync(join(root, path)), path).toBe(true);
    }
    const pkg = JSON.parse(read('package.json'));
    expect(pkg.dependencies.tsx, 'tsx runs the sources in production').toBeDefined();
  });

  it('.dockerignore keeps secrets, local data and node_modules out of the build context', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.env', 'node_modules', 'data', '.git']) expect(ignored).toContain(entry);
  });
});

describe('.env.example', () => {
  const text = readFileSync(ENV_EXAMPLE_PATH, 'utf8');

  it('lists exactly the keys of config/settings.ts, in order', () => {
    expect(envFileKeys(text)).toEqual(settingKeys);
  });

  it('is the output of scripts/env-example.ts (run `npm run env:example` after changing settings)', () => {
    expect(text).toBe(renderEnvExample());
  });

  it('comments every key with its meaning', () => {
    for (const [key, setting] of Object.entries(settings)) {
      expect(text).toContain(`# ${setting.doc}`);
      expect(text).toMatch(new RegExp(`^(# )?${key}=`, 'm'));
    }
  });
});
