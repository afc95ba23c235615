import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { startHubSpotEmulator } from './hubspot/index.ts';
import { generateEventKeyPair } from '../sendgrid-signature.ts';
import { startSendGridEmulator } from './sendgrid/index.ts';
import type { SandboxProvider } from './snapshot.ts';

export interface Sandbox {
  /** The configuration with HubSpot and SendGrid pointed at the emulators. */
  config: Config;
  /** What the emulators received, for the /admin/sandbox page. */
  provider: SandboxProvider;
  /** Points the SendGrid emulator's signed Event Webhook at the service's receiver, once it listens. */
  postEventsTo(url: string): void;
  close(): Promise<void>;
}

/**
 * Sandbox mode (no HubSpot/SendGrid credentials outside production): starts both emulators on
 * loopback in this process and points the configuration at them, announcing it loudly.
 */
export async function startSandbox(config: Config, log: Logger): Promise<Sandbox> {
  // The Courses object is active in the sandbox's portal, so that its page shows course records and their students.
  const hubspot = await startHubSpotEmulator({
    requestsPer10s: config.hubspot.requestsPer10s,
    coursesObject: 'active',
  });
  const sendgrid = await startSendGridEmulator({ verifiedSenders: [config.sendgrid.from] });
  // The emulator signs its Event Webhook like SendGrid; the service verifies with the public half
  // (and with any key configured, so `course-sync emit sendgrid-events` works in sandbox mode too).
  const keys = generateEventKeyPair();
  log.warn(
    { hubspot: hubspot.url, sendgrid: sendgrid.url },
    'SANDBOX MODE: no HUBSPOT_ACCESS_TOKEN / SENDGRID_API_KEY, so HubSpot and SendGrid are built-in emulators. ' +
      'Nothing reaches the real services; see /admin/sandbox. They keep what they receive in memory and start empty at each start. Set both credentials to go live.',
  );
  return {
    config: {
      ...config,
      hubspot: { ...config.hubspot, baseUrl: hubspot.url, accessToken: hubspot.token },
      sendgrid: {
        ...config.sendgrid,
        baseUrl: sendgrid.url,
        apiKey: sendgrid.apiKey,
        events: { ...config.sendgrid.events, publicKeys: [...config.sendgrid.events.publicKeys, keys.publicKey] },
      },
    },
    postEventsTo: (url) =>
      sendgrid.setEventWebhook({ url, privateKey: keys.privateKey, deliverAfterMs: 1000, flushMs: 1000 }),
    provider: () => ({
      contacts: [...hubspot.state.contacts.values()],
      products: [...hubspot.state.products.values(), ...hubspot.state.archivedProducts.values()],
      courses: [...hubspot.state.objects.courses.values()],
      associations: hubspot.state.associations.all('contacts', 'courses').map((a) => ({
        contactId: a.fromId,
        contactEmail: hubspot.state.objects.contacts.get(a.fromId)?.properties.email,
        courseRecordId: a.toId,
        courseName: hubspot.state.objects.courses.get(a.toId)?.properties.hs_course_name,
      })),
      emails: sendgrid.outbox.all().map((e) => ({
        messageId: e.messageId,
        to: e.to,
        from: e.from,
        subject: e.subject ?? (e.templateId ? `template ${e.templateId}` : undefined),
        html: e.html,
        text: e.text,
        acceptedAt: e.acceptedAt,
      })),
    }),
    close: async () => {
      await Promise.all([hubspot.close(), sendgrid.close()]);
    },
  };
}
