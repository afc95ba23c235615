import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every Prometheus metric of the service, in its own registry (one per process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'course_sync_' });
  const metrics = {
    registry,
    webhookRequests: new Counter({
      name: 'course_sync_webhook_requests_total',
      help: 'Webhook deliveries by event type and outcome (accepted, duplicate, ignored, rejected_<status>)',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    }),
    webhookIgnored: new Counter({
      name: 'course_sync_webhook_ignored_total',
      help: 'Deliveries of event types course-sync does not handle, by type',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'course_sync_job_duration_seconds',
      help: 'Time to process a job (or a batch of jobs), by queue and outcome',
      labelNames: ['queue', 'outcome'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    apiCalls: new Counter({
      name: 'course_sync_api_calls_total',
      help: 'Calls to HubSpot and SendGrid by API, operation and HTTP status (429s are rate limits)',
      labelNames: ['api', 'operation', 'status'] as const,
      registers: [registry],
    }),
    queueJobs: new Gauge({
      name: 'course_sync_queue_jobs',
      help: 'Jobs per queue and state (dead-letter queues end in -dlq)',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
    }),
    suppressed: new Counter({
      name: 'course_sync_suppressed_total',
      help: 'Jobs completed without syncing or e-mailing because the student is suppressed (course-sync forget --suppress), by queue',
      labelNames: ['queue'] as const,
      registers: [registry],
    }),
    emailEvents: new Counter({
      name: 'course_sync_email_events_total',
      help: 'SendGrid Event Webhook events taken in (after dedupe by sg_event_id), by event',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
    emailEventsIgnored: new Counter({
      name: 'course_sync_email_events_ignored_total',
      help: 'SendGrid events not applied, by reason (duplicate sg_event_id; not_ours: mail course-sync did not send; no_message_id: neither message id nor custom_args, and no welcome email sent to that address)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    adminLoginFailures: new Counter({
      name: 'course_sync_admin_login_failures_total',
      help: 'Failed logins to /admin (wrong user or password)',
      registers: [registry],
    }),
    adminRefusals: new Counter({
      name: 'course_sync_admin_refused_total',
      help: 'Requests to /admin refused on purpose, by reason (cross_site, role, content_type, throttled)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    quarantineSize: new Gauge({
      name: 'course_sync_quarantine_entries',
      help: 'Rejected webhooks kept in quarantine',
      registers: [registry],
    }),
  };
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
