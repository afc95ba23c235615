/** The HubSpot emulator: start it, point `HUBSPOT_BASE_URL` at `url`, and assert on `state`. */
export { startHubSpotEmulator, type HubSpotEmulator, type HubSpotEmulatorOptions } from './server.ts';
export {
  HubSpotState,
  type CrmObject,
  type ObjectType,
  type PropertyDef,
  type GroupDef,
  type RequestLogEntry,
  type WriteLogEntry,
} from './state.ts';
export type { Fault, FaultOptions, FaultRequest } from './faults.ts';
export { DEFAULT_BEHAVIOUR, type HubSpotBehaviour } from './behaviour.ts';
export { isHubSpotEmail } from './values.ts';
