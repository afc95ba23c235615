import type { ContactSyncDeps } from './contacts-sync.ts';
import { upsertContacts, type UpsertResult } from './contacts-upsert.ts';
import { EMAIL_STATUS } from './properties.ts';

/** One welcome email status to write: the student's address and the status as it is now. */
export interface StatusWrite {
  email: string;
  status: string;
}

/**
 * Writes welcome email statuses to the students' contacts in batch upserts (up to 100 per request,
 * inside the shared request budget), each under the address course-sync writes that contact under
 * (a secondary or merged address resolves to its contact's primary one). Only the status property
 * and the e-mail are sent, so nothing else of the contact changes. Results by the given address.
 */
export async function writeEmailStatuses(
  deps: Pick<ContactSyncDeps, 'client' | 'call' | 'options' | 'setup' | 'courses'>,
  writes: StatusWrite[],
): Promise<Map<string, UpsertResult>> {
  const out = new Map<string, UpsertResult>();
  if (!writes.length) return out;
  await deps.setup.ensure();
  const targets = await deps.courses.resolve(writes.map((w) => w.email));
  const byTarget = new Map<string, string>();
  writes.forEach((w, i) => byTarget.set(targets[i]!, w.status));
  const inputs = [...byTarget].map(([email, status]) => ({
    idProperty: 'email' as const,
    id: email,
    properties: { email, [EMAIL_STATUS]: status },
  }));
  const results = new Map<string, UpsertResult>();
  // The status is course-sync's own property, sent as it is: the contact mapping (and its constants) is for enrollments.
  const unmapped = { ...deps, mapping: undefined };
  for (let i = 0; i < inputs.length; i += 100)
    for (const [k, v] of await upsertContacts(unmapped, new Map(), inputs.slice(i, i + 100))) results.set(k, v);
  writes.forEach((w, i) => out.set(w.email, results.get(targets[i]!)!));
  return out;
}
