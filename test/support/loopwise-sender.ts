import { setTimeout as sleep } from 'node:timers/promises';
import { enrollEvent, postSigned } from './faults.ts';

/** One answer to one POST of an enrollment: its status (0: no answer), when it was sent and answered. */
export interface Answer {
  status: number;
  sentAt: number;
  answeredAt: number;
  /** Why there was no answer (status 0). */
  error?: string;
}

/** Every answer each enrollment got, in order; the last one of a finished enrollment is its 2xx. */
export type Deliveries = Map<string, Answer[]>;

export const isAck = (status: number) => status === 202 || status === 200;

/**
 * Loopwise as the fault tests model it: `ids` delivered by `senders` concurrent loops, each
 * enrollment posted until it is answered 2xx — after a 503 or no answer it is posted again after
 * `retryMs` (the sender's back-off) — and never posted again after a 2xx. `onAck` hears of each 2xx
 * as it arrives (with the count so far). Gives up (rejects) on an enrollment after `maxTries`.
 */
export function deliver(
  base: string,
  ids: string[],
  opts: { senders: number; retryMs: number; maxTries: number; onAck?: (acked: number) => void },
): { deliveries: Deliveries; done: Promise<Deliveries> } {
  const deliveries: Deliveries = new Map(ids.map((id) => [id, []]));
  let next = 0;
  let acked = 0;
  const loop = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      const answers = deliveries.get(id)!;
      for (;;) {
        const sentAt = Date.now();
        const r = await postSigned(base, enrollEvent(id), 10_000);
        const status = r.status;
        answers.push({ status, sentAt, answeredAt: Date.now(), ...('error' in r ? { error: r.error } : {}) });
        if (isAck(status)) {
          opts.onAck?.(++acked);
          break;
        }
        if (answers.length >= opts.maxTries)
          throw new Error(`${id}: no 2xx after ${answers.length} tries (last ${status})`);
        await sleep(opts.retryMs);
      }
    }
  };
  const done = Promise.all(Array.from({ length: opts.senders }, loop)).then(() => deliveries);
  return { deliveries, done };
}

/** How many enrollments have been answered 2xx so far. */
export function ackedCount(deliveries: Deliveries): number {
  let n = 0;
  for (const answers of deliveries.values()) if (answers.some((a) => isAck(a.status))) n++;
  return n;
}

/** The figures of a run: answers by kind, refusals and how the retries after a refusal were answered, recovery after `killedAt`. */
export function summarise(deliveries: Deliveries, killedAt: number) {
  const all = [...deliveries.values()].flat();
  const refusals = all.filter((a) => !isAck(a.status));
  const afterKill = all
    .filter((a) => a.sentAt >= killedAt && isAck(a.status))
    .sort((a, b) => a.answeredAt - b.answeredAt);
  let retriedDuplicate = 0;
  let retriedAccepted = 0;
  for (const answers of deliveries.values()) {
    const last = answers.at(-1);
    if (answers.length < 2 || !last) continue;
    if (last.status === 200) retriedDuplicate++;
    else if (last.status === 202) retriedAccepted++;
  }
  const firstAck = Math.min(...all.filter((a) => isAck(a.status)).map((a) => a.answeredAt));
  const ackedBeforeKill = [...deliveries.values()].filter((a) =>
    a.some((x) => isAck(x.status) && x.answeredAt < killedAt),
  ).length;
  return {
    posts: all.length,
    /** 2xx a second before the kill: how fast webhooks were being taken. */
    ackRatePerS: Math.round((ackedBeforeKill * 1000) / Math.max(1, killedAt - firstAck)),
    ackedBeforeKill,
    refused503: refusals.filter((a) => a.status === 503).length,
    unanswered: refusals.filter((a) => a.status === 0).length,
    unansweredWhy: [...new Set(refusals.filter((a) => a.status === 0).map((a) => a.error))].join(','),
    otherStatus: all.filter((a) => !isAck(a.status) && a.status !== 503 && a.status !== 0).length,
    slowestRefusalMs: Math.max(0, ...refusals.map((a) => a.answeredAt - a.sentAt)),
    /** Refused at least once, then answered 200 duplicate: the refused write had landed and survived. */
    retriedDuplicate,
    /** Refused at least once, then answered 202: the refused write was lost (or never made) and is taken now. */
    retriedAccepted,
    recoverMs: afterKill[0] ? afterKill[0].answeredAt - killedAt : undefined,
  };
}
