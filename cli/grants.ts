/**
 * `countersign grants`: the grants the caller may see (approvals for a while, docs/api.md "Grants"), and
 * `countersign grants revoke <grant id> --reason <text>`, which ends one early (an approver of its rule, or an
 * auditor): later matching requests are asked again.
 */
import { parseArgs } from 'node:util';
import { GRANT_ID_PATTERN, type GrantView } from '../lambdas/core/grant';
import { REASON_MAX_LENGTH } from '../lambdas/core/records';
import { baseOptions, clientOf, guarded, printJson } from './actions';
import { type CliIo, CONNECTION_USAGE, EXIT, err, neutralize, out, shownTime, UsageError } from './connection';

const COMMON = `  --json                     print one JSON document on stdout; errors as {"ok":false,"error":{"code","message"}}

${CONNECTION_USAGE}`;

export const GRANTS_USAGE = `usage: countersign grants [--all] [--json]
       countersign grants revoke <grant id> --reason <text> [--json]

  A grant is an approval for a while: an approver approved a request "for 2h" (countersign approve --for 2h, or
  the review page, console or Slack), and later requests from the same requester that the same rule decides, with
  the same values in the rule's grant scope, are approved at once until it lapses or is revoked.

  Lists the grants you may see (as requester, approver or auditor), newest first: id, status, rule, scope,
  approvers, until. Agent-supplied values are shown with hidden and control characters made visible.

  --all                      also the grants revoked or expired in the last 7 days
${COMMON}

  exit codes: 0 listed (also when there are none); 2 usage error; 3 API or network error`;

export const GRANTS_REVOKE_USAGE = `usage: countersign grants revoke <grant id> --reason <text> [--json]

  Ends a grant early, as an approver of its rule or an auditor. The revocation is a ledger record on the granting
  request's chain; from then on matching requests are asked again.

  --reason <text>            why (required; recorded in the ledger, at most 1000 characters)
${COMMON}

  exit codes: 0 revoked (the same revocation again too); 2 usage error; 3 API or network error
  (e.g. not_found, forbidden, already_decided: already revoked or expired)`;

/** A grant's scope in one cell: `action=db.migrate requester=…`, a field the granting request left out as `(none)`. */
export function scopeText(scope: GrantView['scope']): string {
  return Object.entries(scope)
    .map(([field, value]) => `${field}=${value === null || value === undefined ? '(none)' : neutralize(value)}`)
    .join(' ');
}

/** The grants as an aligned table; every value from the ledger neutralized. */
export function grantsTable(grants: readonly GrantView[]): string[] {
  const header = ['ID', 'STATUS', 'RULE', 'SCOPE', 'APPROVERS', 'UNTIL'];
  const body = grants.map((g) => [
    neutralize(g.id),
    g.status,
    neutralize(g.rule),
    scopeText(g.scope),
    g.approvers.map(neutralize).join(', '),
    `${shownTime(g.until)}${g.status === 'revoked' && g.revokedAt ? ` (revoked ${shownTime(g.revokedAt)})` : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => [...r[i]!].length)));
  return [header, ...body].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length))).join('  '));
}

/** One grant in a few lines (what revoke prints). */
export function grantLines(grant: GrantView): string[] {
  const rows: Array<readonly [string, string | undefined]> = [
    ['rule', neutralize(grant.rule)],
    ['request', neutralize(grant.requestId)],
    ['scope', scopeText(grant.scope)],
    ['approvers', grant.approvers.map(neutralize).join(', ')],
    ['granted', shownTime(grant.grantedAt)],
    ['until', shownTime(grant.until)],
    ['revoked', grant.revokedAt ? `${shownTime(grant.revokedAt)} by ${neutralize(grant.revokedBy ?? '?')}` : undefined],
    ['reason', grant.revokeReason !== undefined ? `"${neutralize(grant.revokeReason)}"` : undefined],
  ];
  const shown = rows.filter((r): r is readonly [string, string] => r[1] !== undefined);
  const width = Math.max(...shown.map(([label]) => label.length));
  return [`${neutralize(grant.id)} ${grant.status}`, ...shown.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)];
}

function list(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, 'grants', argv, async () => {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { ...baseOptions, all: { type: 'boolean', default: false } },
    });
    if (values.help) {
      out(io, GRANTS_USAGE);
      return EXIT.ok;
    }
    if (positionals.length)
      throw new UsageError(`unknown subcommand "${positionals[0]}": expected "countersign grants" or "countersign grants revoke <grant id>"`);
    const { grants, partial } = await clientOf(values, io.env).grants({ status: values.all ? 'all' : 'active' });
    if (partial) err(io, 'warning: there are more grants than one answer reads (200); some may be missing from this list');
    if (values.json) printJson(io, { ok: true, grants, ...(partial ? { partial } : {}) });
    else if (grants.length === 0) out(io, values.all ? 'no grants in the last 7 days' : 'no active grants');
    else out(io, grantsTable(grants).join('\n'));
    return EXIT.ok;
  });
}

function revoke(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, 'grants revoke', argv, async () => {
    const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { ...baseOptions, reason: { type: 'string' } } });
    if (values.help) {
      out(io, GRANTS_REVOKE_USAGE);
      return EXIT.ok;
    }
    if (positionals.length !== 1 || !positionals[0]) {
      throw new UsageError(positionals.length > 1 ? 'one grant id at a time' : 'a grant id is required, e.g. grt_… (countersign grants lists them)');
    }
    const id = positionals[0];
    if (!GRANT_ID_PATTERN.test(id)) throw new UsageError(`"${id}" is not a grant id: grant ids start with grt_ (countersign grants lists them)`);
    const reason = values.reason?.trim();
    if (!reason) throw new UsageError('--reason is required: say why the grant is revoked');
    if (reason.length > REASON_MAX_LENGTH) throw new UsageError(`--reason: at most ${REASON_MAX_LENGTH} characters`);
    const grant = await clientOf(values, io.env).revokeGrant(id, reason);
    if (values.json) printJson(io, { ok: true, grant });
    else out(io, grantLines(grant).join('\n'));
    return EXIT.ok;
  });
}

/** `countersign grants [revoke …]`: main.ts passes the subcommand's name first when one was given. */
export function grantsCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return argv[0] === 'revoke' ? revoke(argv.slice(1), io) : list(argv, io);
}
