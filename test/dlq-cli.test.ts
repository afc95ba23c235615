import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseDuration } from '../src/duration.ts';
import { AuditTrail } from '../src/audit/trail.ts';
import { QUEUES } from '../src/queues/names.ts';
import { runCli } from './support/cli.ts';
import { deadLetterRig } from './support/dead-letters.ts';
import { dropPrefix, redisUrl, testConfig } from './support/env.ts';

const config = testConfig({ JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '10' });
let rig: ReturnType<typeof deadLetterRig>;
const cli = (...args: string[]) => runCli(args, { REDIS_URL: redisUrl(), QUEUE_PREFIX: config.redis.prefix });
const lines = (text: string) => text.split('\n').filter(Boolean);

beforeAll(async () => {
  rig = deadLetterRig(config, redisUrl());
});
afterAll(async () => {
  await dropPrefix(rig.redis, config.redis.prefix);
  await rig.stop();
});

describe('parseDuration', () => {
  it.each([
    ['45s', 45_000],
    ['30m', 1_800_000],
    ['12h', 43_200_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['7D', 604_800_000],
    [' 0d ', 0],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(['', '7', 'd', '7 days', '-1d', '1.5h', '3x'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/not a duration/);
  });
});

describe('course-sync dlq', () => {
  it('list prints nothing on stdout for empty queues and exits 0', async () => {
    const res = await cli('dlq', 'list');
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/no dead letters/);
  });

  it('list prints one line per dead letter: queue, id, event id, time of the last error, last error', async () => {
    await rig.kill(QUEUES.contacts, ['enroll_cli_1', 'enroll_cli_2'], 'HubSpot answered 502');
    await rig.kill(QUEUES.email, ['enroll_cli_3'], 'SendGrid answered 500');
    const all = await cli('dlq', 'list');
    expect(all.code).toBe(0);
    const rows = lines(all.stdout).map((l) => l.split('\t'));
    expect(rows.map((r) => [r[0], r[1], r[2], r[4]]).sort()).toEqual([
      ['crm-contacts', 'enroll-enroll_cli_1', 'enroll_cli_1', 'HubSpot answered 502 #2'],
      ['crm-contacts', 'enroll-enroll_cli_2', 'enroll_cli_2', 'HubSpot answered 502 #2'],
      ['email-welcome', 'enroll-enroll_cli_3', 'enroll_cli_3', 'SendGrid answered 500 #2'],
    ]);
    for (const r of rows) expect(Date.now() - Date.parse(r[3]!)).toBeLessThan(120_000);

    const one = await cli('dlq', 'list', 'email-welcome-dlq');
    expect(lines(one.stdout)).toHaveLength(1);
    const json = await cli('dlq', 'list', 'crm-contacts', '--json');
    expect(JSON.parse(json.stdout).map((s: any) => s.attempts)).toEqual([2, 2]);
  });

  it('show prints a dead letter with every attempt error; exits 1 for an unknown id', async () => {
    const res = await cli('dlq', 'show', 'crm-contacts', 'enroll-enroll_cli_1');
    expect(res.code).toBe(0);
    const letter = JSON.parse(res.stdout);
    expect(letter.errors.map((e: any) => e.message)).toEqual(['HubSpot answered 502 #1', 'HubSpot answered 502 #2']);
    expect((await cli('dlq', 'show', 'crm-contacts', 'enroll-nope')).code).toBe(1);
  });

  it('replay <id> puts that job back on its queue with fresh attempts; a worker then completes it', async () => {
    const res = await cli('dlq', 'replay', 'crm-contacts', 'enroll-enroll_cli_1');
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('replayed\tcrm-contacts\tenroll-enroll_cli_1\n');
    const started: number[] = [];
    const worker = rig.work(QUEUES.contacts, async (job) => {
      started.push(job.attemptsMade);
    });
    await vi.waitFor(
      async () => expect(await rig.queues.work[QUEUES.contacts].getJobState('enroll-enroll_cli_1')).toBe('completed'),
      { timeout: 15_000 },
    );
    await worker.close();
    expect(started).toEqual([0]);
    expect(lines((await cli('dlq', 'list', 'crm-contacts')).stdout).map((l) => l.split('\t')[1])).toEqual([
      'enroll-enroll_cli_2',
    ]);
  });

  it('replay exits 1 naming ids that are not dead letters', async () => {
    const res = await cli('dlq', 'replay', 'crm-contacts', 'enroll-nope');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/no dead letter "enroll-nope" in crm-contacts/);
  });

  it('replay --all empties the dead-letter queue into its work queue', async () => {
    const res = await cli('dlq', 'replay', 'crm-contacts', '--all');
    expect(res.code).toBe(0);
    expect(lines(res.stdout)).toEqual(['replayed\tcrm-contacts\tenroll-enroll_cli_2']);
    expect(await rig.deadLetters.size(QUEUES.contacts)).toBe(0);
    expect(await rig.queues.work[QUEUES.contacts].getJobState('enroll-enroll_cli_2')).toBe('waiting');
  });

  it('groups prints the dead letters by cause; replay --cause replays one group only and is audited', async () => {
    await rig.kill(QUEUES.emailEvents, ['enroll_grp_1', 'enroll_grp_2'], 'SendGrid answered 500');
    await rig.kill(QUEUES.emailEvents, ['enroll_grp_3'], 'HubSpot 400 VALIDATION_ERROR');
    const groups = await cli('dlq', 'groups', 'email-events');
    expect(groups.code).toBe(0);
    const rows = lines(groups.stdout).map((l) => l.split('\t'));
    expect(rows.map((r) => [r[0], r[4]])).toEqual([
      ['2', expect.stringMatching(/^SendGrid answered/)],
      ['1', expect.stringMatching(/^HubSpot 400 VALIDATION_ERROR/)],
    ]);

    const res = await cli('dlq', 'replay', 'email-events', '--cause', rows[0]![4]!);
    expect(res.code).toBe(0);
    expect(lines(res.stdout).sort()).toEqual([
      'replayed\temail-events\tenroll-enroll_grp_1',
      'replayed\temail-events\tenroll-enroll_grp_2',
    ]);
    expect((await rig.deadLetters.list(QUEUES.emailEvents)).map((l) => l.id)).toEqual(['enroll-enroll_grp_3']);
    const [audit] = await new AuditTrail(rig.redis, config.redis.prefix).list(1);
    expect(audit).toMatchObject({
      via: 'cli',
      action: 'replay',
      queue: 'email-events',
      count: 2,
      detail: `cause: ${rows[0]![4]}`,
    });

    expect(await cli('dlq', 'replay', 'email-events', '--cause', 'no such cause')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('dlq groups email-events'),
    });
  });

  it('purge --older-than removes only older dead letters', async () => {
    const [old] = await rig.kill(QUEUES.products, ['enroll_cli_old']);
    const letter = (await rig.deadLetters.get(QUEUES.products, old!))!;
    await letter.updateData({ ...letter.data, deadAt: new Date(Date.now() - 3 * 3_600_000).toISOString() });
    await rig.kill(QUEUES.products, ['enroll_cli_new']);

    const none = await cli('dlq', 'purge', 'crm-products', '--older-than', '1d');
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    const res = await cli('dlq', 'purge', 'crm-products', '--older-than', '2h');
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(`purged\tcrm-products\t${old}\n`);
    expect(lines((await cli('dlq', 'list', 'crm-products')).stdout).map((l) => l.split('\t')[1])).toEqual([
      'enroll-enroll_cli_new',
    ]);
  });

  it.each([
    [['dlq', 'list', 'no-such-queue'], /unknown queue; expected one of crm-contacts, email-welcome, crm-products/],
    [['dlq', 'replay', 'crm-contacts'], /give one of --all, --cause <cause>, or one or more job ids/],
    [
      ['dlq', 'replay', 'crm-contacts', '--all', 'enroll-x'],
      /give one of --all, --cause <cause>, or one or more job ids/,
    ],
    [['dlq', 'purge', 'crm-contacts'], /required option '--older-than <duration>'/],
    [['dlq', 'purge', 'crm-contacts', '--older-than', 'soon'], /"soon" is not a duration/],
  ])('exits 2 on bad usage: %j', async (args, message) => {
    const res = await cli(...args);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
  });

  it('exits 3 when REDIS_URL is not set and no service runs, saying how to start one (it never starts a Redis itself)', async () => {
    const res = await runCli(['dlq', 'list'], { QUEUE_PREFIX: config.redis.prefix });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(
      /^course-sync dlq list: REDIS_URL is not set and no course-sync service is running with a private Redis in .* Start the service in this folder with `npm start`/,
    );
  });

  it('exits 3 when Redis does not answer; closes every connection it opened, answered or not (it runs inside tests too)', async () => {
    // A server that reads what it is sent and never replies: the client connects and waits for Redis.
    const silent = createServer((socket) => socket.resume());
    await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
    const open = () => new Promise<number>((ok, fail) => silent.getConnections((err, n) => (err ? fail(err) : ok(n))));
    try {
      const res = await runCli(['dlq', 'list'], {
        REDIS_URL: `redis://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      });
      expect(res.code).toBe(3);
      expect(res.stderr).toMatch(/Redis at 127.0.0.1:\d+ is not reachable/);
      await vi.waitFor(async () => expect(await open()).toBe(0));
    } finally {
      silent.close();
    }
    const sockets = () => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;
    await rig.redis.ping();
    const before = sockets();
    expect((await cli('dlq', 'list')).code).toBe(0);
    await vi.waitFor(() => expect(sockets()).toBe(before));
  });

  it('--help describes each subcommand', async () => {
    const subs = ['list', 'show', 'replay', 'purge'];
    const results = await Promise.all(subs.map((sub) => runCli(['dlq', sub, '--help'])));
    for (const [i, sub] of subs.entries()) {
      const res = results[i]!;
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(new RegExp(`Usage: course-sync dlq ${sub}`));
      expect(res.stdout).toMatch(/Exit codes: 0/);
    }
    const top = await runCli(['dlq', '--help']);
    expect(top.stdout).toMatch(/list \[options\] \[queue\]/);
  });
});
