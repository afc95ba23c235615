import type { BenchContext } from '../lib/context.ts';
import { drainContacts, type ContactDrain } from '../lib/contacts-drain.ts';
import { cpuLine } from '../lib/drain.ts';
import { contactRows } from './contacts.ts';

const S = '6 scale-out';

/**
 * Scenario 6: the contact drain with two worker processes. At 100 requests / 10 s the shared
 * budget must hold (the emulator never sees more than its limit); with the limit lifted, the
 * throughput of two processes against one.
 */
export async function scaleOut(ctx: BenchContext): Promise<void> {
  const n = ctx.quick ? 5_000 : 20_000;
  const limited = await drainContacts(ctx, { limit: 100, n, processes: 2, name: 'so100' });
  contactRows(ctx, S, '2 procs @100/10s', 100, limited);

  const free = ctx.quick ? 5_000 : 20_000;
  const one = await drainContacts(ctx, { limit: undefined, n: free, processes: 1, name: 'sofree1' });
  const two = await drainContacts(ctx, { limit: undefined, n: free, processes: 2, name: 'sofree2' });
  const r = ctx.report;
  r.info(S, 'contacts/s no limit, 1 process', one.rate, '/s');
  r.baseline(S, 'contacts/s no limit, 2 processes', two.rate, '/s', '1 process', one.rate);
  r.baseline(
    S,
    'CPU per contact (workers + Redis), 2 procs',
    cpuPerContact(two),
    'µs',
    '1 process',
    cpuPerContact(one),
  );
  r.target(S, 'lost contacts (no limit runs)', one.lost + one.deadLetters + two.lost + two.deadLetters, '', 'max', 0);
  r.note(S, `no limit, 1 process: CPU share of one core ${cpuLine(one.cpu)}`);
  r.note(S, `no limit, 2 processes: CPU share of one core ${cpuLine(two.cpu)}`);
  r.details.scaleOut = { limited, one, two };
}

/** CPU time (µs) the worker processes and Redis spent per contact during a drain. */
function cpuPerContact(d: ContactDrain): number {
  const cores = Object.entries(d.cpu)
    .filter(([n]) => n === 'redis' || n.includes('-worker'))
    .reduce((sum, [, s]) => sum + s, 0);
  return (cores * d.drainSeconds * 1e6) / (d.n + d.warm);
}
