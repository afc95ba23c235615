// How long ago, in the words ops type: `course-sync dlq purge <queue> --older-than 7d` and the console's
// `{"olderThan": "7d"}` read durations the same way, so the parsing sits on the ground both stand on.
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** A duration such as "30m", "12h" or "7d" could not be read; the message shows the accepted forms. */
export class DurationError extends Error {
  constructor(text: string) {
    super(`"${text}" is not a duration: use a whole number and a unit, e.g. 45s, 30m, 12h, 7d, 2w`);
    this.name = 'DurationError';
  }
}

/** Reads "45s", "30m", "12h", "7d" or "2w" as milliseconds; throws DurationError otherwise. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d{1,6})\s*([smhdw])\s*$/i.exec(text);
  if (!m) throw new DurationError(text);
  return Number(m[1]) * UNIT_MS[m[2]!.toLowerCase() as keyof typeof UNIT_MS];
}
