/**
 * Grants (core/grant.ts): finding the one that covers a new request at intake, indexing one an approval made,
 * listing them (`GET /v1/grants`) and revoking one (`POST /v1/grants/{id}/revoke`). The granting request's chain is
 * the truth; the index only says which chains to read.
 */
import { type ApprovalState, canRead, decideGrantEnd, decideGrantRevocation, deriveState } from '../core/approval';
import type { Config, PolicyOutcome, Rule } from '../core/config';
import { CountersignError } from '../core/errors';
import {
  GRANT_ID_PATTERN,
  type GrantUse,
  type GrantView,
  grantMismatch,
  grantScopeKey,
  grantScopeValues,
  grantStatus,
  requestIdOfGrant,
  type ScopedRequest,
} from '../core/grant';
import { grantOfferOf } from '../core/policy';
import type { Ports } from '../core/ports';
import { REASON_MAX_LENGTH } from '../core/records';
import { canonicalText } from '../core/text';
import * as z from '../core/zod';
import { countAppended } from './metrics';

/** A revocation's body: why the grant ends (recorded in the ledger, shown to the grant's approvers and requester). */
export const revokeBodySchema = z.strictObject({
  reason: z.string().check(
    z.trim(),
    z.minLength(1, 'say why the grant is revoked'),
    z.maxLength(REASON_MAX_LENGTH),
    // Hidden characters alone say nothing to whoever reads the ledger.
    z.refine((reason) => canonicalText(reason) !== '', 'say why the grant is revoked, in visible text'),
  ),
});

/** At most this many grants are read for one intake or one listing. */
export const GRANTS_READ_LIMIT = 200;
const READ_CONCURRENCY = 8;
/**
 * Grants of one scope intake reads, at most, for one request (each costs a chain read). Several hold at once only
 * when approvers granted the same scope again before the last lapsed; the longest-lived comes first.
 */
const GRANT_CANDIDATES = 5;

/**
 * The grant that approves a new request at once, if one holds: the rule policy sent it to offers grants, a grant of
 * that same rule (unchanged) has the request's scoped values, is neither expired nor revoked on its chain, and none of
 * the people who made it is the new request's requester or the person it acts for.
 */
export async function grantCovering(
  ports: Pick<Ports, 'grants' | 'ledger' | 'clock' | 'policy'>,
  verdict: { readonly rule: string; readonly outcome: PolicyOutcome | Rule },
  request: ScopedRequest,
): Promise<GrantUse | undefined> {
  const config = ports.policy.config();
  const offer = grantOfferOf(config, verdict.outcome);
  if (!offer) return undefined;
  const now = ports.clock.now();
  const key = grantScopeKey(verdict.rule, offer.ruleDigest, grantScopeValues(offer.scope, request));
  // The longest-lived first: its approvers' votes are the ones named. Revoked and ended grants are never found.
  const candidates = await ports.grants.find(key, now, GRANT_CANDIDATES);
  const directory = ports.policy.directory();
  for (const candidate of candidates) {
    const state = deriveState(await ports.ledger.read(candidate.requestId));
    const grant = state?.grant;
    if (!state || !grant || grant.id !== candidate.id) continue;
    if (grantMismatch(grant, state.grantRevoked !== undefined, now, verdict.rule, offer, request) !== undefined) continue;
    // Nobody approves their own request, through a grant either (core/approval.ts `isSelf`, on the new request).
    if (grant.approvers.some((approver) => directory.isOneOf(approver, [request.requester, request.onBehalfOf]))) continue;
    return { grant: grant.id, request: state.id, until: grant.until, approvers: [...grant.approvers] };
  }
  return undefined;
}

/** Indexes the grant an approval made (a repeat changes nothing): the granting chain is already written. */
export async function indexGrant(ports: Pick<Ports, 'grants'>, state: ApprovalState): Promise<void> {
  const { grant } = state;
  // A revoked or ended grant is retired in the index: completing its approval again must not put it back.
  if (!grant || state.grantRevoked) return;
  await ports.grants.put({
    id: grant.id,
    requestId: state.id,
    until: grant.until,
    rule: grant.rule,
    ruleDigest: grant.ruleDigest,
    scopeKey: grantScopeKey(grant.rule, grant.ruleDigest, grant.scope),
  });
}

/** A grant as answered (core/grant.ts `grantViewSchema`), its status judged against the loaded policy (`config`): a changed or dropped rule ended it. */
export function grantView(state: ApprovalState, now: Date, config: Config): GrantView | undefined {
  const { grant } = state;
  if (!grant || !state.outcome) return undefined;
  const rule = config.rules.find((r) => r.name === grant.rule);
  return {
    id: grant.id,
    status: grantStatus(grant, state.grantRevoked !== undefined, now, { offer: rule && grantOfferOf(config, rule) }),
    rule: grant.rule,
    requestId: state.id,
    scope: grant.scope,
    approvers: grant.approvers,
    grantedAt: state.outcome.at,
    until: grant.until,
    ...(state.grantRevoked ? { revokedAt: state.grantRevoked.at, revokedBy: state.grantRevoked.by, revokeReason: state.grantRevoked.reason } : {}),
  };
}

