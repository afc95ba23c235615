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
  /**
   * A call to the records, properties or associations of an object library object (the Courses
   * object, 0-410) that is not active in the portal. HubSpot documents that the object "must be
   * activated in the HubSpot account to manage course records" and that an app "will need the
   * corresponding object scopes", not the answer:
   * - `missing-scopes-403` (default): 403 MISSING_SCOPES, the answer HubSpot gives a token without
   *   an object's scopes (HubSpot/hubspot-api-nodejs issues 50 and 268 show the body): an inactive
   *   object's scopes cannot be granted;
   * - `unknown-type-400`: 400 "Unable to infer object type from: 0-410", what the object APIs
   *   answer for an object type the portal does not have.
   */
  inactiveObject: 'missing-scopes-403' | 'unknown-type-400';
  /**
   * A v4 association whose record does not exist (deleted by hand). The reference lists a 207-like
   * body with `errors[]` for batch association calls but not this case:
   * - `record-207` (default): that input is refused (VALIDATION_ERROR "<Object>=<id> is not valid",
   *   the ids in `context`), the others associated;
   * - `batch-400`: the whole batch refused with that message, nothing associated.
   */
  associationMissing: 'record-207' | 'batch-400';
  /**
   * Whether the v4 association inputs may carry `objectWriteTraceId` (the v4 spec's input has only
   * `from` and `to`; HubSpot's error-handling guide asks for a trace id on every batch input):
   * - `accepted` (default): taken, and echoed in the `context` of an input's error;
   * - `refused`: 400 "Invalid input JSON ...: Unrecognized field "objectWriteTraceId"" for the batch,
   *   as Jackson-backed endpoints answer an unknown field.
   */
  associationTraceIds: 'accepted' | 'refused';
}

export const DEFAULT_BEHAVIOUR: HubSpotBehaviour = {
  allMissingRead: '404',
  invalidValues: 'batch-400',
  secondaryEmail: 'conflict-409',
  multiStatus: 'trace-id',
  inactiveObject: 'missing-scopes-403',
  associationMissing: 'record-207',
  associationTraceIds: 'accepted',
};
