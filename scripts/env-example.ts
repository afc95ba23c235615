/**
 * Writes `.env.example` from config/settings.ts, so the example always lists every setting with
 * its meaning and default. Run `npm run env:example` after changing a setting; `--check` exits 1
 * when the committed file is out of step (the deployment test checks the same).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { settings, type Setting } from '../config/settings.ts';

/** Where the generated file lives: the repository root. */
export const ENV_EXAMPLE_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '.env.example');

const HEADER = [
  '# course-sync configuration. Copy to .env and fill in what you need:',
  '#   cp .env.example .env',
  '# Lines without "#" have no default (credentials, secrets); commented lines show the default.',
  '# docker compose reads .env for the receiver and worker services (it sets REDIS_URL and PORT,',
  '# and NODE_ENV defaults to production there); outside Docker, export the variables in your shell or unit file.',
  '# Generated from config/settings.ts by `npm run env:example` - edit settings.ts, not this file.',
];

/** A setting's meaning with its allowed values (enum values, whole-number bounds, true/false). */
export function describeSetting(setting: Setting): string {
  const extra: string[] = [];
  if (setting.kind === 'enum') extra.push(`one of: ${setting.values!.join(', ')}`);
  if (setting.kind === 'int') {
    const { min, max } = setting;
    extra.push(
      min !== undefined && max !== undefined
        ? `whole number ${min}..${max}`
        : min !== undefined
          ? `whole number >= ${min}`
          : 'whole number',
    );
  }
  if (setting.kind === 'bool') extra.push('true or false');
  return extra.length ? `${setting.doc} (${extra.join('; ')})` : setting.doc;
}

/** The text of `.env.example`: one commented block per setting, in the order of settings.ts. */
export function renderEnvExample(): string {
  const blocks = (Object.entries(settings) as [string, Setting][]).map(([key, setting]) => {
    const line =
      setting.default === undefined
        ? `${key}=`
        : `# ${key}=${/[\s#"']/.test(setting.default) ? JSON.stringify(setting.default) : setting.default}`;
    return `# ${describeSetting(setting)}\n${line}`;
  });
  return `${HEADER.join('\n')}\n\n${blocks.join('\n\n')}\n`;
}

/** The setting names an env file assigns, commented (default shown) or not. */
export function envFileKeys(text: string): string[] {
  return [...text.matchAll(/^(?:#\s*)?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = renderEnvExample();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(ENV_EXAMPLE_PATH, 'utf8');
    } catch {
      /* missing counts as out of step */
    }
    if (current !== text) {
      console.error('.env.example is out of step with config/settings.ts: run `npm run env:example`');
      process.exit(1);
    }
  } else {
    writeFileSync(ENV_EXAMPLE_PATH, text);
    console.log(`wrote ${ENV_EXAMPLE_PATH}`);
  }
}