/**
 * The grants `principal` may see, newest first: the active ones and, with `all`, also those revoked, expired or ended
 * (by a policy change) in the last 7 days. At most `GRANTS_READ_LIMIT` grants are read; `partial` says there were more.
 */
export async function listGrants(
  ports: Pick<Ports, 'grants' | 'ledger' | 'clock' | 'policy'>,
  principal: string,
  options: { readonly all?: boolean } = {},
): Promise<{ grants: GrantView[]; partial?: true }> {
  const now = ports.clock.now();
  const since = options.all ? new Date(now.getTime() - 7 * 86_400_000) : now;
  // One more than is read: whether there were more than the limit, which the answer then says.
  const found = await ports.grants.list(since, GRANTS_READ_LIMIT + 1);
  const indexed = found.slice(0, GRANTS_READ_LIMIT);
  const directory = ports.policy.directory();
  const config = ports.policy.config();
  const views: GrantView[] = [];
  for (let i = 0; i < indexed.length; i += READ_CONCURRENCY) {
    const chains = await Promise.all(indexed.slice(i, i + READ_CONCURRENCY).map((g) => ports.ledger.read(g.requestId)));
    for (const chain of chains) {
      const state = deriveState(chain);
      // Who may read the granting request (its requester, its approvers, the auditors) may see its grant.
      if (!state || !canRead(state, principal, directory)) continue;
      const view = grantView(state, now, config);
      if (view && (options.all || view.status === 'active')) views.push(view);
    }
  }
  const grants = views.sort((a, b) => (a.grantedAt < b.grantedAt ? 1 : a.grantedAt > b.grantedAt ? -1 : 0));
  return found.length > GRANTS_READ_LIMIT ? { grants, partial: true } : { grants };
}

/**
 * Revokes a grant with a reason: a `grant_revoked` record on its granting chain, after which intake asks again.
 * Any approver of the granting request or an auditor may. Throws the API's errors.
 */
export async function revokeGrant(
  ports: Pick<Ports, 'ledger' | 'grants' | 'clock' | 'policy' | 'metrics'>,
  principal: string,
  grantId: string,
  reason: string,
): Promise<GrantView> {
  if (!GRANT_ID_PATTERN.test(grantId)) throw new CountersignError('not_found', 'no such grant');
  const directory = ports.policy.directory();
  const requestId = requestIdOfGrant(grantId);
  const { chain, appended } = await ports.ledger.append(requestId, (current) =>
    decideGrantRevocation(current, grantId, principal, reason, ports.clock.now(), directory),
  );
  const state = deriveState(chain)!;
  countAppended(ports.metrics, appended, state);
  // After the ledger: the chain decides; the index only stops pointing intake at it (a retry does it again).
  await ports.grants.retire(grantId);
  return grantView(state, ports.clock.now(), ports.policy.config())!;
}

/**
 * Ends, for good, the active grants whose rule the loaded policy changed or dropped (the repair job, every run): their
 * digest no longer matches, so intake already finds none of them, but a policy that restored the rule would. Reads
 * only the index, and the chains of the grants to end. Answers how many it ended.
 */
export async function endChangedGrants(
  ports: Pick<Ports, 'grants' | 'ledger' | 'clock' | 'policy' | 'metrics'>,
  options: { readonly stopAt: number; readonly onFailure: (requestId: string, err: unknown) => void },
): Promise<number> {
  if (ports.clock.now().getTime() >= options.stopAt) return 0;
  const config = ports.policy.config();
  const digests = new Map(config.rules.map((rule) => [rule.name, grantOfferOf(config, rule)?.ruleDigest]));
  // Every live grant (retired ones are ended already, and lapsed ones need no end): the index alone, no chain.
  const live = await ports.grants.list(ports.clock.now(), Number.POSITIVE_INFINITY);
  const changed = live.filter((g) => !g.retired && digests.get(g.rule) !== g.ruleDigest);
  let ended = 0;
  for (const grant of changed) {
    if (ports.clock.now().getTime() >= options.stopAt) break;
    const current = digests.get(grant.rule);
    const reason =
      current === undefined
        ? `rule ${grant.rule} no longer grants (policy ${ports.policy.version()})`
        : `rule ${grant.rule} changed (policy ${ports.policy.version()})`;
    try {
      const { appended, chain } = await ports.ledger.append(grant.requestId, (c) => decideGrantEnd(c, grant.id, current, reason, ports.clock.now()));
      if (appended.length > 0) {
        ended += 1;
        countAppended(ports.metrics, appended, deriveState(chain)!);
      }
      const state = deriveState(chain);
      if (state?.grantRevoked) await ports.grants.retire(grant.id);
    } catch (err) {
      options.onFailure(grant.requestId, err);
    }
  }
  return ended;
}
