import type { BudgetClock } from '../../src/hubspot/request-budget.ts';

/**
 * Time that moves only when the test advances it or a budget sleeps on it (a sleep moves it on by
 * the time asked and returns at once), so nothing races the wall clock, however busy the machine.
 * Given to the HubSpot emulator too, a request arrives at the very instant it was granted.
 * Meant for one waiter at a time: two sleeping together would each move it on.
 */
export class TestClock implements BudgetClock {
  constructor(private t = 1_700_000_000_000) {}
  readonly now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
  /** Moves to `iso` (never back). */
  set(iso: string): void {
    this.t = Math.max(this.t, Date.parse(iso));
  }
  readonly sleep = async (ms: number, signal?: AbortSignal) => {
    signal?.throwIfAborted();
    this.t += ms;
  };
}
