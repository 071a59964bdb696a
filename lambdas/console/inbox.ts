/** The approver's inbox (`GET /console`): what waits for me, and my past decisions. */
import type { ConsoleRoute } from './context';
import { consolePage } from './layout';

export const showInbox: ConsoleRoute = async (_event, { viewer }) =>
  consolePage(viewer, { title: 'Inbox', section: 'inbox', body: '<h1>Inbox</h1><p class="none">Not built yet.</p>' });
