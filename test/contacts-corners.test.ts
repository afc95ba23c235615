import { afterEach, describe, expect, it } from 'vitest';
import type { HubSpotBehaviour } from '../src/emulators/hubspot/index.ts';
import { QUEUES } from '../src/queues/names.ts';
import { contactsRig, enrollment, type ContactsRig } from './support/hubspot.ts';

// Through the crm-contacts worker, against each way HubSpot may answer where its docs are silent.
let rig: ContactsRig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const SECONDARY_MODES: HubSpotBehaviour['secondaryEmail'][] = ['conflict-409', 'conflict-207', 'update'];

const coursesOf = (r: ContactsRig, id: string) =>
  r.em.state.values(r.em.state.byId('contacts', id), 'loopwise_enrolled_courses').sort();
const holdersOf = (r: ContactsRig, course: string) =>
  [...r.em.state.objects.contacts.values()].filter((c) =>
    r.em.state.values(c, 'loopwise_enrolled_courses').includes(course),
  );
const deadLetters = (r: ContactsRig) => r.deps.deadLetters.list(QUEUES.contacts);

async function enroll(r: ContactsRig, id: string, email: string, course: string) {
  const [done] = await r.settled(await r.add(enrollment(id, { email }, { id: course, name: `Course ${course}` })));
  expect(await done!.getState()).toBe('completed');
  return done!.returnvalue as { contactId: string; created: boolean };
}

describe.each(SECONDARY_MODES)('an address HubSpot holds on another contact, upsert answering as %s', (mode) => {
  it('writes the enrollment to the contact that holds the address as a secondary one, keeping its courses', async () => {
    rig = await contactsRig({}, { behaviour: { secondaryEmail: mode } });
    await rig.startWorker();
    await enroll(rig, 'warmup', 'warmup@example.com', 'c_old');
    // Someone's contact in HubSpot: primary work address, the student's address added by hand, a course already.
    await rig.hubspot.crm.contacts.batchApi.upsert({
      inputs: [
        {
          id: 'ada@work.example',
          idProperty: 'email',
          properties: { firstname: 'Ada', loopwise_enrolled_courses: 'c_old' },
        },
      ],
    });
    const holder = rig.em.state.contact('ada@work.example')!;
    rig.em.state.addSecondaryEmail(holder, 'ada@home.example');
    const contacts = rig.em.state.objects.contacts.size;

    const written = await enroll(rig, 'e-sec', 'ada@home.example', 'c1');
    expect(written.contactId).toBe(holder.id);
    expect(rig.em.state.objects.contacts.size).toBe(contacts);
    expect(coursesOf(rig, holder.id)).toEqual(['c1', 'c_old']);
    expect(holdersOf(rig, 'c1').map((c) => c.id)).toEqual([holder.id]);
    expect(rig.em.state.byId('contacts', holder.id)!.properties.loopwise_last_course_id).toBe('c1');
    expect(await deadLetters(rig)).toEqual([]);
  });

  it('writes to the contact another was merged into, and keeps every course of both addresses afterwards', async () => {
    rig = await contactsRig({}, { behaviour: { secondaryEmail: mode } });
    await rig.startWorker();
    const a = await enroll(rig, 'e-a', 'sam@old.example', 'c1');
    const b = await enroll(rig, 'e-b', 'sam@new.example', 'c2');
    await rig.hubspot.crm.contacts.basicApi.merge({ primaryObjectId: b.contactId, objectIdToMerge: a.contactId });

    expect((await enroll(rig, 'e-a2', 'sam@old.example', 'c3')).contactId).toBe(b.contactId);
    expect(holdersOf(rig, 'c3').map((c) => c.id)).toEqual([b.contactId]);
    expect(coursesOf(rig, b.contactId)).toEqual(['c1', 'c2', 'c3']);
    // The other address later: the same contact, nothing lost either way round.
    expect((await enroll(rig, 'e-b2', 'sam@new.example', 'c4')).contactId).toBe(b.contactId);
    expect(coursesOf(rig, b.contactId)).toEqual(['c1', 'c2', 'c3', 'c4']);
    expect(rig.em.state.objects.contacts.size).toBe(1);
    expect(await deadLetters(rig)).toEqual([]);
  });
});

describe.each(['batch-400', 'record-207'] as const)('an option deleted in HubSpot by hand, reported as %s', (mode) => {
  it('re-adds the option and the enrollment reaches HubSpot instead of the dead letters', async () => {
    rig = await contactsRig({}, { behaviour: { invalidValues: mode } });
    await rig.startWorker();
    await enroll(rig, 'first', 'first@example.com', 'c1');
    const prop = rig.em.state.properties.contacts.get('loopwise_enrolled_courses')!;
    prop.options = prop.options.filter((o) => o.value !== 'c1');

    const written = await enroll(rig, 'second', 'second@example.com', 'c1');
    expect(coursesOf(rig, written.contactId)).toEqual(['c1']);
    expect(prop.options.map((o) => [o.value, o.label])).toEqual([['c1', 'Course c1']]);
    expect(rig.em.state.requestsTo('/contacts/batch/upsert').map((r) => r.status)).toEqual([
      200,
      mode === 'batch-400' ? 400 : 207,
      200,
    ]);
    expect(await deadLetters(rig)).toEqual([]);
  });
});
