import type { Redis } from 'ioredis';

/** Everything a key holds, as text: its value, fields, members or stream entries. */
async function contentOf(redis: Redis, key: string): Promise<string[]> {
  switch (await redis.type(key)) {
    case 'string':
      return [(await redis.get(key)) ?? ''];
    case 'hash':
      return Object.entries(await redis.hgetall(key)).flat();
    case 'list':
      return redis.lrange(key, 0, -1);
    case 'set':
      return redis.smembers(key);
    case 'zset':
      return redis.zrange(key, 0, '-1');
    case 'stream':
      return (await redis.xrange(key, '-', '+')).flatMap(([id, fields]) => [id, ...fields]);
    default:
      return [];
  }
}

/**
 * Every key of the Redis (any prefix, any type) whose name or content holds one of the texts
 * (letter case ignored) or one of the digit runs (in any format: spaces, dashes, brackets, a plus
 * are ignored), with the text or digits found. Independent of course-sync's own code on purpose.
 */
export async function keysHolding(
  redis: Redis,
  texts: string[],
  digitRuns: string[] = [],
): Promise<{ key: string; found: string }[]> {
  const hits: { key: string; found: string }[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const all = [key, ...(await contentOf(redis, key))].join('\n');
      const lower = all.toLowerCase();
      const digits = all.replace(/[\s()+.-]/g, '');
      const found = texts.find((t) => lower.includes(t.toLowerCase())) ?? digitRuns.find((d) => digits.includes(d));
      if (found) hits.push({ key, found });
    }
  } while (cursor !== '0');
  return hits;
}
