/** The loaded policy and its version, and an explain form that tries a request against it (`GET /console/policy`). */
import type { ConsoleRoute } from './context';
import { consolePage } from './layout';

export const showPolicy: ConsoleRoute = async (_event, { viewer }) =>
  consolePage(viewer, { title: 'Policy', section: 'policy', body: '<h1>Policy</h1><p class="none">Not built yet.</p>' });
