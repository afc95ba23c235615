import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RECORDS_DOCS_PATH, renderRecordsSection, withRecordsSection } from '../scripts/records-docs.ts';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import { contactRecordDigest } from '../src/hubspot/contact-courses.ts';
import { resolvePiiHasher } from '../src/privacy/pii-hash.ts';
import { QUEUES, WORK_QUEUES } from '../src/queues/names.ts';
import { openQueues, type QueueSet } from '../src/queues/registry.ts';
import { KeyShape } from '../src/redis/key-shape.ts';
import { globSafe, scanKeys } from '../src/redis/keys.ts';
import {
  ALL_FAMILIES,
  KEY_PARTS,
  matchKey,
  READ_BY_FORGET,
  RECORD_FAMILIES,
  shapeOf,
  type RecordFamily,
} from '../src/redis/records.ts';
import { generateEventKeyPair } from '../src/sendgrid-signature.ts';
import { shortEmailHash } from '../src/trace/day-index.ts';
import { TraceKeys } from '../src/trace/keys.ts';
import { basic } from './support/admin.ts';
import { runCli } from './support/cli.ts';
import { emulatorEnv } from './support/env.ts';
import { courseEvent, enrollEvent } from './support/faults.ts';
import { startTestService } from './support/receiver.ts';
import { holding, packedOnly, textsUnder, type HeldText } from './support/redis-texts.ts';
import { postEvents, sgEvent } from './support/sendgrid-events.ts';

// src/redis/records.ts is the one registry of what course-sync keeps in Redis. These tests hold it
// to what Redis really holds after a full flow: a key of a kind nobody registered, a TTL longer than
// its family says, or a family holding personal data that forget does not know, fails here.

describe('the registry of Redis records', () => {
  it('has shapes of different families that no key can share', () => {
    const overlapping = ALL_FAMILIES.flatMap((a, i) =>
      ALL_FAMILIES.slice(i + 1)
        .filter((b) => shapeOf(a).overlaps(shapeOf(b)))
        .map((b) => `${a.shape} / ${b.shape}`),
    );
    expect(overlapping).toEqual([]);
  });

  it('never skips a family holding personal data, and labels every family forget reads', () => {
    expect(ALL_FAMILIES.filter((f) => f.personalData !== false && f.treatment === 'skip').map((f) => f.family)).toEqual(
      [],
    );
    expect(ALL_FAMILIES.filter((f) => READ_BY_FORGET.has(f.treatment) && !f.label).map((f) => f.family)).toEqual([]);
  });

  it("names each of course-sync's families by the literal head of its shape, once", () => {
    expect(RECORD_FAMILIES.filter((f) => shapeOf(f).head !== f.family).map((f) => f.shape)).toEqual([]);
    expect(new Set(ALL_FAMILIES.map((f) => f.family)).size).toBe(ALL_FAMILIES.length);
  });
});

describe('docs/privacy.md', () => {
  it('holds the tables scripts/records-docs.ts makes of the registry (run `npm run docs:records` after changing it)', () => {
    const page = readFileSync(RECORDS_DOCS_PATH, 'utf8');
    expect(page).toBe(withRecordsSection(page));
    for (const f of ALL_FAMILIES) expect(page).toContain('`' + f.shape + '`');
  });

  it('keeps the prose around the tables, and refuses a page that lost a marker', () => {
    const section = renderRecordsSection();
    expect(withRecordsSection(`before\n${section}\nafter`, 'new')).toBe('before\nnew\nafter');
    expect(() => withRecordsSection('no markers here')).toThrow(/must hold the markers/);
  });
});

