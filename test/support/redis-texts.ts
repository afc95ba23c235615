import type { Redis } from 'ioredis';
import { globSafe, scanKeys } from '../../src/redis/keys.ts';
import { isPackedField, PACKED_FIELD, packedValue, unpackFields } from '../../src/trace/packing.ts';

/** One text Redis holds: the key, what part of it (a field, a stream entry, a packed trace's field), the text. */
export interface HeldText {
  key: string;
  where: string;
  text: string;
}

/** A dead letter's job data: the letter, with the original job's data (kept whole for a replay) apart. */
function splitLetter(key: string, json: string): HeldText[] {
  try {
    const { data, ...letter } = JSON.parse(json) as { data?: unknown };
    return [
      { key, where: 'data (the letter)', text: JSON.stringify(letter) },
      { key, where: 'data.data (the original job data)', text: JSON.stringify(data) },
    ];
  } catch {
    return [{ key, where: 'data', text: json }];
  }
}

/**
 * Every text held under `prefix:` in Redis, whatever its type: string values, hash fields (a packed
 * trace's `z` unpacked into its fields), list, set and sorted-set members, stream entries. A
 * dead-letter job's `data` is split in the letter and the original job data it carries.
 */
export async function textsUnder(redis: Redis, prefix: string): Promise<HeldText[]> {
  const out: HeldText[] = [];
  for (const key of await scanKeys(redis, `${globSafe(prefix)}:*`)) {
    const type = await redis.type(key);
    if (type === 'string') out.push({ key, where: 'value', text: (await redis.get(key)) ?? '' });
    else if (type === 'hash') {
      const hash = await redis.hgetallBuffer(key);
      const packed = packedValue(hash);
      if (packed)
        for (const [name, text] of unpackFields(packed)) out.push({ key, where: `${PACKED_FIELD} → ${name}`, text });
      for (const [field, value] of Object.entries(hash)) {
        if (isPackedField(field)) continue;
        else if (field === 'data' && /-dlq:[^:]+$/.test(key)) out.push(...splitLetter(key, value.toString()));
        else out.push({ key, where: field, text: value.toString() });
      }
    } else if (type === 'list')
      out.push(...(await redis.lrange(key, 0, -1)).map((text, i) => ({ key, where: `[${i}]`, text })));
    else if (type === 'set') out.push(...(await redis.smembers(key)).map((text) => ({ key, where: 'member', text })));
    else if (type === 'zset')
      out.push(...(await redis.zrange(key, 0, '-1')).map((text) => ({ key, where: 'member', text })));
    else if (type === 'stream')
      out.push(
        ...(await redis.xrange(key, '-', '+')).map(([id, fields]) => ({ key, where: id, text: fields.join(' ') })),
      );
  }
  return out;
}

/** The texts that hold one of `needles` (letter case ignored), or one of the digit runs in any format (spaces, dashes, dots, brackets ignored). */
export function holding(texts: HeldText[], needles: string[], digitRuns: string[] = []): HeldText[] {
  return texts.filter(({ key, text }) => {
    const all = `${key}\n${text}`;
    const lower = all.toLowerCase();
    const digits = all.replace(/[\s()+.-]/g, '');
    return needles.some((n) => lower.includes(n.toLowerCase())) || digitRuns.some((d) => digits.includes(d));
  });
}

/** Whether a hash holds a packed value and nothing beside it (every field one of its pieces). */
export async function packedOnly(redis: Redis, key: string): Promise<boolean> {
  const fields = await redis.hkeys(key);
  return fields.length > 0 && fields.every(isPackedField);
}
