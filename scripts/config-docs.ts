/**
 * Writes docs/configuration.md from config/settings.ts: every setting with its default and
 * meaning, grouped by concern (`settingGroups`). Run `npm run docs:config` after changing a
 * setting; `--check` exits 1 when the committed page is out of step (a test checks the same).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { settingGroups, settings, type Setting, type SettingName } from '../config/settings.ts';
import { describeSetting } from './env-example.ts';

/** Where the generated page lives. */
export const CONFIG_DOCS_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'configuration.md');

const INTRO = `# Configuration

What you came for: every setting of course-sync, its default and what it decides, grouped by
concern. Every setting is an environment variable. \`npm start\` and the CLI read them from the
environment (a \`.env\` file in the working folder is read by Docker Compose; copy
\`.env.example\`, which lists the same settings). Start-up validates all of them and stops with
a message naming the bad key (\`course-sync: config PORT: expected a whole number, got "eighty"\`).

With neither \`HUBSPOT_ACCESS_TOKEN\` nor \`SENDGRID_API_KEY\` (and \`NODE_ENV\` not \`production\`)
course-sync runs in sandbox mode against its built-in emulators. In production, missing
credentials or a missing \`WEBHOOK_SECRET\` stop start-up.

<!-- Generated from config/settings.ts by \`npm run docs:config\`: edit settings.ts, not this page. -->`;

/** A table cell: pipes escaped so a meaning cannot break the table. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function defaultOf(setting: Setting): string {
  if (setting.default === undefined) return '—';
  return setting.default === '' ? '(empty)' : `\`${setting.default}\``;
}

/** The text of docs/configuration.md. */
export function renderConfigDocs(): string {
  const sections = settingGroups.map((g) => {
    const rows = g.keys.map((key: SettingName) => {
      const setting = settings[key] as Setting;
      return `| \`${key}\` | ${cell(defaultOf(setting))} | ${cell(describeSetting(setting))} |`;
    });
    return [`## ${g.title}`, '', g.about, '', '| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
  });
  return `${INTRO}\n\n${sections.join('\n\n')}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = renderConfigDocs();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(CONFIG_DOCS_PATH, 'utf8');
    } catch {
      /* missing counts as out of step */
    }
    if (current !== text) {
      console.error('docs/configuration.md is out of step with config/settings.ts: run `npm run docs:config`');
      process.exit(1);
    }
  } else {
    writeFileSync(CONFIG_DOCS_PATH, text);
    console.log(`wrote ${CONFIG_DOCS_PATH}`);
  }
}
