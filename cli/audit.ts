/**
 * `countersign audit <subcommand>`: a request's audit ledger. `show` prints it as one readable timeline and checks
 * the chain (hashes, links, signatures) with the ledger's public key and the signing certificates the records name.
 */
import type { KeyObject } from 'node:crypto';
import { parseArgs } from 'node:util';
import { apiRequest, CountersignApiError, type Endpoint, expectOk } from '../client/transport';
import { LAPSE_REASON } from '../lambdas/core/approval';
import { formatUtc, spanWords } from '../lambdas/core/dates';
import { type AuditRecord, auditRecordSchema, verifyChain } from '../lambdas/core/ledger-record';
import { channelReportSchema } from '../lambdas/core/records';
import { type SigningCertificate, signingCertificateSchema } from '../lambdas/core/signing-certificate';
import { EXPORT_USAGE, exportCommand, VERIFY_USAGE, verifyCommand } from './audit-export';
import {
  type CliIo,
  CONNECTION_USAGE,
  connectionOptions,
  EXIT,
  endpointOf,
  err,
  exitCodeOf,
  neutralize,
  out,
  publicKeyFromApi,
  publicKeyFromFile,
  shownTime,
  UsageError,
} from './connection';

export const AUDIT_USAGE = `usage: countersign audit <subcommand>

  show <request id> [--json] [--public-key key.pem] [--url <url>] [--api-key <key>]
      the request's ledger as a timeline (when, who, what happened and why), then whether the chain verifies
      (each record's hash, its link to the previous record, and its signature by the ledger key or by a key
      the ledger key certified)
      --public-key key.pem  verify with this PEM key instead of the one GET /v1/audit/public-key answers
      --json                print {"requestId", "ok", "problems", "timeline": [{"seq", "at", "type", "actor", "summary"}]}

  exit codes: 0 the ledger verifies; 1 it does not (each problem is printed by seq); 2 usage error;
  3 the API could not be reached or answered an error (its code is printed, e.g. not_found)

${EXPORT_USAGE}
      exit codes: 0 exported; 2 usage error; 3 the API could not be reached or refused (e.g. forbidden)

${VERIFY_USAGE}

${CONNECTION_USAGE}`;

type Subcommand = (argv: readonly string[], io: CliIo) => Promise<number>;

/** Subcommands by name; each parses its own arguments and answers an exit code. */
const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {
  show,
  export: (argv, io) =>
    guarded(
      io,
      'export',
      () => false,
      () => exportCommand(argv, io),
    ),
  verify: (argv, io) =>
    guarded(
      io,
      'verify',
      () => argv.includes('--json'),
      () => verifyCommand(argv, io),
    ),
};

export async function auditCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== undefined && Object.hasOwn(SUBCOMMANDS, sub)) return SUBCOMMANDS[sub]!(rest, io);
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    out(io, AUDIT_USAGE);
    return EXIT.ok;
  }
  err(io, `${sub ? `countersign audit: unknown subcommand "${neutralize(sub)}"\n\n` : ''}${AUDIT_USAGE}`);
  return EXIT.usage;
}

/** Runs a subcommand body, mapping usage problems to 2 and API or network errors to 3. */
async function guarded(io: CliIo, name: string, json: () => boolean, body: () => Promise<number>, jsonFields?: () => Record<string, unknown>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    return exitCodeOf(io, e, { command: `audit ${name}`, usageHint: `\n${AUDIT_USAGE}`, json: json(), ...(jsonFields ? { jsonFields: jsonFields() } : {}) });
  }
}

export interface LedgerProblem {
  readonly seq: number;
  readonly problem: string;
}

export interface TimelineEntry {
  readonly seq: number;
  readonly at: string;
  readonly type: string;
  readonly actor: string;
  readonly summary: string;
}

/**
 * GET /v1/actions/{id}/audit?certificates=true: the records and the signing certificates they name. An API from
 * before certificates ignores the flag and answers the records as an array; anything else is an API error.
 */
