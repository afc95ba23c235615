/**
 * Writes the tables of what course-sync keeps in Redis into docs/privacy.md, from the registry
 * (src/redis/records.ts): each family's key, the personal data in it, how long it lives (the
 * setting that bounds it, with its default) and what `forget` does with it. Only the part between
 * the markers is generated; the prose around it is written by hand. Run `npm run docs:records`
 * after changing the registry; `--check` exits 1 when the committed page is out of step (a test
 * checks the same).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig, type Config } from '../src/config.ts';
import {
  QUEUE_FAMILIES,
  RECORD_FAMILIES,
  type Lifetime,
  type RecordFamily,
  type Treatment,
} from '../src/redis/records.ts';

/** The page holding the generated tables. */
export const RECORDS_DOCS_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'privacy.md');

export const BEGIN =
  '<!-- records: generated from src/redis/records.ts by `npm run docs:records`: edit the registry, not this table -->';
export const END = '<!-- records: end of the generated part -->';

/** What `forget` does with a family's records (and so what `export` shows of them). */
const FORGET: Record<Treatment, string> = {
  delete: "the student's records deleted",
  'delete-entries': 'the entries naming the student taken out',
  'delete-data': "the enrollment's data removed, the marker kept",
  'unpack-then-delete': "unpacked and read, the student's records deleted",
  masked: 'not read: addresses are masked',
  keep: 'kept on purpose (`export` says whether they are on it)',
  skip: 'not read',
};

/** A table cell: pipes escaped so a text cannot break the table. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** 2,592,000 → "30 days", 35 → "35 s". */
function span(seconds: number): string {
  const unit = (n: number, name: string) => `${n.toLocaleString('en-US')} ${name}${n === 1 ? '' : 's'}`;
  if (seconds % 86_400 === 0) return unit(seconds / 86_400, 'day');
  if (seconds % 3_600 === 0) return unit(seconds / 3_600, 'hour');
  if (seconds % 60 === 0) return unit(seconds / 60, 'minute');
  return `${seconds} s`;
}

/** "30 days from the last step (`TRACE_RETENTION_DAYS`)", "by count: …", "until …". */
export function lifetimeText(lifetime: Lifetime, config: Config): string {
  if (lifetime.kind === 'count') return `by count: ${lifetime.bound}`;
  if (lifetime.kind === 'until') return `until ${lifetime.what}`;
  const setting = lifetime.setting ? ` (\`${lifetime.setting}\`)` : '';
  return `${span(lifetime.seconds(config))} from ${lifetime.from}${setting}`;
}

function recordCell(f: RecordFamily): string {
  return `\`${f.shape}\`: ${f.what}${f.legacy ? ' (written by earlier versions only)' : ''}`;
}

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** The generated part of docs/privacy.md, markers included. */
export function renderRecordsSection(config: Config = defaultConfig()): string {
  const families = [...QUEUE_FAMILIES, ...RECORD_FAMILIES];
  const personal = families.filter((f) => f.personalData !== false);
  const none = families.filter((f) => f.personalData === false);
  return [
    BEGIN,
    '',
    table(
      ['record', 'personal data in it', 'how long (default)', 'forget'],
      personal.map((f) => [
        recordCell(f),
        f.personalData as string,
        lifetimeText(f.lifetime, config),
        FORGET[f.treatment],
      ]),
    ),
    '',
    'Records holding no personal data:',
    '',
    table(
      ['record', 'how long (default)', 'forget'],
      none.map((f) => [recordCell(f), lifetimeText(f.lifetime, config), FORGET[f.treatment]]),
    ),
    '',
    END,
  ].join('\n');
}

/** `page` with its generated part replaced by `section`; refuses a page without both markers, in order. */
export function withRecordsSection(page: string, section: string = renderRecordsSection()): string {
  const begin = page.indexOf(BEGIN);
  const end = page.indexOf(END);
  if (begin < 0 || end < begin)
    throw new Error(`docs/privacy.md must hold the markers ${BEGIN} and ${END}, in that order`);
  return page.slice(0, begin) + section + page.slice(end + END.length);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const current = readFileSync(RECORDS_DOCS_PATH, 'utf8');
  const text = withRecordsSection(current);
  if (process.argv.includes('--check')) {
    if (current !== text) {
      console.error('docs/privacy.md is out of step with src/redis/records.ts: run `npm run docs:records`');
      process.exit(1);
    }
  } else {
    writeFileSync(RECORDS_DOCS_PATH, text);
    console.log(`wrote ${RECORDS_DOCS_PATH}`);
  }
}
