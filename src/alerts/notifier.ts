/** Sends one alert message; throws when it was not delivered. */
export type Notify = (text: string) => Promise<void>;

const TIMEOUT_MS = 5_000;

/**
 * Posts `{"text": ...}` — the body of a Slack incoming webhook, which Mattermost, Rocket.Chat,
 * Discord's /slack endpoint and most chat tools accept too — to `url`. Any non-2xx is an error.
 */
export function webhookNotifier(url: string, timeoutMs = TIMEOUT_MS): Notify {
  return async (text) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`alert webhook answered ${res.status}`);
  };
}