describe('a key shape', () => {
  const parts = { id: {}, rest: {}, state: { oneOf: ['wait', 'active'] }, job: { not: ['wait', 'active'] } };

  it('matches keys segment by segment, a last part marked … taking the rest', () => {
    expect(new KeyShape('cs:sent:<id>', parts).match('cs:sent:e-1')).toEqual({ id: 'e-1' });
    expect(new KeyShape('cs:sent:<id>', parts).match('cs:sent:e-1:x')).toBeUndefined();
    expect(new KeyShape('cs:sent:<id>', parts).match('cs:sent:')).toBeUndefined();
    expect(new KeyShape('cs:fail:<rest…>', parts).match('cs:fail:::1')).toEqual({ rest: '::1' });
    expect(new KeyShape('<id>:<state>', parts).match('q:wait')).toEqual({ id: 'q', state: 'wait' });
    expect(new KeyShape('<id>:<state>', parts).match('q:done')).toBeUndefined();
    expect(matchKey('p', 'p:cs:admin-login-failures:::ffff:127.0.0.1')).toMatchObject({
      family: { family: 'cs:admin-login-failures' },
      parts: { 'source address': '::ffff:127.0.0.1' },
    });
    expect(matchKey('p', 'p:email-welcome:metrics:completed:data')).toMatchObject({
      family: { family: 'queue' },
      parts: { structure: 'metrics:completed:data' },
    });
  });

  it('tells an overlap: a literal against a part allowing it, two open parts, a part taking the rest', () => {
    const shape = (text: string) => new KeyShape(text, parts);
    expect(shape('cs:a:<id>').overlaps(shape('cs:<id>:x'))).toBe(true);
    expect(shape('cs:a:<id>').overlaps(shape('cs:b:<id>'))).toBe(false);
    expect(shape('cs:a:<id>').overlaps(shape('cs:a:<id>:<id>'))).toBe(false);
    expect(shape('cs:a:<rest…>').overlaps(shape('cs:a:<id>:<id>'))).toBe(true);
    expect(shape('<id>:<state>').overlaps(shape('<id>:<job>'))).toBe(false);
    expect(shape('<id>:<state>').overlaps(shape('<id>:active'))).toBe(true);
  });

  it('refuses a part nobody declared, and a part taking the rest before the end', () => {
    expect(() => new KeyShape('cs:<nobody>', parts)).toThrow(/no part is called <nobody>/);
    expect(() => new KeyShape('cs:<rest…>:x', parts)).toThrow(/only the last part/);
    expect(() => new KeyShape('cs::x', KEY_PARTS)).toThrow(/neither a literal nor a <part>/);
  });
});