export async function fetchLedger(endpoint: Endpoint, requestId: string): Promise<{ records: unknown[]; certificates: unknown[] }> {
  const res = expectOk(await apiRequest(endpoint, { method: 'GET', path: `/v1/actions/${encodeURIComponent(requestId)}/audit?certificates=true` }));
  const body = res.json() as unknown;
  if (Array.isArray(body)) return { records: body, certificates: [] };
  const { records, certificates } = (typeof body === 'object' && body !== null ? body : {}) as { records?: unknown; certificates?: unknown };
  if (!Array.isArray(records) || !Array.isArray(certificates)) {
    throw new CountersignApiError(res.status, 'invalid_response', 'the audit answer is not a list of records');
  }
  return { records, certificates };
}

/**
 * Checks a ledger as the API answered it: every record well-formed, the chain for `requestId`, not empty, and each
 * record's hash, link and signature (verifyChain), a record signed by a certified key checked through its
 * certificate among `rawCertificates`.
 */
export function checkLedger(
  requestId: string,
  raw: readonly unknown[],
  key: KeyObject,
  rawCertificates: readonly unknown[] = [],
): { records: AuditRecord[]; ok: boolean; problems: LedgerProblem[] } {
  const problems: LedgerProblem[] = [];
  const certificates: SigningCertificate[] = [];
  for (const item of rawCertificates) {
    const parsed = signingCertificateSchema.safeParse(item);
    // A malformed one is left out: the records it signed then fail as signed under an absent certificate.
    if (parsed.success) certificates.push(parsed.data);
  }
  const records: AuditRecord[] = [];
  raw.forEach((item, index) => {
    const parsed = auditRecordSchema.safeParse(item);
    if (parsed.success) records.push(parsed.data);
    else {
      const seq = typeof (item as { seq?: unknown })?.seq === 'number' ? (item as { seq: number }).seq : index + 1;
      const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(record)'))].join(', ');
      problems.push({ seq, problem: `record is malformed (${fields})` });
    }
  });
  if (raw.length === 0) problems.push({ seq: 0, problem: 'the ledger has no records' });
  const other = records.find((r) => r.requestId !== requestId);
  if (other) problems.push({ seq: other.seq, problem: `record belongs to request ${other.requestId}, not ${requestId}` });
  // Only a fully well-formed chain is checked link by link; a malformed record already fails it.
  if (problems.length === 0) problems.push(...verifyChain(records, key, certificates).problems);
  return { records, ok: problems.length === 0, problems };
}

/** The timeline entry of a record: what happened and why, in a sentence; untrusted text neutralized. */
export function timelineEntry(record: AuditRecord): TimelineEntry {
  return {
    seq: record.seq,
    at: neutralize(record.at),
    type: neutralize(record.type),
    actor: neutralize(record.actor),
    summary: neutralize(summarize(record)),
  };
}

// ---- what each record type's data says, read defensively: the CLI must print any ledger, even an odd one ----

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const strs = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
const obj = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const list = (items: readonly string[]) => (items.length ? items.join(', ') : 'nobody');
const quoted = (text: string) => `"${text}"`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `notified` / `reminded` channels: `{email: {sent, failed}}` (older records: a list of channel names). */
function channelSentences(channels: unknown): string[] {
  if (Array.isArray(channels)) return strs(channels).length ? [`on ${strs(channels).join(', ')}`] : [];
  const parts: string[] = [];
  for (const [channel, report] of Object.entries(obj(channels))) {
    const parsed = channelReportSchema.safeParse(report);
    if (!parsed.success) continue;
    if (parsed.data.sent.length) parts.push(`${list(parsed.data.sent)} by ${channel}`);
    for (const f of parsed.data.failed) parts.push(`${channel} to ${f.to} FAILED (${f.error})`);
  }
  return parts;
}

/** `policy_decided.shadow`: what each shadow rule reached would have done (not enforced); empty when there is none. */
function shadowSentence(shadow: unknown): string {
  const parts = (Array.isArray(shadow) ? shadow.map(obj) : []).map((s) => {
    const rule = str(s.rule) ?? '(unnamed)';
    if (Array.isArray(s.notJudged)) return `${rule} could not judge ${list(strs(s.notJudged))}`;
    if (s.effect === 'require_approval') {
      return `${rule} would require ${plural(typeof s.requiredApprovals === 'number' ? s.requiredApprovals : 1, 'approval')} from ${list(strs(s.approverIds))}`;
    }
    return `${rule} would ${s.effect === 'allow' ? 'allow' : s.effect === 'deny' ? 'deny' : `decide ${String(s.effect)}`} it`;
  });
  return parts.length ? ` Shadow rules (on trial, not enforced): ${parts.join('; ')}.` : '';
}

