/**
 * The HubSpot property group and custom properties course-sync owns, for contacts, products and
 * course records (HubSpot's Courses object, 0-410, when used: courses-object.ts).
 * This is the one place they are defined: `course-sync hubspot setup` and the workers' start-up
 * check create what is missing from this list.
 */

export type CrmObjectType = 'contacts' | 'products' | 'courses';

/** A custom property as `POST /crm/v3/properties/{objectType}` takes it. */
export interface PropertySpec {
  name: string;
  label: string;
  description: string;
  type: 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool';
  fieldType: 'text' | 'textarea' | 'date' | 'number' | 'select' | 'radio' | 'checkbox' | 'booleancheckbox';
  hasUniqueValue?: boolean;
  /** The options of an enumeration whose values course-sync fixes (created, and added back when missing). */
  options?: readonly { label: string; value: string }[];
}

/** The property group every course-sync property belongs to, on contacts and products alike. */
export const LOOPWISE_GROUP = { name: 'loopwise', label: 'Loopwise', displayOrder: -1 } as const;

// The two contact properties course-sync keeps for itself (the contact mapping may not take them).
import { EMAIL_STATUS, ENROLLED_COURSES } from '../contact-mapping/own-properties.ts';
export { EMAIL_STATUS, ENROLLED_COURSES };

/** Its options: value = the status, label = what marketing reads. */
export const EMAIL_STATUS_OPTIONS = [
  { value: 'sent', label: 'Sent' },
  { value: 'deferred', label: 'Deferred' },
  { value: 'delivered', label: 'Delivered' },
  { value: 'bounced', label: 'Bounced' },
  { value: 'dropped', label: 'Dropped' },
  { value: 'spam_report', label: 'Marked as spam' },
  { value: 'unsubscribed', label: 'Unsubscribed' },
] as const;

/** course-sync's custom contact properties. */
export const CONTACT_PROPERTIES: readonly PropertySpec[] = [
  {
    name: 'loopwise_user_id',
    label: 'Loopwise user ID',
    description: "The student's user id in Loopwise",
    type: 'string',
    fieldType: 'text',
  },
  {
    name: 'loopwise_last_course_id',
    label: 'Last enrolled course ID',
    description: 'Loopwise id of the course of the latest enrollment',
    type: 'string',
    fieldType: 'text',
  },
  {
    name: 'loopwise_last_course_name',
    label: 'Last enrolled course',
    description: 'Name of the course of the latest enrollment',
    type: 'string',
    fieldType: 'text',
  },
  {
    name: 'loopwise_last_enrolled_at',
    label: 'Last enrolled at',
    description: 'When the latest enrollment happened (UTC)',
    type: 'datetime',
    fieldType: 'date',
  },
  {
    name: ENROLLED_COURSES,
    label: 'Enrolled courses',
    description: 'Every Loopwise course the student enrolled in (value = course id)',
    type: 'enumeration',
    fieldType: 'checkbox',
  },
  {
    name: EMAIL_STATUS,
    label: 'Welcome email status',
    description: 'What became of the latest welcome email (SendGrid events); only moves forward',
    type: 'enumeration',
    fieldType: 'select',
    options: EMAIL_STATUS_OPTIONS,
  },
];

/** course-sync's custom product properties; `loopwise_plan_id` is the products' unique upsert key. */
export const PRODUCT_PROPERTIES: readonly PropertySpec[] = [
  {
    name: 'loopwise_plan_id',
    label: 'Loopwise plan ID',
    description: 'Loopwise plan id; one product per plan (unique)',
    type: 'string',
    fieldType: 'text',
    hasUniqueValue: true,
  },
  {
    name: 'loopwise_course_id',
    label: 'Loopwise course ID',
    description: "Loopwise id of the plan's course",
    type: 'string',
    fieldType: 'text',
  },
  {
    name: 'loopwise_course_slug',
    label: 'Loopwise course slug',
    description: "URL slug of the plan's course",
    type: 'string',
    fieldType: 'text',
  },
  {
    name: 'loopwise_course_state',
    label: 'Loopwise course state',
    description: 'State of the course in Loopwise (draft, published, ...)',
    type: 'string',
    fieldType: 'text',
  },
  {
    name: 'loopwise_plan_currency',
    label: 'Loopwise plan currency',
    description: 'ISO 4217 currency of the plan price',
    type: 'string',
    fieldType: 'text',
  },
];

/**
 * course-sync's custom course record properties; `loopwise_course_id` is their unique upsert key.
 * The name and description go to HubSpot's own `hs_course_name` and `hs_course_description`.
 */
export const COURSE_PROPERTIES: readonly PropertySpec[] = [
  {
    name: 'loopwise_course_id',
    label: 'Loopwise course ID',
    description: 'Loopwise course id; one course record per course (unique)',
    type: 'string',
    fieldType: 'text',
    hasUniqueValue: true,
  },
  {
    name: 'loopwise_course_slug',
    label: 'Loopwise course slug',
    description: 'URL slug of the course in Loopwise',
    type: 'string',
    fieldType: 'text',
  },
  {
    name: 'loopwise_course_state',
    label: 'Loopwise course state',
    description: 'State of the course in Loopwise (draft, published, ...)',
    type: 'string',
    fieldType: 'text',
  },
];

/** Every custom property per object type. */
export const PROPERTIES: Record<CrmObjectType, readonly PropertySpec[]> = {
  contacts: CONTACT_PROPERTIES,
  products: PRODUCT_PROPERTIES,
  courses: COURSE_PROPERTIES,
};

/** The object type as HubSpot's paths name it (the Courses object by its id: its name may differ between API versions). */
export const OBJECT_PATH_NAME: Record<CrmObjectType, string> = {
  contacts: 'contacts',
  products: 'products',
  courses: '0-410',
};
