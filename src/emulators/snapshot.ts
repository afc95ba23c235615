// What the sandbox's emulators received, in the shape the console's /admin/sandbox page shows it.
// Declared by the emulators, which produce it; the console (admin/sandbox-page.ts) only reads it.

/** A HubSpot object the emulator holds: its id and properties (the emulator's CrmObject fits). */
export interface SandboxObject {
  id?: string;
  properties?: Record<string, unknown>;
  archived?: boolean;
}

/** An address as a string or as SendGrid's `{email, name}`. */
export type SandboxAddress = string | { email: string; name?: string };

/** An e-mail the SendGrid emulator accepted, with its rendered bodies (the emulator's OutboxEmail fits). */
export interface SandboxEmail {
  messageId?: string;
  to: SandboxAddress | SandboxAddress[];
  from?: SandboxAddress;
  subject?: string;
  html?: string;
  text?: string;
  acceptedAt?: string;
}

/** A contact associated with a course record (HubSpot's Courses object), as the emulator holds it. */
export interface SandboxAssociation {
  contactId: string;
  contactEmail?: string;
  courseRecordId: string;
  courseName?: string;
}

/** What the emulators received so far. */
export interface SandboxSnapshot {
  contacts: SandboxObject[];
  products: SandboxObject[];
  emails: SandboxEmail[];
  /** Course records (HubSpot's Courses object, 0-410) and the contacts associated with them. */
  courses?: SandboxObject[];
  associations?: SandboxAssociation[];
}

/** Reads the emulators' state; wired by the sandbox start-up (sandbox.ts). */
export type SandboxProvider = () => SandboxSnapshot | Promise<SandboxSnapshot>;
