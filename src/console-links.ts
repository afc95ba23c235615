// The console's addresses, for whoever links into it: the console's own pages, and `course-sync
// trace`, which prints where to open each job of a journey. They sit on the ground so that the
// console (src/admin/) and the CLI (src/cli/) each reach them without importing the other.

/** Where bull-board is served; the admin gate in front of it owns authentication. */
export const DASHBOARD_PATH = '/admin/queues';

/**
 * The admin pages of a job (bull-board: `<base>/queue/<queue name>/<job id>`) and of a quarantine
 * entry: the JourneyLinks (trace/journey.ts) the console and the CLI hand to the traces.
 */
export const adminLinks = {
  job: (queueName: string, jobId: string) =>
    `${DASHBOARD_PATH}/queue/${encodeURIComponent(queueName)}/${encodeURIComponent(jobId)}`,
  quarantine: (id: string) => `/admin/api/quarantine/${encodeURIComponent(id)}`,
};