function summarize(record: AuditRecord): string {
  const d = record.data;
  switch (record.type) {
    case 'requested': {
      const request = obj(d.request);
      const requester = str(d.requester) ?? record.actor;
      let s = `${requester} asked to run ${str(request.action) ?? '(no action)'}`;
      if (str(request.resource)) s += ` on ${request.resource}`;
      if (str(request.environment)) s += ` in ${request.environment}`;
      if (str(request.onBehalfOf)) s += ` on behalf of ${request.onBehalfOf}`;
      const agent = obj(request.agent);
      if (str(agent.name)) {
        const about = [str(agent.model) && `model ${agent.model}`, str(agent.runId) && `run ${agent.runId}`].filter(Boolean).join(', ');
        s += `, as agent ${agent.name}${about ? ` (${about})` : ''}`;
      }
      s += '.';
      const masked = Array.isArray(d.masked) ? d.masked.map((m) => str(obj(m).path)).filter((p): p is string => !!p) : [];
      if (masked.length) s += ` Masked in the ledger: ${masked.join(', ')}.`;
      const justification = typeof request.justification === 'string' ? request.justification : undefined;
      s += justification !== undefined ? ` Justification (from the agent, not verified): ${quoted(justification)}` : ' No justification given.';
      return s;
    }
    case 'policy_decided': {
      const rule = str(d.rule) ?? '(unnamed)';
      const reason = str(d.reason);
      const trial = shadowSentence(d.shadow);
      if (d.effect === 'allow') return `Rule ${rule} allows it without approval${reason ? `: ${reason}` : '.'}${trial}`;
      if (d.effect === 'deny') return `Rule ${rule} denies it${reason ? `: ${reason}` : '.'}${trial}`;
      const require = Array.isArray(d.require) ? d.require.map(obj) : [];
      const who = require.length
        ? require.map((r) => `${typeof r.min === 'number' ? r.min : '?'} from ${str(r.group) ?? '?'} (${list(strs(r.members))})`).join(' and ')
        : `${plural(typeof d.requiredApprovals === 'number' ? d.requiredApprovals : 1, 'approval')} from ${list(strs(d.approvers))}`;
      let s = `Rule ${rule} requires ${who}`;
      if (strs(d.channels).length) s += `, asked on ${strs(d.channels).join(', ')}`;
      if (d.requireSignIn === true) s += ', sign-in required';
      if (str(d.expiresAt)) s += `; expires at ${formatUtc(d.expiresAt as string) ?? d.expiresAt}`;
      s += '.';
      if (typeof d.remindAfterSeconds === 'number') s += ` Reminders every ${d.remindAfterSeconds} s.`;
      if (typeof d.escalateAfterSeconds === 'number') s += ` Escalates to ${list(strs(d.escalateTo))} after ${d.escalateAfterSeconds} s.`;
      const offer = obj(d.grant);
      if (typeof offer.maxForSeconds === 'number')
        s += ` Approvers may grant for up to ${spanWords(offer.maxForSeconds * 1000)} (scope: ${strs(offer.scope).join(', ')}).`;
      const used = obj(d.grantedBy);
      if (str(used.grant)) {
        s += ` Approved at once by grant ${str(used.grant)} (made by ${list(strs(used.approvers))} on request ${str(used.request) ?? '?'}, until ${formatUtc(str(used.until) ?? '') ?? str(used.until)}).`;
      }
      if (reason) s += ` Reason: ${reason}`;
      return s + trial;
    }
    case 'notified': {
      const parts = channelSentences(d.channels);
      return parts.length ? `Asked ${parts.join('; ')}.` : `Asked ${list(strs(d.approvers))}.`;
    }
    case 'reminded': {
      const parts = channelSentences(d.channels);
      return `Reminded ${list(strs(d.approvers))} (no vote yet)${parts.length ? `: ${parts.join('; ')}` : ''}.`;
    }
    case 'escalated':
      return `Escalated: ${list(strs(d.approvers))} added as approvers.`;
    case 'voted': {
      const approver = str(d.approver) ?? record.actor;
      const verb = d.decision === 'approve' ? 'approved' : d.decision === 'deny' ? 'denied' : `voted ${String(d.decision)}`;
      const span = typeof d.forSeconds === 'number' ? ` for ${spanWords(d.forSeconds * 1000)} (a grant)` : '';
      return `${approver} ${verb}${span}${typeof d.reason === 'string' && d.reason !== '' ? `: ${quoted(d.reason)}` : ' (no reason given)'}.`;
    }
    case 'approved':
    case 'denied':
    case 'expired':
    case 'cancelled': {
      const reason = str(d.reason);
      const why = reason ? `: ${quoted(reason)}` : '';
      const word = record.type.charAt(0).toUpperCase() + record.type.slice(1);
      // An `expired` after the approval, reason `not redeemed`: the approval lapsed (its rule's redeemWithin).
      if (record.type === 'expired' && reason === LAPSE_REASON) return 'Lapsed: approved, but not redeemed in time.';
      if (record.type === 'expired') return `Expired: no decision in time${why}.`;
      if (d.decidedBy === 'policy') return `${word} by policy${why}.`;
      if (d.decidedBy === 'requester') return `${word} by the requester ${record.actor}${why}.`;
      if (d.decidedBy === 'grant') return `Approved by a grant, made by ${list(strs(d.approvers))}${why}.`;
      const grant = obj(d.grant);
      if (record.type === 'approved' && str(grant.id)) {
        return `Approved by ${list(strs(d.approvers))}${why}, granting ${str(grant.id)} until ${formatUtc(str(grant.until) ?? '') ?? str(grant.until)}.`;
      }
      if (record.type === 'approved') return `Approved by ${list(strs(d.approvers))}${why}.`;
      if (record.type === 'denied') return `Denied by ${record.actor}${why}.`;
      return `${word}${why}.`;
    }
    case 'grant_revoked':
      return `Grant ${str(d.grant) ?? '?'} revoked by ${str(d.revokedBy) ?? record.actor}: ${quoted(str(d.reason) ?? '')}. Later requests are asked again.`;
    case 'executed':
      return `Receipt redeemed by ${str(d.redeemer) ?? record.actor}: the executor runs the action (once).`;
    default:
      return JSON.stringify(d);
  }
}

