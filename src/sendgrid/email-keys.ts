import { recordKey } from '../redis/keys.ts';

/** The Redis keys of the welcome email records, shared by the sender (sent-markers.ts) and the events (email-status.ts). */
export const emailKeys = {
  /** The enrollment's sent record: marker (messageId, sentAt, jobId) and status (status, statusAt, reason, opens, clicks). */
  sent: (prefix: string, enrollmentId: string) => recordKey(prefix, 'sent', enrollmentId),
  /** A send's X-Message-Id → its enrollment id, for matching SendGrid's events. */
  message: (prefix: string, messageId: string) => recordKey(prefix, 'sent-by', messageId),
};
