import type { TextSink } from './io.ts';

/** Counts of a backfill run so far. */
export interface Tally {
  lines: number;
  accepted: number;
  duplicate: number;
  ignored: number;
  invalid: number;
  failed: number;
}

const WIDTH = 24;

/** One line of progress: a bar when the total is known (bytes of a file), counts always. */
export function renderProgress(tally: Tally, doneBytes: number, totalBytes?: number): string {
  const counts = `${tally.lines} lines · ${tally.accepted} accepted · ${tally.duplicate} duplicate · ${tally.invalid} invalid · ${tally.failed} failed`;
  if (!totalBytes) return counts;
  const ratio = Math.min(1, doneBytes / totalBytes);
  const filled = Math.round(ratio * WIDTH);
  return `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% ${counts}`;
}

/**
 * A progress line redrawn in place on a terminal, at most every `everyMs`; does nothing when the
 * stream is not a TTY (a pipe or a log file gets only the final summary).
 */
export class ProgressLine {
  private last = 0;

  constructor(
    private readonly stream: TextSink,
    private readonly everyMs = 100,
  ) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  /** Redraws the line if enough time passed (or `force`). */
  update(text: string, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < this.everyMs) return;
    this.last = now;
    const width = this.stream.columns || 120;
    this.stream.write(`\r${text.slice(0, width - 1).padEnd(width - 1)}`);
  }

  /** Leaves the terminal on a fresh line. */
  end(text: string): void {
    if (!this.enabled) return;
    this.update(text, true);
    this.stream.write('\n');
  }
}
