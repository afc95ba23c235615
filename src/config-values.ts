import { settings, type Setting, type SettingName } from '../config/settings.ts';

/**
 * Reading settings from the environment: each raw value checked against its kind in
 * config/settings.ts, the defaults filled in. config.ts builds the Config from what this reads.
 */

/** A bad configuration value; the message names the key. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`config ${key}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** The environment settings are read from. */
export type Env = Record<string, string | undefined>;

function parseValue(key: string, setting: Setting, raw: string): unknown {
  switch (setting.kind) {
    case 'string':
    case 'secret':
      return raw;
    case 'int': {
      if (!/^-?\d+$/.test(raw)) throw new ConfigError(key, `expected a whole number, got "${raw}"`);
      const n = Number(raw);
      if (setting.min !== undefined && n < setting.min)
        throw new ConfigError(key, `must be at least ${setting.min}, got ${n}`);
      if (setting.max !== undefined && n > setting.max)
        throw new ConfigError(key, `must be at most ${setting.max}, got ${n}`);
      return n;
    }
    case 'fraction': {
      const n = Number(raw);
      if (!/^\d*\.?\d+$/.test(raw) || !(n >= 0 && n <= 1))
        throw new ConfigError(key, `expected a share from 0 to 1 such as 0.05, got "${raw}"`);
      return n;
    }
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(key, `expected true or false, got "${raw}"`);
    case 'url': {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new ConfigError(key, 'is not a valid URL');
      }
      const allowed = key === 'REDIS_URL' ? ['redis:', 'rediss:'] : ['http:', 'https:'];
      if (!allowed.includes(url.protocol))
        throw new ConfigError(key, `must start with ${allowed.map((p) => p + '//').join(' or ')}`);
      return raw.replace(/\/+$/, '');
    }
    case 'list':
    case 'secret-list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    case 'enum':
      if (!setting.values!.includes(raw))
        throw new ConfigError(key, `must be one of ${setting.values!.join(', ')}, got "${raw}"`);
      return raw;
    case 'map-int': {
      const out: Record<string, number> = {};
      for (const pair of raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const m = /^([A-Za-z]{3})\s*=\s*(\d)$/.exec(pair);
        if (!m) throw new ConfigError(key, `expected entries like "TWD=0", got "${pair}"`);
        out[m[1]!.toUpperCase()] = Number(m[2]);
      }
      return out;
    }
  }
}

/** Reads every setting from `env`, falling back to the documented defaults. */
export function readAll(env: Env): Record<SettingName, any> {
  const out = {} as Record<SettingName, any>;
  for (const [key, setting] of Object.entries(settings) as [SettingName, Setting][]) {
    const given = env[key];
    const raw = given !== undefined && given !== '' ? given : setting.default;
    out[key] = raw === undefined ? undefined : parseValue(key, setting, raw);
  }
  return out;
}

/** `host:port`, `host` (port 26379) or `[v6 address]:port`, as REDIS_SENTINELS lists them; undefined when malformed. */
export function sentinelAddress(entry: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+))(?::(\d{1,5}))?$/.exec(entry);
  const port = Number(m?.[3] ?? 26379);
  return m && port >= 1 && port <= 65535 ? { host: (m[1] ?? m[2])!, port } : undefined;
}

const fail = (key: string, message: string): never => {
  throw new ConfigError(key, message);
};

/** REDIS_SENTINELS read and checked with the settings it goes with (REDIS_SENTINEL_MASTER, REDIS_MIN_REPLICAS_ACK). */
export function sentinelNodes(v: Record<SettingName, any>): { host: string; port: number }[] {
  const sentinels = (v.REDIS_SENTINELS as string[]).map(
    (entry) =>
      sentinelAddress(entry) ??
      fail('REDIS_SENTINELS', `expected host:port entries such as 10.0.0.5:26379, got "${entry}"`),
  );
  if (sentinels.length && v.REDIS_CLUSTER)
    throw new ConfigError(
      'REDIS_SENTINELS',
      'cannot be combined with REDIS_CLUSTER (a cluster fails over by itself): set one or the other',
    );
  if (!/^\S+$/.test(v.REDIS_SENTINEL_MASTER))
    throw new ConfigError(
      'REDIS_SENTINEL_MASTER',
      `must be the master name the sentinels monitor, without spaces, got "${v.REDIS_SENTINEL_MASTER}"`,
    );
  if (v.REDIS_MIN_REPLICAS_ACK > 0 && v.REDIS_CLUSTER)
    throw new ConfigError(
      'REDIS_MIN_REPLICAS_ACK',
      'is not supported with REDIS_CLUSTER: use 0, or a primary with replicas (REDIS_URL or REDIS_SENTINELS)',
    );
  if (v.REDIS_MIN_REPLICAS_ACK > 0 && !v.REDIS_URL && !sentinels.length)
    throw new ConfigError(
      'REDIS_MIN_REPLICAS_ACK',
      'needs a Redis with replicas (REDIS_SENTINELS or REDIS_URL): the private redis-server started without REDIS_URL has none',
    );
  return sentinels;
}
