/** The auditor's view (`GET /console/audit`): search and filters over the ledger, and charts. */
import type { ConsoleRoute } from './context';
import { consolePage } from './layout';

export const showAudit: ConsoleRoute = async (_event, { viewer }) =>
  consolePage(viewer, { title: 'Audit', section: 'audit', body: '<h1>Audit</h1><p class="none">Not built yet.</p>' });
