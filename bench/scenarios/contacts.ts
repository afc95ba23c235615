import type { BenchContext } from '../lib/context.ts';
import { drainContacts, type ContactDrain } from '../lib/contacts-drain.ts';
import { cpuLine } from '../lib/drain.ts';

const S = '2 contacts';

/** The rows every contact drain prints: rate against the ceiling, 429s, lost contacts. */
export function contactRows(ctx: BenchContext, scenario: string, label: string, limit: number, d: ContactDrain): void {
  const r = ctx.report;
  const ceiling = (limit * 100) / 10;
  r.baseline(scenario, `contacts/s ${label}`, d.rate, '/s', `ceiling ${limit}×100/10s`, ceiling, 0.9);
  r.baseline(scenario, `  same, from resume (warm-up incl.) ${label}`, d.rawRate, '/s', 'ceiling', ceiling);
  r.add({
    scenario,
    metric: `429s / upsert calls ${label}`,
    value: d.tooMany,
    unit: `of ${d.calls}`,
    versus: 'target ≤ 1 % of calls',
    ratio: d.calls ? d.tooMany / d.calls : 0,
    goal: '≤ 0.01',
    pass: d.calls > 0 && d.tooMany / d.calls <= 0.01,
  });
  r.target(scenario, `max requests in a rolling 10 s ${label}`, d.maxPer10s, 'req', 'max', limit);
  r.target(scenario, `lost contacts ${label}`, d.lost + d.deadLetters, '', 'max', 0);
  r.note(
    scenario,
    `${label}: ${d.warm} warm-up + ${d.n} measured contacts in ${d.seconds.toFixed(1)} s; CPU share of one core: ${cpuLine(d.cpu)}`,
  );
}

/**
 * Scenario 2: N ≥ 20,000 distinct students queued on `crm-contacts`, drained by one worker
 * process through the HubSpot emulator at 100 and at 190 requests / 10 s.
 */
export async function contacts(ctx: BenchContext): Promise<void> {
  const n = ctx.quick ? 5_000 : 20_000;
  const results: Record<string, ContactDrain> = {};
  for (const limit of [100, 190]) {
    const d = await drainContacts(ctx, { limit, n, processes: 1, name: `c${limit}` });
    contactRows(ctx, S, `@${limit}/10s`, limit, d);
    results[`limit${limit}`] = d;
  }
  const last = results.limit190!;
  ctx.report.target(S, 'completed jobs kept after the drain', last.completedKept, 'jobs', 'max', last.completedKeep);
  ctx.report.details.contacts = results;
}
