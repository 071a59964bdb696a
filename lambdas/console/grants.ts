/**
 * The grants the viewer may see (`GET /console/grants`): approvals for a while, as `GET /v1/grants` lists them, each
 * linking to its granting request's page, where an approver of the rule or an auditor revokes it.
 */
import { parseWith } from '../adapters/http';
import { listGrants } from '../app/grants';
import type { GrantView } from '../core/grant';
import { escapeHtml } from '../core/html';
import * as z from '../core/zod';
import { renderTime, text } from '../pages/kit';
import type { ConsoleRoute } from './context';
import { consolePage } from './layout';
import { requestPath } from './request-page';

const grantsQuerySchema = z.strictObject({ status: z.optional(z.enum(['active', 'all'])) });

export const showGrants: ConsoleRoute = async (event, { ports, viewer }) => {
  const query = parseWith(grantsQuerySchema, event.queryStringParameters ?? {});
  const all = query.status === 'all';
  const { grants, partial } = await listGrants(ports, viewer.principal, { all });
  const notice = partial
    ? '<p class="notice notice-info" role="status" data-testid="grants-partial">There are more grants than one page reads (200): some may be missing here.</p>'
    : '';
  return consolePage(viewer, { title: 'Grants', section: 'grants', body: notice + renderGrants(grants, all, ports.clock.now()) });
};

/** The page's content (inside the console's frame). Pure. */
export function renderGrants(grants: readonly GrantView[], all: boolean, now: Date): string {
  const rows = grants
    .map(
      (g) => `<tr data-testid="grant" data-grant="${escapeHtml(g.id)}">
  <td><a href="${escapeHtml(requestPath(g.requestId))}"><code>${text(g.id)}</code></a></td>
  <td>${escapeHtml(g.status)}${g.revokedBy ? ` <span class="hint">by <bdi>${text(g.revokedBy)}</bdi>${g.revokeReason ? `: <q>${text(g.revokeReason)}</q>` : ''}</span>` : ''}</td>
  <td><code>${text(g.rule)}</code></td>
  <td>${Object.entries(g.scope)
    .map(([field, value]) => `${escapeHtml(field)} <bdi>${value === null || value === undefined ? '<span class="none">none</span>' : text(value)}</bdi>`)
    .join('<br>')}</td>
  <td>${g.approvers.map((a) => `<bdi>${text(a)}</bdi>`).join(', ')}</td>
  <td>${renderTime(g.until, 'until', g.status === 'active' ? now : undefined)}</td>
</tr>`,
    )
    .join('\n');
  const switcher = all
    ? '<a href="/console/grants">Active only</a>'
    : '<a href="/console/grants?status=all" data-testid="grants-all">Also those revoked or expired in the last 7 days</a>';
  return `<h1>${all ? 'Grants of the last 7 days' : 'Active grants'}</h1>
<p class="hint">A grant is an approval for a while: later requests from the same requester that its rule decides, with the same values in its scope, are approved at once until it lapses or is revoked. Revoke one on its request's page. ${switcher}</p>
${
  grants.length
    ? `<div class="table-wrap"><table data-testid="grants"><thead><tr><th>Grant</th><th>Status</th><th>Rule</th><th>Scope</th><th>Approvers</th><th>Until</th></tr></thead>
<tbody>${rows}</tbody></table></div>`
    : `<p class="none" data-testid="grants-empty">${all ? 'No grants in the last 7 days' : 'No active grants'} that you may see.</p>`
}`;
}
