import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One measured figure with what it is compared against. */
export interface Row {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
  /** The baseline or target it is compared with, as printed ("queue.add 4,812 req/s", "target ≤ 25 ms"). */
  versus?: string;
  /** value / baseline (or value / target). */
  ratio?: number;
  /** The pass condition as printed ("≥ 0.80"). */
  goal?: string;
  /** undefined: information only, no target. */
  pass?: boolean;
}

/** The figures of one run, printed as a table and written as JSON. */
export class Report {
  readonly rows: Row[] = [];
  readonly notes: { scenario: string; text: string }[] = [];
  readonly details: Record<string, unknown> = {};

  /** A figure compared with a baseline measured in the same run; passes when ratio ≥ minRatio or ≤ maxRatio (when given). */
  baseline(
    scenario: string,
    metric: string,
    value: number,
    unit: string,
    label: string,
    base: number,
    minRatio?: number,
    maxRatio?: number,
  ): Row {
    const ratio = base > 0 ? value / base : NaN;
    const goal =
      minRatio !== undefined
        ? `≥ ${minRatio.toFixed(2)}`
        : maxRatio !== undefined
          ? `≤ ${maxRatio.toFixed(2)}`
          : undefined;
    const pass = minRatio !== undefined ? ratio >= minRatio : maxRatio !== undefined ? ratio <= maxRatio : undefined;
    return this.add({ scenario, metric, value, unit, versus: `${label} ${fmt(base)} ${unit}`, ratio, goal, pass });
  }

  /** A figure against an absolute target: `min` (value ≥ target) or `max` (value ≤ target). */
  target(scenario: string, metric: string, value: number, unit: string, kind: 'min' | 'max', target: number): Row {
    const op = kind === 'min' ? '≥' : '≤';
    const pass = kind === 'min' ? value >= target : value <= target;
    return this.add({
      scenario,
      metric,
      value,
      unit,
      versus: `target ${op} ${fmt(target)} ${unit}`,
      ratio: target > 0 ? value / target : undefined,
      goal: `${op} 1.00`,
      pass,
    });
  }

  /** A figure printed for information, optionally with what it relates to. */
  info(scenario: string, metric: string, value: number, unit: string, versus?: string, ratio?: number): Row {
    return this.add({ scenario, metric, value, unit, versus, ratio });
  }

  add(row: Row): Row {
    this.rows.push(row);
    return row;
  }

  note(scenario: string, text: string): void {
    this.notes.push({ scenario, text });
  }

  /** The table as aligned plain text (also valid inside a Markdown code block). */
  table(): string {
    const head = ['scenario', 'metric', 'value', 'baseline / target', 'ratio', 'mark'];
    const body = this.rows.map((r) => [
      r.scenario,
      r.metric,
      `${fmt(r.value)} ${r.unit}`.trim(),
      r.versus ?? '',
      r.ratio === undefined || Number.isNaN(r.ratio) ? '' : `${r.ratio.toFixed(2)}${r.goal ? ` (${r.goal})` : ''}`,
      r.pass === undefined ? 'info' : r.pass ? 'PASS' : 'MISS',
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => (i === 2 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join(' | ')
        .trimEnd();
    const out = [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)];
    if (this.notes.length) out.push('', ...this.notes.map((n) => `[${n.scenario}] ${n.text}`));
    return out.join('\n');
  }

  /** Writes rows, notes and details to `file` as JSON. */
  write(file: string, meta: Record<string, unknown>): void {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(
      file,
      JSON.stringify({ ...meta, rows: this.rows, notes: this.notes, details: this.details }, null, 2) + '\n',
    );
  }
}

/** A number as printed: thousands separators, at most 2 decimals (fewer for large values). */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** The p-th percentile (0..100) of `values` (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
