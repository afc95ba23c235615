/** What the soak (bench/soak.ts) samples every 10 s, and how it shows it: a table, slopes after warm-up, an SVG chart. */

export interface SoakSample {
  /** Seconds since the flow started. */
  t: number;
  receiverRss: number;
  receiverHeap: number;
  receiverEldP99: number;
  workerRss: number;
  workerHeap: number;
  workerEldP99: number;
  redisMemory: number;
  /** Keys without a TTL (bounded by count, or a leak): INFO keyspace's keys − expires. */
  redisLasting: number;
  /** Jobs waiting, active, delayed or prioritized in the work queues. */
  queueDepth: number;
  /** Since the previous sample. */
  posted: number;
  hubspotRequests: number;
  hubspot429: number;
  hubspotFaults: number;
  emails: number;
}

/** The figures a slope is computed for, with their unit as shown. */
export const FIGURES: { key: keyof SoakSample; label: string; unit: 'MB' | 'ms' | 'jobs' | 'keys' }[] = [
  { key: 'receiverRss', label: 'receiver RSS', unit: 'MB' },
  { key: 'receiverHeap', label: 'receiver heap used', unit: 'MB' },
  { key: 'receiverEldP99', label: 'receiver event-loop delay p99', unit: 'ms' },
  { key: 'workerRss', label: 'worker RSS', unit: 'MB' },
  { key: 'workerHeap', label: 'worker heap used', unit: 'MB' },
  { key: 'workerEldP99', label: 'worker event-loop delay p99', unit: 'ms' },
  { key: 'redisMemory', label: 'Redis used_memory', unit: 'MB' },
  { key: 'redisLasting', label: 'Redis keys without a TTL', unit: 'keys' },
  { key: 'queueDepth', label: 'queue depth', unit: 'jobs' },
];

const MB = 1024 * 1024;
const shown = (value: number, unit: string) => (unit === 'MB' ? value / MB : value);

export interface Slope {
  label: string;
  unit: string;
  /** Mean after warm-up, in the unit. */
  mean: number;
  /** Least-squares slope after warm-up, in the unit per 10 minutes, and as % of the mean per 10 minutes. */
  per10min: number;
  percentPer10min: number;
}

/** Least-squares slope of `ys` over `xs`. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den ? num / den : 0;
}

/** Each figure's slope over the samples taken after `warmupSeconds`. */
export function slopes(samples: SoakSample[], warmupSeconds: number): Slope[] {
  const after = samples.filter((s) => s.t >= warmupSeconds);
  return FIGURES.map(({ key, label, unit }) => {
    const ys = after.map((s) => shown(s[key], unit));
    const mean = ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : 0;
    const per10min =
      slope(
        after.map((s) => s.t),
        ys,
      ) * 600;
    return { label, unit, mean, per10min, percentPer10min: mean ? (per10min / mean) * 100 : 0 };
  });
}

const pad = (v: string | number, n: number) => String(v).padStart(n);
const mb = (b: number) => (b / MB).toFixed(1);

/** The samples as a text table, one line per 10 s. */
export function table(samples: SoakSample[]): string[] {
  const head = [
    't s',
    'posted',
    'rcv RSS',
    'rcv heap',
    'rcv eld99',
    'wrk RSS',
    'wrk heap',
    'wrk eld99',
    'redis MB',
    'no-TTL',
    'depth',
    'HS req',
    'HS 429',
    'HS fault',
    'emails',
  ];
  const widths = head.map((h) => Math.max(h.length, 7));
  const line = (cells: (string | number)[]) => cells.map((c, i) => pad(c, widths[i]!)).join(' ');
  return [
    line(head),
    ...samples.map((s) =>
      line([
        s.t,
        s.posted,
        mb(s.receiverRss),
        mb(s.receiverHeap),
        s.receiverEldP99.toFixed(1),
        mb(s.workerRss),
        mb(s.workerHeap),
        s.workerEldP99.toFixed(1),
        mb(s.redisMemory),
        s.redisLasting,
        s.queueDepth,
        s.hubspotRequests,
        s.hubspot429,
        s.hubspotFaults,
        s.emails,
      ]),
    ),
  ];
}

/**
 * What Redis grows by per enrollment posted after the warm-up (least squares of used_memory over the
 * enrollments posted so far): its records live days (Performance → Redis needed for N enrollments a
 * day), so used_memory grows all through a soak of minutes, by design; a leak shows as this figure
 * growing from one run to a longer one, or above the footprint bench's.
 */
export function redisPerEnrollment(samples: SoakSample[], warmupSeconds: number): number {
  let total = 0;
  const points = samples
    .map((s) => ({ t: s.t, posted: (total += s.posted), memory: s.redisMemory }))
    .filter((p) => p.t >= warmupSeconds);
  return slope(
    points.map((p) => p.posted),
    points.map((p) => p.memory),
  );
}

/** The slopes as text lines. */
export function slopeLines(list: Slope[]): string[] {
  return list.map(
    (s) =>
      `${s.label.padEnd(32)} mean ${s.mean.toFixed(2).padStart(9)} ${s.unit.padEnd(4)} slope ${s.per10min >= 0 ? '+' : ''}${s.per10min.toFixed(3)} ${s.unit}/10 min (${s.percentPer10min >= 0 ? '+' : ''}${s.percentPer10min.toFixed(2)} %/10 min)`,
  );
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** An SVG chart: one small panel per figure, the warm-up shaded, min and max on the axis. */
export function chart(samples: SoakSample[], warmupSeconds: number, title: string): string {
  const [pw, ph, cols] = [420, 150, 2];
  const rows = Math.ceil(FIGURES.length / cols);
  const [W, H] = [cols * pw + 20, rows * ph + 50];
  const tMax = Math.max(1, ...samples.map((s) => s.t));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14">${esc(title)}</text>`,
  ];
  FIGURES.forEach(({ key, label, unit }, i) => {
    const [x0, y0] = [10 + (i % cols) * pw + 50, 40 + Math.floor(i / cols) * ph];
    const [w, h] = [pw - 70, ph - 45];
    const ys = samples.map((s) => shown(s[key], unit));
    const [lo, hi] = [Math.min(0, ...ys), Math.max(1e-9, ...ys)];
    const px = (t: number) => x0 + (t / tMax) * w;
    const py = (v: number) => y0 + 15 + h - ((v - lo) / (hi - lo)) * h;
    parts.push(`<text x="${x0}" y="${y0 + 10}">${esc(label)} (${unit})</text>`);
    parts.push(
      `<rect x="${x0}" y="${y0 + 15}" width="${px(Math.min(warmupSeconds, tMax)) - x0}" height="${h}" fill="#eee"/>`,
    );
    parts.push(`<rect x="${x0}" y="${y0 + 15}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
    parts.push(
      `<text x="${x0 - 4}" y="${y0 + 19}" text-anchor="end">${hi.toFixed(1)}</text><text x="${x0 - 4}" y="${y0 + 15 + h}" text-anchor="end">${lo.toFixed(1)}</text>`,
    );
    parts.push(`<text x="${x0 + w}" y="${y0 + 27 + h}" text-anchor="end">${Math.round(tMax / 60)} min</text>`);
    parts.push(
      `<polyline fill="none" stroke="#1f6fb4" stroke-width="1.5" points="${samples.map((s, j) => `${px(s.t).toFixed(1)},${py(ys[j]!).toFixed(1)}`).join(' ')}"/>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
