/** What the account endpoints report (the emulator's API key scopes, senders awaiting verification). */
export interface AccountOptions {
  /** Scopes of the API key, answered by GET /v3/scopes; default `["mail.send"]`. */
  scopes?: string[];
  /** Single senders created but not verified yet: listed with `verified: false`; mail from them answers 403. */
  pendingSenders?: string[];
}

/** The part of the emulator's state the account endpoints read. */
export interface AccountState {
  apiKey: string;
  verifiedSenders?: Set<string>;
  account: AccountOptions;
}

/** A JSON answer of an account endpoint. */
export interface AccountAnswer {
  status: number;
  body: unknown;
}

const PATHS = ['/v3/scopes', '/v3/verified_senders', '/v3/whitelabel/domains'];

function error(status: number, message: string): AccountAnswer {
  return { status, body: { errors: [{ field: null, message }] } };
}

/** A Single Sender as GET /v3/verified_senders lists it. */
function sender(id: number, email: string, verified: boolean) {
  return {
    id,
    nickname: email,
    from_email: email,
    from_name: '',
    reply_to: email,
    reply_to_name: '',
    address: '',
    address2: '',
    state: '',
    city: '',
    zip: '',
    country: '',
    verified,
    locked: false,
  };
}

/** An authenticated domain as GET /v3/whitelabel/domains lists it. */
function domain(id: number, name: string) {
  return {
    id,
    user_id: 1,
    subdomain: 'em',
    domain: name,
    username: 'emulator',
    ips: [],
    custom_spf: false,
    default: false,
    legacy: false,
    automatic_security: true,
    valid: true,
    dns: {},
  };
}

/**
 * GET /v3/scopes, /v3/verified_senders and /v3/whitelabel/domains, as `course-sync doctor` reads
 * them: verified senders are the addresses of `verifiedSenders`, authenticated domains its
 * `@domain` entries. Undefined for any other path.
 */
export function accountAnswer(
  state: AccountState,
  method: string,
  path: string,
  authorization: string | undefined,
): AccountAnswer | undefined {
  if (!PATHS.includes(path)) return undefined;
  if (!authorization) return error(401, 'authorization required');
  if (authorization !== `Bearer ${state.apiKey}`)
    return error(401, 'The provided authorization grant is invalid, expired, or revoked');
  if (method !== 'GET') return error(405, 'method not allowed');
  const entries = [...(state.verifiedSenders ?? [])];
  if (path === '/v3/scopes') return { status: 200, body: { scopes: state.account.scopes ?? ['mail.send'] } };
  if (path === '/v3/verified_senders') {
    const verified = entries.filter((e) => !e.startsWith('@')).map((e, i) => sender(i + 1, e, true));
    const pending = (state.account.pendingSenders ?? []).map((e, i) =>
      sender(verified.length + i + 1, e.toLowerCase(), false),
    );
    return { status: 200, body: { results: [...verified, ...pending] } };
  }
  return { status: 200, body: entries.filter((e) => e.startsWith('@')).map((e, i) => domain(i + 1, e.slice(1))) };
}
