import { startHubSpotEmulator, type HubSpotEmulator } from '../../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../../src/emulators/sendgrid/index.ts';

/** The HubSpot emulator in this process with a burst limit (undefined = none), and the env that points a service at it. */
export async function hubspot(
  limit: number | undefined,
  budget = limit ?? 1_000_000,
): Promise<{ emulator: HubSpotEmulator; env: Record<string, string> }> {
  const emulator = await startHubSpotEmulator({ requestsPer10s: limit });
  return {
    emulator,
    env: {
      HUBSPOT_BASE_URL: emulator.url,
      HUBSPOT_ACCESS_TOKEN: emulator.token,
      HUBSPOT_REQUESTS_PER_10S: String(budget),
    },
  };
}

/** The SendGrid emulator in this process, and the env that points a service at it. */
export async function sendgrid(): Promise<{ emulator: SendGridEmulator; env: Record<string, string> }> {
  const emulator = await startSendGridEmulator();
  return { emulator, env: { SENDGRID_BASE_URL: emulator.url, SENDGRID_API_KEY: emulator.apiKey } };
}

/** The most requests that arrived in any rolling `windowMs` (times in ms, any order). */
export function maxInWindow(times: number[], windowMs = 10_000): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}
