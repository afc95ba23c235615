/**
 * How the emulator answers where HubSpot's documentation is silent and integrators report one
 * behaviour or another. course-sync must be right either way, so its tests run against each.
 * The defaults are what the sources make most likely (docs/emulators.md).
 */
export interface HubSpotBehaviour {
  /**
   * A batch read in which no id exists. `404`: OBJECT_NOT_FOUND for the whole call, as integrators
   * report (e.g. a reverse-ETL HubSpot destination handles "a chunk whose keys are all absent comes
   * back 404"); `207`: an empty `results` with one OBJECT_NOT_FOUND error, as when only some are missing.
   */
  allMissingRead: '404' | '207';
  /**
   * A batch upsert naming a property that does not exist or a value that is not an option.
   * `batch-400`: the whole call is refused (what HubSpot documents for invalid input);
   * `record-207`: each such record gets its own VALIDATION_ERROR and the others are written.
   */
  invalidValues: 'batch-400' | 'record-207';
  /**
   * A contact batch upsert by an e-mail that another contact holds as a secondary address
   * (`hs_additional_emails`, also where a merge put the merged contact's address):
   * - `conflict-409` (default): the whole call is refused with 409 CONFLICT "Contact already exists.
   *   Existing ID: <id>", a body naming the contact and not the address (identities.ts). The v3 lookup
   *   by `idProperty=email` sees primary addresses only (an update by e-mail answers 404 for a
   *   secondary one), so the upsert takes the create path, and creating a contact with an address
   *   HubSpot already knows is a 409 naming the existing id (Segment's HubSpot docs, RudderStack's
   *   search fix for `hs_additional_emails`, HubSpot's client issues); batch create answers that for
   *   the whole batch, naming the first conflict only.
   * - `conflict-207`: the same conflict, reported for that record in a 207 (under `multiStatus`'s rule).
   * - `update`: the contact holding the address is updated, and the address sent as `email` becomes
   *   its primary one (the former primary kept as a secondary), as integrators of the older
   *   create-or-update endpoint and HubSpot's forms report.
   * No source reports that the API creates a second contact for an address HubSpot already holds.
   */
  secondaryEmail: 'conflict-409' | 'conflict-207' | 'update';
  /**
   * When a batch write answers per record (207) instead of refusing the whole call:
   * - `trace-id` (default): only when every input that failed carries an `objectWriteTraceId`
   *   unique in the request; otherwise the first failure refuses the whole batch (400, or 409 for a
   *   conflict) and nothing is written. HubSpot's error-handling guide ("Multi-status errors":
   *   "include a unique objectWriteTraceId value for each input") makes 207 depend on it.
   * - `always`: a 207 whatever the inputs carry (what upsert may do too: the guide names batch
   *   create only, and no public report settles it; course-sync must be right either way).
   * - `never`: the whole batch refused even with trace ids (a portal where upsert has no
   *   multi-status handling; course-sync falls back to narrowing the batch down).
   */
  multiStatus: 'trace-id' | 'always' | 'never';
}

export const DEFAULT_BEHAVIOUR: HubSpotBehaviour = {
  allMissingRead: '404',
  invalidValues: 'batch-400',
  secondaryEmail: 'conflict-409',
  multiStatus: 'trace-id',
};
