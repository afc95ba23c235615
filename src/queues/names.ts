/** The work queues, named after what they feed. */
export const QUEUES = {
  contacts: 'crm-contacts',
  email: 'email-welcome',
  products: 'crm-products',
  /** SendGrid Event Webhook batches → welcome email statuses. */
  emailEvents: 'email-events',
} as const;

export type WorkQueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const WORK_QUEUES: WorkQueueName[] = Object.values(QUEUES);

/** The two jobs of an enrollment, in the order its pending record names them. */
export const ENROLLMENT_QUEUES: WorkQueueName[] = [QUEUES.contacts, QUEUES.email];

/** The queues whose jobs are one event each, id = the event's idempotency key: those an event's trace follows. */
export const EVENT_QUEUES: WorkQueueName[] = [QUEUES.contacts, QUEUES.email, QUEUES.products];

/** The dead-letter queue that keeps the final failures of `queue`. */
export function deadLetterQueueName(queue: WorkQueueName): string {
  return `${queue}-dlq`;
}
