import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError, type Env } from './config-values.ts';

/** The settings file read when ENV_FILE is not set: `.env` in the working folder, if there is one. */
export const DEFAULT_ENV_FILE = '.env';

/** An environment with the settings of its file added, and the file they came from (none: no file was read). */
export interface EnvWithFile {
  env: Env;
  file?: string;
}

/**
 * `env` with the settings of its ENV_FILE (default `./.env`, when there is one) added under it:
 * a variable the environment sets (not empty) wins over the file's. The file is read with Node's
 * own .env parser (util.parseEnv, what `process.loadEnvFile` and `node --env-file` use), but into a
 * copy, never into process.env, so every command (and a test running one in-process) reads its
 * settings from the one environment it is handed. ENV_FILE empty: no file; ENV_FILE naming a file
 * that cannot be read: a ConfigError naming ENV_FILE.
 */
export function withEnvFile(env: Env, cwd = process.cwd()): EnvWithFile {
  const named = env.ENV_FILE;
  if (named === '') return { env };
  const file = resolve(cwd, named ?? DEFAULT_ENV_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (named === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return { env };
    throw new ConfigError('ENV_FILE', `cannot read ${file}: ${(err as Error).message}`);
  }
  const merged: Env = { ...env };
  for (const [key, value] of Object.entries(parseEnv(text)))
    if (merged[key] === undefined || merged[key] === '') merged[key] = value;
  return { env: merged, file };
}
