/** The work queues, named after what they feed. */
export const QUEUES = {
  contacts: 'crm-contacts',
  email: 'email-welcome',
  products: 'crm-products',
} as const;

export type WorkQueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const WORK_QUEUES: WorkQueueName[] = Object.values(QUEUES);

/** The dead-letter queue that keeps the final failures of `queue`. */
export function deadLetterQueueName(queue: WorkQueueName): string {
  return `${queue}-dlq`;
}
