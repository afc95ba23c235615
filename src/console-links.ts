import type { JourneyLinks } from './trace/journey.ts';
import { DASHBOARD_PATH } from './admin/bull-board.ts';

/** The admin pages of a job (bull-board: `<base>/queue/<queue name>/<job id>`) and of a quarantine entry. */
export const adminLinks: JourneyLinks = {
  job: (queueName, jobId) => `${DASHBOARD_PATH}/queue/${encodeURIComponent(queueName)}/${encodeURIComponent(jobId)}`,
  quarantine: (id) => `/admin/api/quarantine/${encodeURIComponent(id)}`,
};
