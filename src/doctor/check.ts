/**
 * What one doctor check found: `ok`; `problem` (course-sync will not work right until fixed);
 * `unknown` (could not be checked with the access given); `skipped` (does not apply here).
 */
export type CheckStatus = 'ok' | 'problem' | 'unknown' | 'skipped';

export interface CheckResult {
  /** What was checked, e.g. "Redis eviction policy". */
  name: string;
  status: CheckStatus;
  /** What was found, in a few words. */
  detail: string;
  /** How to fix it (problems and unknowns). */
  fix?: string;
}

/** Shorthand constructors, so checks read as sentences. */
export const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
export const problem = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  status: 'problem',
  detail,
  fix,
});
export const unknown = (name: string, detail: string, fix?: string): CheckResult => ({
  name,
  status: 'unknown',
  detail,
  fix,
});
export const skipped = (name: string, detail: string): CheckResult => ({ name, status: 'skipped', detail });

/** One line per result (and an indented fix line), aligned for a terminal. */
export function formatResults(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  return results
    .map((r) => {
      const line = `${r.status.padEnd(7)} ${r.name.padEnd(width)}  ${r.detail}`;
      return r.fix ? `${line}\n${' '.repeat(8)}fix: ${r.fix}` : line;
    })
    .join('\n');
}