const PASSWORD = 'registry-test-password';
const auth = { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' };
const signing = generateEventKeyPair();

/** A student: name, mixed-case address and phone with spaces, as Loopwise sends them. */
function student(first: string, last: string, phone: string) {
  return {
    id: `user-${first.toLowerCase()}`,
    name: `${first} ${last}`,
    email: `${first}.${last}@Example.com`,
    phone_number: phone,
    first,
    last,
  };
}
const ada = student('Zenobia', 'Quillfeather', '+886 912 345 678');
const bob = student('Bartholomew', 'Inkwright', '+886 923 456 789');

function enrollment(s: typeof ada, id: string) {
  const body = enrollEvent(id, { id: 'course_reg' });
  body.data.user = { id: s.id, name: s.name, email: s.email, phone_number: s.phone_number };
  return body;
}

/** A key as SCAN found it, with its type and TTL (ms; -1 none) read together. */
interface KeyState {
  key: string;
  type: string;
  pttl: number;
}

let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
let t: Awaited<ReturnType<typeof startTestService>>;
let queues: QueueSet;
let prefix: string;
let during: KeyState[];
let before: KeyState[];
let after: KeyState[];
let textsBefore: HeldText[];
let textsAfter: HeldText[];
let forgot: { code: number; stdout: string; stderr: string };

async function keyStates(): Promise<KeyState[]> {
  const keys = (await scanKeys(t.redis, `${globSafe(prefix)}:*`)).sort();
  const answers = (await keys.reduce((p, k) => p.type(k).pttl(k), t.redis.pipeline()).exec()) ?? [];
  return keys
    .map((key, i) => ({ key, type: String(answers[2 * i]?.[1]), pttl: Number(answers[2 * i + 1]?.[1]) }))
    .filter((k) => k.pttl !== -2);
}

/** Every family a key has (exactly one, when the registry is right). */
function familiesOf(key: string): RecordFamily[] {
  const rest = key.slice(prefix.length + 1);
  return ALL_FAMILIES.filter((f) => shapeOf(f).match(rest));
}

/** What a student is known by in Redis: the address (whole, and its local part), phone, name, user id, the hashes of the address. */
async function needlesOf(s: typeof ada): Promise<{ texts: string[]; digits: string[] }> {
  const hasher = await resolvePiiHasher(t.redis, prefix, t.config.trace.piiHashKey);
  const email = s.email.toLowerCase();
  const hash = hasher.hash(email);
  return {
    texts: [email, email.split('@')[0]!, s.first, s.last, s.id, hash, shortEmailHash(hash), contactRecordDigest(email)],
    digits: [s.phone_number.replace(/\D/g, '').slice(3)],
  };
}

/** The families of the records holding what a student is known by (field names and stream entry ids searched too). */
async function familiesHolding(texts: HeldText[], s: typeof ada): Promise<Map<string, string[]>> {
  const { texts: needles, digits } = await needlesOf(s);
  const found = new Map<string, string[]>();
  for (const held of holding(
    texts.map((x) => ({ ...x, text: `${x.where}\n${x.text}` })),
    needles,
    digits,
  )) {
    const family = matchKey(prefix, held.key)?.family.family ?? `unregistered ${held.key}`;
    found.set(family, [...(found.get(family) ?? []), `${held.key} ${held.where}`]);
  }
  return found;
}

async function idle(): Promise<void> {
  for (const name of WORK_QUEUES) {
    const counts = await queues.work[name].getJobCounts(
      'waiting',
      'active',
      'delayed',
      'prioritized',
      'waiting-children',
    );
    expect({ name, ...counts }).toEqual({
      name,
      waiting: 0,
      active: 0,
      delayed: 0,
      prioritized: 0,
      'waiting-children': 0,
    });
  }
}

async function api(path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${t.base}/admin/api${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

// The whole flow, once: a course, two students' enrollments, a welcome email failing into the
// dead-letter queue and replayed from the console, SendGrid events (one matching no welcome email),
// a quarantined webhook, a failed console login, a packed trace; then `forget --suppress` of one.
beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: undefined });
  sendgrid = await startSendGridEmulator();
  t = await startTestService(
    {
      ...emulatorEnv(hubspot, sendgrid),
      TRACE_COMPACT_AFTER_SECONDS: '1',
      SENDGRID_WEBHOOK_PUBLIC_KEY: signing.publicKey,
      HUBSPOT_BATCH_WAIT_MS: '20',
      JOB_ATTEMPTS: '2',
      JOB_BACKOFF_MS: '10',
      DASHBOARD_PASSWORD: PASSWORD,
    },
    'all',
  );
  prefix = t.config.redis.prefix;
  queues = openQueues(t.redis, t.config);
  const settle = { timeout: 30_000, interval: 100 };

  expect((await t.post(courseEvent('course.created', 'course_reg'))).status).toBe(202);
  sendgrid.failWhen(400, (m) => JSON.stringify(m.personalizations).includes('reg-2'));
  for (const [s, id] of [
    [ada, 'reg-1'],
    [ada, 'reg-2'],
    [bob, 'reg-bob'],
  ] as const)
    expect((await t.post(enrollment(s, id))).status).toBe(202);
  const refused = enrollment(ada, 'reg-3');
  delete refused.data.course.id;
  expect((await t.post(refused)).status).toBe(422);
  await vi.waitFor(async () => expect(await queues.deadLetter[QUEUES.email].count()).toBe(1), settle);
  await vi.waitFor(
    () =>
      expect(
        sendgrid.outbox
          .all()
          .map((m) => m.customArgs.enrollment_id)
          .sort(),
      ).toEqual(['reg-1', 'reg-bob']),
    settle,
  );
  during = await keyStates();

  const sent = sendgrid.outbox.all().find((m) => m.customArgs.enrollment_id === 'reg-1')!;
  const hourAgo = Math.floor(Date.now() / 1000) - 3600;
  const events = [
    sgEvent('delivered', 'reg-1', sent.messageId, { email: ada.email }),
    sgEvent('open', 'reg-1', sent.messageId, { email: ada.email }),
    // An asynchronous bounce from before any welcome email went to the address: matched to none.
    {
      email: ada.email,
      timestamp: hourAgo,
      event: 'bounce',
      sg_event_id: 'unmatched-bounce',
      reason: `550 5.1.1 <${ada.email}>: mailbox unknown`,
      status: '5.1.1',
    },
  ];
  expect((await postEvents(t.base, signing.privateKey, events)).status).toBe(200);

  sendgrid.reset();
  const replay = await api(`/dlq/${QUEUES.email}/replay`, { ids: ['enroll-reg-2'] });
  expect(replay.status).toBe(200);
  expect((await fetch(`${t.base}/admin/api/dlq`, { headers: { authorization: basic('admin', 'wrong') } })).status).toBe(
    401,
  );

  await vi.waitFor(
    () => expect(sendgrid.outbox.all().some((m) => m.customArgs.enrollment_id === 'reg-2')).toBe(true),
    settle,
  );
  await vi.waitFor(async () => expect(await t.redis.xlen(`${prefix}:cs:sg-unmatched`)).toBe(1), settle);
  await vi.waitFor(async () => expect(await t.redis.hget(`${prefix}:cs:sent:reg-1`, 'opens')).toBe('1'), settle);
  await vi.waitFor(
    async () => expect(await packedOnly(t.redis, new TraceKeys(prefix).trace('enroll-reg-1'))).toBe(true),
    settle,
  );
  await vi.waitFor(idle, settle);

  before = await keyStates();
  textsBefore = await textsUnder(t.redis, prefix);
  const env = {
    REDIS_URL: t.service.redisUrl,
    QUEUE_PREFIX: prefix,
    HUBSPOT_ACCESS_TOKEN: hubspot.token,
    HUBSPOT_BASE_URL: hubspot.url,
    SENDGRID_API_KEY: sendgrid.apiKey,
  };
  forgot = await runCli(['forget', ada.email, '--suppress', '--yes'], env);
  after = await keyStates();
  textsAfter = await textsUnder(t.redis, prefix);
}, 120_000);

