/** A request's whole story (`GET /console/requests/{id}`), and deciding it in place (`POST …/decision`). */
import type { ConsoleRoute } from './context';
import { consolePage } from './layout';

export const showRequest: ConsoleRoute = async (_event, { viewer }) =>
  consolePage(viewer, { title: 'Request', section: 'none', body: '<h1>Request</h1><p class="none">Not built yet.</p>' });

export const decideRequest: ConsoleRoute = showRequest;
