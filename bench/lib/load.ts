import autocannon, { type AutocannonRequest, type Result } from 'autocannon';
import { enrollBody, signedHeaders } from './enrollments.ts';

/** One autocannon load of signed enrollments. */
export interface LoadOptions {
  url: string;
  connections: number;
  /** Seconds; ignored when `amount` is given. */
  duration?: number;
  amount?: number;
  overallRate?: number;
  /** Makes the enrollment ids and e-mails of this load distinct from every other load. */
  tag: string;
  /** First enrollment number (so a warm-up and the measured run never repeat an id). */
  from?: number;
}

/** Posts signed seed enrollments, each with its own enrollment id and e-mail, with autocannon. */
export async function postEnrollments(opts: LoadOptions): Promise<Result & { sentIds: number }> {
  let next = opts.from ?? 0;
  const request: AutocannonRequest = {
    method: 'POST',
    path: '/webhooks/loopwise',
    setupRequest: (req) => {
      const body = enrollBody(opts.tag, next++);
      return { ...req, method: 'POST', path: '/webhooks/loopwise', body, headers: signedHeaders(body) };
    },
  };
  const given = { duration: opts.duration, amount: opts.amount, overallRate: opts.overallRate };
  // autocannon treats a key set to undefined as given, so only defined ones are passed.
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const result = await autocannon({
    url: opts.url,
    connections: opts.connections,
    timeout: 30,
    requests: [request],
    ...defined,
  });
  return Object.assign(result, { sentIds: next - (opts.from ?? 0) });
}

/** Status code counts of an autocannon result, e.g. { "202": 41000, "200": 50 }. */
export function statusCounts(result: Result): Record<string, number> {
  return Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]));
}