afterAll(async () => {
  await queues?.close();
  await t?.stop();
  await hubspot?.close();
  await sendgrid?.close();
});

describe('after a full flow, every key in Redis', () => {
  it('went through every kind of step the flow has (so the checks below see them)', () => {
    expect(forgot).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('checked: nothing left in Redis names the student'),
    });
    const seen = new Set([...during, ...before, ...after].map((k) => matchKey(prefix, k.key)?.family.family));
    const expected = [
      'cs:seen',
      'cs:trace',
      'cs:calls',
      'cs:trace-idx:email-day',
      'cs:trace-idx:enrollment-day',
      'cs:contact',
      'cs:sent',
      'cs:sent-by',
      'cs:sg-event',
      'cs:sg-unmatched',
    ];
    expected.push(
      'cs:attempts',
      'cs:quarantine',
      'cs:suppressed',
      'cs:audit',
      'cs:admin-login-failures',
      'cs:pii-hash-key',
      'jobs',
      'events',
      'queue',
    );
    expect([...seen]).toEqual(expect.arrayContaining(expected));
  });

  it('is of exactly one declared family', () => {
    const wrong = [...during, ...before, ...after]
      .map((k) => ({ key: k.key, families: familiesOf(k.key).map((f) => f.family) }))
      .filter((k) => k.families.length !== 1);
    expect(wrong).toEqual([]);
  });

  it("lives at most its family's lifetime under the config, and has a TTL when its family says so", () => {
    const wrong: string[] = [];
    for (const k of [...during, ...before, ...after]) {
      const lifetime = matchKey(prefix, k.key)?.family.lifetime;
      if (lifetime?.kind !== 'ttl') continue;
      const most = lifetime.seconds(t.config);
      if (k.pttl < 0) wrong.push(`${k.key}: no TTL, its family lives ${most} s`);
      else if (Math.ceil(k.pttl / 1000) > most)
        wrong.push(`${k.key}: ${Math.ceil(k.pttl / 1000)} s left, its family lives ${most} s`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('forget, after the full flow', () => {
  it("leaves what names the student only in the families kept on purpose (the suppression list's hashes)", async () => {
    const was = await familiesHolding(textsBefore, ada);
    // The search sees the student where they are: by name, address, hashes in keys and fields, inside packed traces.
    expect([...was.keys()]).toEqual(
      expect.arrayContaining(['cs:contact', 'cs:trace-idx:email-day', 'cs:calls', 'cs:quarantine', 'jobs']),
    );
    const left = await familiesHolding(textsAfter, ada);
    // Families holding addresses masked only are not read by forget: nothing in them may name the student either.
    const kept = new Set(ALL_FAMILIES.filter((f) => f.treatment === 'keep').map((f) => f.family));
    expect(Object.fromEntries([...left].filter(([family]) => !kept.has(family)))).toEqual({});
    // The suppression list holds their address's keyed hash: the search would see a record left behind.
    expect([...left.keys()]).toContain('cs:suppressed');
  });

  it("leaves the other student's records where they were", async () => {
    expect([...(await familiesHolding(textsAfter, bob)).keys()]).toEqual(
      expect.arrayContaining(['cs:contact', 'cs:trace-idx:email-day', 'cs:calls', 'jobs']),
    );
  });
});
