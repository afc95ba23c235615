import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.ts';
import { startSentinelSet, type SentinelSet } from './support/redis-sentinel.ts';

// `doctor` and the ops commands pointed at three sentinels, a primary and a replica (real
// redis-servers): the topology as the sentinels and the primary's INFO tell it, and a warning when
// REDIS_MIN_REPLICAS_ACK asks for more replicas than there are.
let set: SentinelSet;
const prefix = `t${randomBytes(5).toString('hex')}`;

/** The doctor's line for one check: status and detail. */
const line = (stdout: string, name: string) =>
  stdout
    .split('\n')
    .find((l) => l.slice(8).startsWith(name))
    ?.replace(/\s+/g, ' ');

beforeAll(async () => {
  set = await startSentinelSet({ name: 'cs-doctor' });
}, 60_000);
afterAll(async () => {
  await set?.stop();
});

describe('with REDIS_SENTINELS', () => {
  it('doctor reports the sentinels, the primary they name and its replica with its lag', async () => {
    const res = await runCli(['doctor'], { ...set.env, REDIS_MIN_REPLICAS_ACK: '1' });
    const sentinels = line(res.stdout, 'Redis Sentinel');
    expect(sentinels).toMatch(
      new RegExp(
        `^ok Redis Sentinel "cs-doctor" primary 127\\.0\\.0\\.1:${set.primary.port}, quorum 2, 3 of 3 sentinels answered`,
      ),
    );
    expect(sentinels).toMatch(/\(each knows 1 replica\(s\), 2 other sentinel\(s\), flags master\)$/);
    expect(line(res.stdout, 'Redis reachable')).toMatch(
      /^ok Redis reachable the primary of "cs-doctor" named by the sentinels 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+$/,
    );
    expect(line(res.stdout, 'Redis replication')).toMatch(
      new RegExp(
        `^ok Redis replication primary 127\\.0\\.0\\.1:${set.primary.port} \\(offset \\d+\\); 1 replica: 127\\.0\\.0\\.1:${set.replica.port} online, \\d+ bytes not yet acknowledged, last ack \\d+ s ago$`,
      ),
    );
    expect(line(res.stdout, 'Redis replica acknowledgement')).toMatch(
      /^ok Redis replica acknowledgement each webhook answered 2xx once 1 of the 1 online replicas hold it .*run 2 replicas to ride through one/,
    );
  });

  it('doctor warns when REDIS_MIN_REPLICAS_ACK exceeds the replicas present, exit 1', async () => {
    const res = await runCli(['doctor'], { ...set.env, REDIS_MIN_REPLICAS_ACK: '2' });
    expect(res.code).toBe(1);
    expect(line(res.stdout, 'Redis replica acknowledgement')).toBe(
      'problem Redis replica acknowledgement REDIS_MIN_REPLICAS_ACK is 2 but 1 replica is online: every webhook is answered 503',
    );
    expect(res.stdout).toMatch(/fix: add replicas, or lower REDIS_MIN_REPLICAS_ACK/);
  });

  it('doctor names a master the sentinels do not monitor', async () => {
    const res = await runCli(['doctor'], { ...set.env, REDIS_SENTINEL_MASTER: 'nobody' });
    expect(res.code).toBe(1);
    expect(line(res.stdout, 'Redis Sentinel')).toMatch(/^problem Redis Sentinel no sentinel answered about "nobody"/);
    expect(res.stdout).toMatch(/fix: set REDIS_SENTINEL_MASTER to the name of their `sentinel monitor` line/);
  });

  it('doctor says so when the server refuses WAIT (as some managed services do)', async () => {
    const admin = new Redis({ port: set.primary.port, host: '127.0.0.1' });
    try {
      await admin.call('ACL', 'SETUSER', 'nowait', 'on', '>nowait-pw', '~*', '&*', '+@all', '-wait');
      const res = await runCli(['doctor'], {
        REDIS_URL: `redis://nowait:nowait-pw@127.0.0.1:${set.primary.port}`,
        REDIS_MIN_REPLICAS_ACK: '1',
      });
      expect(res.code).toBe(1);
      expect(line(res.stdout, 'Redis replica acknowledgement')).toMatch(
        /^problem Redis replica acknowledgement REDIS_MIN_REPLICAS_ACK is 1 but this server refuses WAIT \(NOPERM/,
      );
      expect(res.stdout).not.toContain('nowait-pw');
    } finally {
      await admin.call('ACL', 'DELUSER', 'nowait');
      admin.disconnect();
    }
  });

  it('the ops commands connect through the sentinels', async () => {
    const res = await runCli(['dlq', 'list', '--json'], { ...set.env, QUEUE_PREFIX: prefix });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual([]);
  });
});
