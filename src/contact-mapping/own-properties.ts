// The contact properties course-sync owns whatever the contact mapping says: the mapping file
// (file.ts) refuses them, and the HubSpot room (hubspot/properties.ts) defines them with these names.

/** Multi-checkbox of every course a contact enrolled in: option value = course id, label = course name. */
export const ENROLLED_COURSES = 'loopwise_enrolled_courses';

/** The welcome email's status as SendGrid's Event Webhook reports it (see sendgrid/events.ts). */
export const EMAIL_STATUS = 'loopwise_welcome_email_status';
