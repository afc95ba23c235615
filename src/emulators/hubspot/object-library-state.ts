/** The object library's object type ids the emulator knows (HubSpot's object activation guide lists these four). */
export const LIBRARY_OBJECTS = {
  courses: '0-410',
  listings: '0-420',
  appointments: '0-421',
  services: '0-162',
} as const;

/**
 * The scopes of the emulated private app: by default every scope course-sync uses, the Courses
 * object's included (the courses guide: `crm.objects.courses.read`, `crm.objects.courses.write`).
 */
export const DEFAULT_SCOPES: readonly string[] = [
  'crm.objects.contacts.read',
  'crm.objects.contacts.write',
  'crm.objects.products.read',
  'crm.objects.products.write',
  'crm.schemas.contacts.read',
  'crm.schemas.contacts.write',
  'crm.schemas.products.read',
  'crm.schemas.products.write',
  'crm.objects.courses.read',
  'crm.objects.courses.write',
];

/** Which object library objects the portal has active, and the private app's scopes. */
export class ObjectLibrary {
  /** Object type id → active. A new portal has none active: a super admin activates them in Settings → Objects. */
  readonly enablement = new Map<string, boolean>(Object.values(LIBRARY_OBJECTS).map((id) => [id, false]));
  scopes = new Set(DEFAULT_SCOPES);

  active(objectTypeId: string): boolean {
    return this.enablement.get(objectTypeId) === true;
  }

  /** Activates or deactivates an object, as a super admin does in the portal's settings. */
  setActive(objectTypeId: string, active: boolean): void {
    this.enablement.set(objectTypeId, active);
  }
}
