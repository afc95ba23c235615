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

/** What the emulators received so far. */
export interface SandboxSnapshot {
  contacts: SandboxObject[];
  products: SandboxObject[];
  emails: SandboxEmail[];
}

/** Reads the emulators' state; wired by the sandbox start-up (sandbox.ts). */
export type SandboxProvider = () => SandboxSnapshot | Promise<SandboxSnapshot>;
