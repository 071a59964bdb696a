/**
 * The console (docs/api.md "The console"): an approver's inbox and decisions, a request's whole story, and the
 * auditor's search, charts, ledger health, verify and export, with the policy and its explain form. Server-rendered
 * HTML that works without script; every answer is a page (or a redirect), never JSON or a stack trace.
 */
import { awsConsoleSessions, awsExportSource, awsServicePorts } from '../adapters/aws-ports';
import { dependencyFailure, type HttpEvent, type HttpResult, logUnhandled, routeHandler } from '../adapters/http';
import { correlate, errorName, logger } from '../adapters/logger';
import { CountersignError } from '../core/errors';
import { requestIdOfGrant } from '../core/grant';
import { escapeHtml } from '../core/html';
import { text } from '../pages/kit';
import { serveAsset } from './assets';
import { showAudit } from './audit';
import type { ConsoleRoute } from './context';
import { showGrants } from './grants';
import { showInbox } from './inbox';
import { consolePage } from './layout';
import { downloadExport, showLedger, verifyLedger } from './ledger';
import { showPolicy } from './policy';
import { decideRequest, revokeGrantFromConsole, showRequest } from './request-page';
import { type ConsolePorts, checkForm, consoleCookie, formOf, redirectTo, type Viewer, viewerOf } from './viewer';

const ports: ConsolePorts = awsServicePorts;

/** A page for signed-in viewers: anyone else is sent to sign in (a GET) or refused (a POST). */
function signedIn(route: ConsoleRoute, who: 'anyone' | 'auditor' | 'reader' = 'anyone') {
  return async (event: HttpEvent): Promise<HttpResult> => {
    let viewer: Viewer | undefined;
    try {
      viewer = await viewerOf(event, ports, awsConsoleSessions());
      if (!viewer) {
        if (event.requestContext.http.method === 'GET') return redirectTo('/console/sign-in');
        throw new CountersignError('unauthorized', 'sign in to the console first');
      }
      if (who === 'auditor' && !viewer.auditor) throw new CountersignError('forbidden', 'only auditors may see this page');
      if (who === 'reader' && !viewer.auditor && !viewer.approver) throw new CountersignError('forbidden', 'only approvers and auditors may read the policy');
      // Signed in: the request the path names is this invocation's (a grant's id names its granting request).
      const id = event.pathParameters?.id;
      correlate(id?.startsWith('grt_') ? requestIdOfGrant(id) : id);
      return await route(event, { ports, exportSource: awsExportSource, viewer });
    } catch (err) {
      return errorPage(err, viewer, event.routeKey);
    }
  };
}

const TITLES: Partial<Record<string, string>> = {
  unauthorized: 'Sign in first',
  forbidden: 'Not allowed',
  not_found: 'Not found',
  invalid_request: 'Check what you entered',
  unsupported_media_type: 'Send the form from the console',
  payload_too_large: 'The form is too large',
  unavailable: 'Try again in a minute',
};

function errorPage(err: unknown, viewer: Viewer | undefined, route: string): HttpResult {
  let error: CountersignError;
  if (err instanceof CountersignError) error = err;
  else if (dependencyFailure(err)) {
    logger.warn('dependency failure', { route, error: errorName(err) });
    error = new CountersignError('unavailable', 'a backing service is unavailable; nothing was changed');
  } else {
    logUnhandled(route, err);
    error = new CountersignError('internal_error', 'something went wrong; nothing was changed');
  }
  const title = TITLES[error.code] ?? 'Something went wrong';
  return consolePage(viewer, {
    title,
    section: 'none',
    status: error.status,
    body: `<h1>${escapeHtml(title)}</h1>
<div class="notice notice-error" role="alert" data-testid="error"><p>${text(error.message)}</p></div>
<p><a href="/console">Back to the inbox</a></p>`,
  });
}

/** `GET /console/sign-in`: how to sign in here (OIDC when configured); a signed-in viewer goes to the inbox. */
async function showSignIn(event: HttpEvent): Promise<HttpResult> {
  if (await viewerOf(event, ports, awsConsoleSessions()).catch(() => undefined)) return redirectTo('/console');
  const oidc = ports.policy.config().auth.oidc;
  const way = oidc
    ? `<p><a href="/v1/auth/login?to=console" class="button-primary" data-testid="sign-in-oidc" style="display:inline-block;text-decoration:none;border-radius:8px">Sign in with your organization’s account</a></p>`
    : '<div class="notice notice-info" role="status" data-testid="no-sign-in"><p>Sign-in is not configured for this deployment: set <code>auth.oidc</code> in the config. Approvers can still decide from their personal review links, Slack or the CLI.</p></div>';
  return consolePage(undefined, {
    title: 'Sign in',
    section: 'none',
    body: `<h1>Sign in to the Countersign console</h1>
<p>Approvers see what waits for them and decide it; auditors search, chart, verify and export the ledger.</p>
${way}`,
  });
}

/** `POST /console/sign-out`: ends the session, in the browser and on the server (a form of the viewer's own console, CSRF-checked). */
async function signOut(event: HttpEvent): Promise<HttpResult> {
  const viewer = await viewerOf(event, ports, awsConsoleSessions()).catch(() => undefined);
  if (viewer) {
    try {
      checkForm(event, viewer, formOf(event));
      // Ended on the server too: a copy of the cookie opens nothing from now on.
      if (viewer.session) await awsConsoleSessions().end(viewer.session.sid, new Date(viewer.session.exp * 1000));
    } catch (err) {
      return errorPage(err, viewer, event.routeKey);
    }
  }
  return redirectTo('/console/sign-in', [consoleCookie(ports, '', 0)]);
}

export const handler = routeHandler(
  {
    'GET /console': signedIn(showInbox),
    'GET /console/sign-in': showSignIn,
    'POST /console/sign-out': signOut,
    'GET /console/requests/{id}': signedIn(showRequest),
    'POST /console/requests/{id}/decision': signedIn(decideRequest),
    'GET /console/grants': signedIn(showGrants),
    'POST /console/grants/{id}/revoke': signedIn(revokeGrantFromConsole),
    'GET /console/audit': signedIn(showAudit, 'auditor'),
    'GET /console/ledger': signedIn(showLedger, 'auditor'),
    'POST /console/ledger/verify': signedIn(verifyLedger, 'auditor'),
    'GET /console/ledger/export': signedIn(downloadExport, 'auditor'),
    'GET /console/policy': signedIn(showPolicy, 'reader'),
    'GET /console/assets/{name}': serveAsset,
  },
  { selfAuthenticated: true },
);
