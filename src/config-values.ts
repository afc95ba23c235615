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
