import type { GroupDef, ObjectType, PropertyDef } from './state.ts';

function prop(
  name: string,
  label: string,
  type: string,
  fieldType: string,
  groupName: string,
  extra: Partial<PropertyDef> = {},
): PropertyDef {
  const epoch = '2019-08-06T02:43:01.040Z';
  return {
    name,
    label,
    type,
    fieldType,
    groupName,
    description: '',
    options: [],
    displayOrder: -1,
    hasUniqueValue: false,
    hidden: false,
    formField: true,
    calculated: false,
    externalOptions: false,
    hubspotDefined: true,
    createdAt: epoch,
    updatedAt: epoch,
    archived: false,
    modificationMetadata: { archivable: false, readOnlyDefinition: true, readOnlyValue: false },
    ...extra,
  };
}

const readOnly = {
  modificationMetadata: { archivable: false, readOnlyDefinition: true, readOnlyValue: true },
  formField: false,
};

/** A subset of HubSpot's built-in properties, enough for what course-sync writes and reads. */
const INFO_GROUP: Record<ObjectType, GroupDef> = {
  contacts: { name: 'contactinformation', label: 'Contact information', displayOrder: 0, archived: false },
  products: { name: 'productinformation', label: 'Product information', displayOrder: 0, archived: false },
  courses: { name: 'course_information', label: 'Course information', displayOrder: 0, archived: false },
};

export function defaultProperties(type: ObjectType, currencies: string[]): PropertyDef[] {
  const info = INFO_GROUP[type].name;
  const common = [
    prop('hs_object_id', 'Record ID', 'number', 'number', info, readOnly),
    prop('createdate', 'Create Date', 'datetime', 'date', info, readOnly),
    prop('lastmodifieddate', 'Last Modified Date', 'datetime', 'date', info, readOnly),
  ];
  if (type === 'courses') {
    // The course properties HubSpot's courses guide and object definition name; custom ones
    // (loopwise_course_id, the unique upsert key) are created by `course-sync hubspot setup`.
    return [
      ...common,
      prop('hs_course_name', 'Course name', 'string', 'text', info),
      prop('hs_course_description', 'Course description', 'string', 'textarea', info),
    ];
  }
  if (type === 'contacts') {
    const g = 'contactinformation';
    return [
      ...common,
      prop('email', 'Email', 'string', 'text', g),
      // Secondary addresses (";"-separated) and the ids of contacts merged into this one: HubSpot sets
      // them (by hand in the app, or by a merge); the API cannot write them.
      prop('hs_additional_emails', 'Additional email addresses', 'string', 'text', g, readOnly),
      prop('hs_merged_object_ids', 'Merged Record IDs', 'string', 'text', g, readOnly),
      prop('firstname', 'First Name', 'string', 'text', g),
      prop('lastname', 'Last Name', 'string', 'text', g),
      prop('phone', 'Phone Number', 'string', 'phonenumber', g),
      prop('mobilephone', 'Mobile Phone Number', 'string', 'phonenumber', g),
      prop('company', 'Company Name', 'string', 'text', g),
      prop('website', 'Website URL', 'string', 'text', g),
      prop('city', 'City', 'string', 'text', g),
      prop('country', 'Country/Region', 'string', 'text', g),
      prop('jobtitle', 'Job Title', 'string', 'text', g),
      prop('lifecyclestage', 'Lifecycle Stage', 'enumeration', 'radio', g, {
        options: [
          'subscriber',
          'lead',
          'marketingqualifiedlead',
          'salesqualifiedlead',
          'opportunity',
          'customer',
          'evangelist',
          'other',
        ].map((v, i) => ({ label: v, value: v, displayOrder: i, hidden: false })),
      }),
    ];
  }
  const g = 'productinformation';
  return [
    ...common,
    prop('name', 'Name', 'string', 'text', g),
    prop('description', 'Description', 'string', 'textarea', g),
    prop('price', 'Unit price', 'number', 'number', g),
    prop('hs_sku', 'SKU', 'string', 'text', g),
    prop('hs_cost_of_goods_sold', 'Unit cost', 'number', 'number', g),
    prop('hs_recurring_billing_period', 'Term', 'string', 'text', g),
    ...currencies.map((c) =>
      prop(`hs_price_${c.toLowerCase()}`, `Unit price ${c.toUpperCase()}`, 'number', 'number', g),
    ),
  ];
}

export function defaultGroups(type: ObjectType): GroupDef[] {
  return [{ ...INFO_GROUP[type] }];
}
