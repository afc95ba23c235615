import { DailyCounter, DEFAULT_DAILY_LIMIT, nextPortalMidnight, utcOffsetMs, type DayDecision } from './daily-limit.ts';
import type { RouteAnswer } from './http.ts';

/** The emulated portal: who it is, its time zone and its daily API limit. */
export interface PortalOptions {
  /** Default 12345678. */
  portalId?: number;
  /** IANA name (default "US/Eastern", what HubSpot's documentation shows); the daily count starts again at its midnight. */
  timeZone?: string;
  /** Calls allowed a day (default 250,000, Free/Starter); undefined: no daily limit and no daily headers. */
  dailyLimit?: number;
  /**
   * Whether the account-info endpoints still answer once the daily limit is reached. HubSpot's
   * documentation does not say (only that a call to the usage endpoint counts against the limit):
   * `refused` (default) answers 429 DAILY like any other call; `answered` serves them anyway.
   */
  accountInfoOverDailyLimit?: 'refused' | 'answered';
}

const ACCOUNT_INFO = '/account-info/';

/**
 * The portal behind the emulator, with HubSpot's account information endpoints:
 * `GET /account-info/v3/details` and `GET /account-info/v3/api-usage/daily/private-apps`, shaped as
 * developers.hubspot.com/docs/api-reference/legacy/account/account-information/ shows them
 * (account details; retrieve private app daily API usage).
 */
export class PortalAccount {
  readonly daily: DailyCounter;
  readonly portalId: number;
  readonly timeZone: string;

  constructor(
    private readonly opts: PortalOptions,
    private readonly now: () => number,
  ) {
    this.portalId = opts.portalId ?? 12_345_678;
    this.timeZone = opts.timeZone ?? 'US/Eastern';
    this.daily = new DailyCounter('dailyLimit' in opts ? opts.dailyLimit : DEFAULT_DAILY_LIMIT, this.timeZone);
  }

  /** Whether a request to `path` may go now, past the daily limit or not (not counted yet). */
  check(path: string): DayDecision {
    const d = this.daily.check(this.now());
    if (!d.allowed && path.startsWith(ACCOUNT_INFO) && this.opts.accountInfoOverDailyLimit === 'answered')
      return { ...d, allowed: true };
    return d;
  }

  /** `GET /account-info/v3/details`. */
  details(): RouteAnswer {
    const offset = utcOffsetMs(this.timeZone, this.now());
    const abs = Math.abs(offset) / 60_000;
    const utcOffset = `${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    return {
      status: 200,
      body: {
        portalId: this.portalId,
        accountType: 'STANDARD',
        timeZone: this.timeZone,
        companyCurrency: 'USD',
        additionalCurrencies: [],
        utcOffset,
        utcOffsetMilliseconds: offset,
        uiDomain: 'app.hubspot.com',
        dataHostingLocation: 'na1',
      },
    };
  }

  /** `GET /account-info/v3/api-usage/daily/private-apps`: today's calls, the limit, and when the count starts again. */
  dailyUsage(): RouteAnswer {
    const now = this.now();
    return {
      status: 200,
      body: {
        results: [
          {
            name: 'private-apps-api-calls-daily',
            usageLimit: this.daily.max ?? 0,
            currentUsage: this.daily.usage(now),
            collectedAt: new Date(now).toISOString(),
            fetchStatus: 'SUCCESS',
            resetsAt: new Date(this.daily.exhaustedTill(now) ?? nextPortalMidnight(this.timeZone, now)).toISOString(),
          },
        ],
      },
    };
  }
}
