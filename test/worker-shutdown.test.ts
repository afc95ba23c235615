import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { SEND_TIMEOUT_MS } from '../src/sendgrid/client.ts';
import { fixture, SETTLE } from './support/env.ts';
import { buildOverlay, one } from './support/k8s-manifests.ts';
import { startTestService } from './support/receiver.ts';

// How long a worker takes to stop on SIGTERM when SendGrid does not answer, measured, against the
// terminationGracePeriodSeconds the worker Deployment gives it.
const worker = one(buildOverlay('example'), 'Deployment', 'course-sync-worker');
const graceMs = worker.spec.template.spec.terminationGracePeriodSeconds * 1000;

describe('stopping a worker', () => {
  it(
    'waits for a welcome email in flight until its SendGrid timeout, well inside the pod grace period',
    async () => {
      // A SendGrid that takes the request and never answers.
      const inFlight: IncomingMessage[] = [];
      let aborted = 0;
      const sendgrid = createServer((req) => {
        inFlight.push(req);
        req.socket.on('close', () => aborted++);
      });
      await new Promise<void>((ok) => sendgrid.listen(0, '127.0.0.1', ok));
      const hubspot = await startHubSpotEmulator({ requestsPer10s: 1000 });
      const t = await startTestService(
        {
          HUBSPOT_ACCESS_TOKEN: hubspot.token,
          HUBSPOT_BASE_URL: hubspot.url,
          SENDGRID_API_KEY: 'SG.test',
          SENDGRID_BASE_URL: `http://127.0.0.1:${(sendgrid.address() as AddressInfo).port}`,
        },
        'all',
      );
      try {
        expect((await t.post(fixture('course.student_enroll'))).status).toBe(202);
        await vi.waitFor(() => expect(inFlight).toHaveLength(1), SETTLE);
        const started = performance.now();
        await t.service.stop();
        const tookMs = performance.now() - started;
        // It did wait for the send (the client gave up on it, SendGrid did not answer).
        expect(aborted).toBe(1);
        expect(tookMs).toBeLessThan(SEND_TIMEOUT_MS + 5_000);
        // A HubSpot call in flight has no timeout of its own: the rest of the grace is its room.
        expect(graceMs - SEND_TIMEOUT_MS).toBeGreaterThanOrEqual(30_000);
      } finally {
        await t.stop();
        await hubspot.close();
        sendgrid.closeAllConnections();
        await new Promise((ok) => sendgrid.close(ok));
      }
    },
    SEND_TIMEOUT_MS + 30_000,
  );
});
