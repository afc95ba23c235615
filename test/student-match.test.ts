import { describe, expect, it } from 'vitest';
import { PiiHasher } from '../src/privacy/pii-hash.ts';
import { Student } from '../src/student-data/student.ts';

// forget and export find a student's records by their addresses and ids; an address is matched as a
// whole address, so another student whose address merely contains it is never taken for them.
describe('a student looked for by address', () => {
  const ann = () => new Student({ email: 'Ann@Example.com' }, new PiiHasher('k'.repeat(32)));

  it('is found in fields and in text that hold the address, in any case', () => {
    const s = ann();
    expect(s.isNamedIn({ email: 'ann@example.com' })).toBe(true);
    expect(s.isNamedIn('HubSpot 400: contact <ANN@example.com> is blocked')).toBe(true);
    expect(s.isNamedIn(JSON.stringify({ to: ['ann@example.com'] }))).toBe(true);
  });

  it('is not found in an address that only contains theirs, and learns nothing from it', () => {
    const s = ann();
    for (const other of ['joann@example.com', 'ann@example.com.au', 'x.ann@example.com']) {
      expect(s.isNamedIn({ email: other }), other).toBe(false);
      expect(s.isNamedIn(`HubSpot 400: contact ${other} is blocked`), other).toBe(false);
      expect(s.learnFrom({ id: 'enroll-jo', user: { id: 'user-jo', email: other }, email: other }), other).toBe(false);
    }
    expect([...s.emails]).toEqual(['ann@example.com']);
    expect([...s.userIds, ...s.enrollmentIds]).toEqual([]);
  });
});
