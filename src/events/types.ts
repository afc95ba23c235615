/** The Loopwise events course-sync handles, as validated by `schemas.ts` (extra fields are kept). */
export const EVENT_TYPES = ['course.created', 'course.updated', 'course.student_enroll'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface Plan {
  id: string;
  name: string;
  description?: string | null;
  currency: string;
  amount: number;
  created_at?: string;
  updated_at?: string;
  [extra: string]: unknown;
}

export interface Course {
  id: string;
  name: string;
  description?: string | null;
  state?: string | null;
  type?: string;
  created_at?: string;
  updated_at: string;
  slug?: string | null;
  plans: Plan[];
  [extra: string]: unknown;
}

export interface Enrollment {
  id: string;
  course: { id: string; name: string; slug?: string | null; subtitle?: string | null; [extra: string]: unknown };
  user: { id: string; name?: string | null; email: string; phone_number?: string | null; [extra: string]: unknown };
  created_at: string;
  updated_at?: string;
  state?: string | null;
  [extra: string]: unknown;
}

export type LoopwiseEvent =
  { type: 'course.created' | 'course.updated'; data: Course } | { type: 'course.student_enroll'; data: Enrollment };

export function isKnownType(type: unknown): type is EventType {
  return typeof type === 'string' && (EVENT_TYPES as readonly string[]).includes(type);
}