const showOptions = {
  ...connectionOptions,
  'public-key': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function show(argv: readonly string[], io: CliIo): Promise<number> {
  let json = false;
  let requestId = '';
  return guarded(
    io,
    'show',
    () => json,
    async () => {
      const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: showOptions });
      json = values.json;
      if (values.help) {
        out(io, AUDIT_USAGE);
        return EXIT.ok;
      }
      if (positionals.length !== 1 || !positionals[0]) throw new UsageError(positionals.length > 1 ? 'one request id at a time' : 'a request id is required');
      requestId = positionals[0];
      const fileKey = values['public-key'] !== undefined ? publicKeyFromFile(values['public-key']) : undefined;
      const endpoint = endpointOf(values, io.env);
      const [raw, key] = await Promise.all([fetchLedger(endpoint, requestId), fileKey ?? publicKeyFromApi(endpoint)]);
      const { records, ok, problems } = checkLedger(requestId, raw.records, key, raw.certificates);
      const timeline = records.map(timelineEntry);
      const shownProblems = problems.map((p) => ({ seq: p.seq, problem: neutralize(p.problem) }));
      if (json) {
        out(io, JSON.stringify({ requestId, ok, problems: shownProblems, timeline }));
        return ok ? EXIT.ok : EXIT.failed;
      }
      out(io, `request ${neutralize(requestId)}`);
      for (const entry of timeline) {
        out(io, `${String(entry.seq).padStart(3)}  ${shownTime(entry.at)}  ${entry.type.padEnd(14)} ${entry.actor}`);
        out(io, `     ${entry.summary}`);
      }
      if (ok) out(io, `ledger: ${records.length} ${records.length === 1 ? 'record verifies' : 'records verify'}`);
      else {
        out(io, 'ledger: FAILED');
        for (const p of shownProblems) out(io, `  seq ${p.seq}: ${p.problem}`);
      }
      return ok ? EXIT.ok : EXIT.failed;
    },
    () => ({ requestId }),
  );
}
