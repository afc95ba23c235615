import { escapeHtml } from '../html.ts';

/** One stacked series of a bar chart: a value per bucket, drawn with a CSS class (admin.css colours it). */
export interface BarSeries {
  name: string;
  values: number[];
  className: string;
}

/** A bar chart drawn on the server as SVG: no script, no library, readable on a phone. */
export interface BarChart {
  title: string;
  /** Start of each bucket (ms since the epoch), oldest first. */
  starts: number[];
  /** Bars stacked per bucket, bottom first. */
  bars: BarSeries[];
  /** A line over the bars on its own scale (e.g. the waiting depth), labelled with its maximum. */
  line?: { name: string; values: number[] };
  /** A horizontal limit on the bars' scale (e.g. the HubSpot budget), labelled. */
  limit?: { name: string; value: number };
  /** Buckets to flag above their bar (e.g. a 429 in them). */
  marks?: { name: string; at: boolean[] };
}

const W = 320;
const H = 120;
const PAD = { left: 4, right: 4, top: 16, bottom: 14 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const fmt = (n: number) => (Number.isInteger(n) ? n.toLocaleString('en') : n.toFixed(1));

/** A round top for the scale: 1, 2, 5 × 10^k at or above `n`. */
export function niceMax(n: number): number {
  if (n <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  return ([1, 2, 5, 10].find((m) => m * p >= n) ?? 10) * p;
}

/** The chart as an SVG element (its text escaped), with a summary for screen readers. */
export function renderBarChart(c: BarChart): string {
  const n = c.starts.length;
  const sums = c.starts.map((_, i) => c.bars.reduce((a, s) => a + (s.values[i] ?? 0), 0));
  const top = niceMax(Math.max(...sums, c.limit?.value ?? 0));
  const y = (v: number) => PAD.top + PLOT_H - (v / top) * PLOT_H;
  const slot = PLOT_W / Math.max(n, 1);
  const barW = Math.max(slot * 0.8, 0.6);
  const rects: string[] = [];
  c.starts.forEach((start, i) => {
    let base = 0;
    const x = (PAD.left + i * slot + (slot - barW) / 2).toFixed(2);
    for (const s of c.bars) {
      const v = s.values[i] ?? 0;
      if (v > 0)
        rects.push(
          `<rect class="${escapeHtml(s.className)}" x="${x}" y="${y(base + v).toFixed(2)}" width="${barW.toFixed(2)}" height="${((v / top) * PLOT_H).toFixed(2)}"><title>${escapeHtml(`${hhmm(start)} ${s.name}: ${fmt(v)}`)}</title></rect>`,
        );
      base += v;
    }
    if (c.marks?.at[i])
      rects.push(
        `<path class="mark" d="M${(PAD.left + i * slot + slot / 2).toFixed(2)} ${(y(base) - 2).toFixed(2)} l-3 -5 h6 z"><title>${escapeHtml(`${hhmm(start)} ${c.marks.name}`)}</title></path>`,
      );
  });
  const parts = [...rects];
  if (c.limit) {
    const ly = y(c.limit.value).toFixed(2);
    parts.push(
      `<line class="limit" x1="${PAD.left}" x2="${W - PAD.right}" y1="${ly}" y2="${ly}"/><text class="axis" x="${W - PAD.right}" y="${(Number(ly) - 2).toFixed(2)}" text-anchor="end">${escapeHtml(`${c.limit.name} ${fmt(c.limit.value)}`)}</text>`,
    );
  }
  let lineNote = '';
  if (c.line) {
    const lmax = niceMax(Math.max(...c.line.values, 0));
    const pts = c.line.values.map(
      (v, i) => `${(PAD.left + i * slot + slot / 2).toFixed(2)},${(PAD.top + PLOT_H - (v / lmax) * PLOT_H).toFixed(2)}`,
    );
    if (pts.length) parts.push(`<polyline class="line" points="${pts.join(' ')}"/>`);
    lineNote = ` · ${c.line.name} (line, max ${fmt(Math.max(...c.line.values, 0))})`;
  }
  const totals = c.bars.map((s) => `${fmt(s.values.reduce((a, b) => a + b, 0))} ${s.name}`).join(', ');
  const label = `${c.title}: ${totals}${c.marks?.at.some(Boolean) ? `; ${c.marks.name} in ${c.marks.at.filter(Boolean).length} bucket(s)` : ''}`;
  const legend = c.bars
    .map((s) => `<span class="swatch ${escapeHtml(s.className)}"></span>${escapeHtml(s.name)}`)
    .join(' ');
  return `<figure class="chart"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(label)}" preserveAspectRatio="none"><title>${escapeHtml(label)}</title>
<text class="axis" x="${PAD.left}" y="10">${escapeHtml(fmt(top))}</text>
<line class="axis-line" x1="${PAD.left}" x2="${W - PAD.right}" y1="${PAD.top + PLOT_H}" y2="${PAD.top + PLOT_H}"/>
${parts.join('')}
<text class="axis" x="${PAD.left}" y="${H - 2}">${n ? hhmm(c.starts[0]!) : ''}</text><text class="axis" x="${W - PAD.right}" y="${H - 2}" text-anchor="end">now (UTC)</text>
</svg><figcaption>${escapeHtml(c.title)} · <span class="legend">${legend}</span>${escapeHtml(lineNote)}</figcaption></figure>`;
}
