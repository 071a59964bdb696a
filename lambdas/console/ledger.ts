/** Ledger health (`GET /console/ledger`), a verify run from the page (`POST /console/ledger/verify`), export download. */
import type { ConsoleRoute } from './context';
import { consolePage } from './layout';

export const showLedger: ConsoleRoute = async (_event, { viewer }) =>
  consolePage(viewer, { title: 'Ledger', section: 'ledger', body: '<h1>Ledger</h1><p class="none">Not built yet.</p>' });
export const verifyLedger: ConsoleRoute = showLedger;
export const downloadExport: ConsoleRoute = showLedger;
