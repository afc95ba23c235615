import { deflateRawSync, inflateRawSync } from 'node:zlib';

/** The hash field that held a finished trace's header, steps and calls, packed, before it was kept in pieces. */
export const PACKED_FIELD = 'z';

/**
 * Longest piece of a packed value: a hash whose values are all at most 64 bytes stays in Redis'
 * compact encoding (hash-max-listpack-value), about 60 B less per record than one long field.
 */
const PIECE_BYTES = 64;

/** Whether a hash field holds (a piece of) a packed value: `z` (one field, earlier versions) or `z0`, `z1`, …. */
export function isPackedField(name: string): boolean {
  return name === PACKED_FIELD || /^z\d+$/.test(name);
}

/** A packed value as the fields that hold it: `z0`, `z1`, … of at most PIECE_BYTES each. */
export function packedPieces(packed: Buffer): [string, Buffer][] {
  const pieces: [string, Buffer][] = [];
  for (let at = 0; at < packed.length; at += PIECE_BYTES)
    pieces.push([`${PACKED_FIELD}${pieces.length}`, packed.subarray(at, at + PIECE_BYTES)]);
  return pieces;
}

/** The packed value of a hash read as bytes (its pieces joined, or the one field of earlier versions), if it has one. */
export function packedValue(hash: Record<string, Buffer | string>): Buffer | undefined {
  if (hash[PACKED_FIELD] !== undefined) return Buffer.from(hash[PACKED_FIELD]);
  const pieces: Buffer[] = [];
  for (let i = 0; hash[`${PACKED_FIELD}${i}`] !== undefined; i++)
    pieces.push(Buffer.from(hash[`${PACKED_FIELD}${i}`]!));
  return pieces.length ? Buffer.concat(pieces) : undefined;
}

/**
 * What finished traces have in common (field and property names, queue names, kinds, the shape of
 * dates and ids), as deflate's preset dictionary: a trace of about 1.4 KB of JSON packs to about
 * 300 B, against 630 B without it. No student's data is in it. Never change a version's text:
 * packed traces name theirs in their first byte; another text is a new version beside this one.
 */
const DICTIONARIES: Record<number, Buffer> = {
  1: Buffer.from(
    JSON.stringify([
      [
        's:0000000000000-email-welcome-0000000000000-0',
        {
          at: '2026-01-01T00:00:00.000Z',
          queue: 'email-welcome',
          kind: 'retrying',
          attempt: 1,
          error: 'HubSpot 429 rate_limited: transient 503 Service Unavailable',
          durationMs: 1,
          retryAt: '2026-01-01T00:00:00.000Z',
        },
      ],
      [
        's:0000000000000-crm-products-0000000000000-0',
        {
          at: '2026-01-01T00:00:00.000Z',
          queue: 'crm-products',
          kind: 'completed',
          hubspotProductIds: ['1'],
          attempt: 1,
          durationMs: 1,
        },
      ],
      [
        's:0000000000000-rdeadbeef',
        { at: '2026-01-01T00:00:00.000Z', kind: 'duplicate', correlationId: '00000000-0000-4000-8000-000000000000' },
      ],
      [
        's:0000000000000-sg',
        {
          at: '2026-01-01T00:00:00.000Z',
          kind: 'email',
          queue: 'email-events',
          event: 'delivered',
          emailStatus: 'delivered',
        },
      ],
      [
        'h',
        {
          eventType: 'course.student_enroll',
          receivedAt: '2026-01-01T00:00:00.000Z',
          correlationId: '00000000-0000-4000-8000-000000000000',
          queues: ['crm-contacts', 'email-welcome'],
          enrollmentId: 'enroll_',
          courseId: 'course_',
          planIds: ['plan_'],
          studentEmail: 'a***@gmail.com',
        },
      ],
      [
        'c:crm-contacts:1',
        [
          {
            api: 'hubspot',
            operation: 'contacts.upsert',
            request: {
              email: 'a***@gmail.com',
              firstname: '',
              lastname: '',
              phone: '+1*******00',
              loopwise_user_id: 'user_',
              loopwise_last_course_id: 'course_',
              loopwise_last_course_name: '',
              loopwise_last_enrolled_at: '2026-01-01T00:00:00.000Z',
              loopwise_enrolled_courses: 'course_',
            },
            response: { outcome: 'written', contactId: '1', created: true },
          },
        ],
      ],
      [
        's:0000000000000-email-welcome-0000000000000-0',
        {
          at: '2026-01-01T00:00:00.000Z',
          queue: 'email-welcome',
          kind: 'completed',
          sendgridMessageId: '',
          attempt: 1,
          durationMs: 1,
        },
      ],
      [
        'c:email-welcome:1',
        [
          {
            api: 'sendgrid',
            operation: 'mail.send',
            request: {
              to: ['a***@gmail.com'],
              subject: 'Welcome to ',
              customArgs: { enrollment_id: 'enroll_', course_id: 'course_' },
            },
            response: { status: 202, messageId: '' },
          },
        ],
      ],
      [
        's:0000000000000-crm-contacts-0000000000000-0',
        {
          at: '2026-01-01T00:00:00.000Z',
          queue: 'crm-contacts',
          kind: 'completed',
          hubspotContactId: '1',
          attempt: 1,
          durationMs: 1,
        },
      ],
    ]),
  ),
};
const VERSION = 1;

/** The fields a finished trace packs: its header and steps, and the calls earlier versions kept in it (markers stay as they are). */
export function isPackable(field: string): boolean {
  return field === 'h' || field.startsWith('s:') || field.startsWith('c:');
}

/** Packs trace hash fields (each a JSON text, checked as such) into one value. */
export function packFields(fields: [string, string][]): Buffer {
  for (const [, value] of fields) JSON.parse(value);
  const json = `[${fields.map(([name, value]) => `[${JSON.stringify(name)},${value}]`).join(',')}]`;
  return Buffer.concat([Buffer.of(VERSION), deflateRawSync(json, { dictionary: DICTIONARIES[VERSION] })]);
}

/** The fields `packFields` packed. */
export function unpackFields(packed: Buffer): [string, string][] {
  const dictionary = DICTIONARIES[packed[0]!];
  if (!dictionary)
    throw new Error(`trace packed with format ${packed[0]}, which this version of course-sync does not read`);
  const fields = JSON.parse(inflateRawSync(packed.subarray(1), { dictionary }).toString('utf8')) as [string, unknown][];
  return fields.map(([name, value]) => [name, JSON.stringify(value)]);
}

/**
 * A trace hash as read (its packed pieces as bytes) to its fields as text: the packed ones and those
 * written since. A packed field wins over a later one of the same name: each is written once (the
 * header stays the first delivery's), so a later one is a re-read of the same event. In a calls
 * hash (`laterWins`) a field written again replaces what it held: the later one wins.
 */
export function traceFields(hash: Record<string, Buffer | string>, laterWins = false): Record<string, string> {
  const fields: Record<string, string> = {};
  const packed = packedValue(hash);
  if (packed && laterWins) for (const [name, value] of unpackFields(packed)) fields[name] = value;
  for (const [name, value] of Object.entries(hash)) if (!isPackedField(name)) fields[name] = value.toString();
  if (packed && !laterWins) for (const [name, value] of unpackFields(packed)) fields[name] = value;
  return fields;
}
