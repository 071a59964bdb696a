/**
 * `npm run load`: many agents and approvers drive local mode at once for a fixed time, through the real client.
 * Starts local mode in-process on a temp folder with its own policy, runs the agent and approver loops, and prints one
 * table: requests by kind and outcome, throughput, intake latency, time to decision, client errors and retries; then
 * it checks the system afterwards: a checkpoint run, the whole ledger exported and verified with the public key, and
 * every request's final status against what its scenario expects. Exit 0 only if all of that holds.
 *
 *   npm run load -- --seconds 30 --agents 24 --approvers 4 --mix allow:0.3,deny:0.1,approve:0.4,deny-by-approver:0.1,cancel:0.1
 *
 * Each option also reads from the environment: LOAD_SECONDS, LOAD_AGENTS, LOAD_APPROVERS, LOAD_MIX.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { exportLedger } from '../cli/audit-export';
import { publicKeyFromApi } from '../cli/connection';
import { type ActionRequest, type ActionView, ApprovalDeadlineError, Countersign, CountersignApiError, type SettledStatus } from '../client/index';
import type { Config } from '../lambdas/core/config';
import { parseConfig } from '../lambdas/core/config-yaml';
import { type LedgerReport, verifyLedgerLines } from '../lambdas/core/ledger-verify';
import { REQUEST_ID_PATTERN, REQUEST_STATUSES, type RequestStatus } from '../lambdas/core/request';
import { startLocalRuntime } from '../local/runtime';
import type { ScheduleRun } from '../local/schedules';
import { ascending, type Figure, formatTable, latencySummary, percentile } from './stats';

/** What an agent does with one request, and how it must end. */
const SCENARIOS = {
  /** Allowed by policy at once. */
  allow: { action: 'load.read', final: 'approved', decidedBy: 'policy' },
  /** Denied by policy at once. */
  deny: { action: 'load.drop', final: 'denied', decidedBy: 'policy' },
  /** Needs approval; the approvers approve it. */
  approve: { action: 'load.change', final: 'approved', decidedBy: 'approvers', vote: 'approve' },
  /** Needs approval; an approver denies it. */
  'deny-by-approver': { action: 'load.risky-change', final: 'denied', decidedBy: 'approvers', vote: 'deny' },
  /** Needs approval; the agent withdraws it at once (the approvers leave it alone). */
  cancel: { action: 'load.withdrawn', final: 'cancelled', decidedBy: 'requester' },
  /** Needs approval under a short timeout nobody answers: it expires. */
  expire: { action: 'load.unattended', final: 'expired', decidedBy: 'timeout' },
} as const satisfies Record<string, { action: string; final: SettledStatus; decidedBy: NonNullable<ActionView['decidedBy']>; vote?: 'approve' | 'deny' }>;

type Kind = keyof typeof SCENARIOS;
const KINDS = Object.keys(SCENARIOS) as Kind[];
const KIND_OF_ACTION = new Map<string, Kind>(KINDS.map((kind) => [SCENARIOS[kind].action, kind]));

const DEFAULTS = { seconds: 30, agents: 24, approvers: 4, mix: 'allow:0.3,deny:0.1,approve:0.4,deny-by-approver:0.1,cancel:0.1' } as const;
/** Approval rules outlast any run; only the `expire` scenario's rule times out, after this long. */
const APPROVAL_TIMEOUT = '1h';
const EXPIRE_TIMEOUT_SECONDS = 5;
/** How long past its deadline an `expire` request may take to show expired (the workflow's timer, then the Expire step). */
const EXPIRY_GRACE_MS = 30_000;
/** Local mode checkpoints records at least this old (CHECKPOINT_SETTLE_SECONDS there). */
const CHECKPOINT_SETTLE_MS = 4_000;
/** An approver with nothing to vote on looks again after this long; it votes on at most BATCH of the 2 × BATCH oldest per look. */
const APPROVER_IDLE_MS = 100;
const APPROVER_BATCH = 5;
/** Concurrent reads when accounting for every request afterwards. */
const ACCOUNTING_CONCURRENCY = 8;

const AUDITOR = 'load-auditor@example.com';
const AUDITOR_KEY = 'load-auditor-key';
const agentKey = (i: number) => `load-agent-${i}-key`;
const approverKey = (i: number) => `load-approver-${i}-key`;
const approverId = (i: number) => `load-approver-${i}@example.com`;

class UsageError extends Error {}

interface LoadOptions {
  readonly seconds: number;
  readonly agents: number;
  readonly approvers: number;
  /** Weight per kind, summing to 1. */
  readonly mix: ReadonlyMap<Kind, number>;
}

function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): LoadOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: { seconds: { type: 'string' }, agents: { type: 'string' }, approvers: { type: 'string' }, mix: { type: 'string' } },
  });
  const whole = (name: 'seconds' | 'agents' | 'approvers', fallback: number, min: number): number => {
    const text = values[name] ?? env[`LOAD_${name.toUpperCase()}`];
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} must be a whole number of at least ${min}, not ${text}`);
    return value;
  };
  return {
    seconds: whole('seconds', DEFAULTS.seconds, 1),
    agents: whole('agents', DEFAULTS.agents, 1),
    approvers: whole('approvers', DEFAULTS.approvers, 1),
    mix: parseMix(values.mix ?? env.LOAD_MIX ?? DEFAULTS.mix),
  };
}

/** `allow:0.3,deny:0.1,...`: weights per kind, normalized; kinds not named get none. */
function parseMix(text: string): Map<Kind, number> {
  const weights = new Map<Kind, number>();
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, weight, extra] = part.split(':');
    const value = Number(weight);
    if (extra !== undefined || !name || !(name in SCENARIOS))
      throw new UsageError(`--mix: ${part} is not <kind>:<weight> with a kind among ${KINDS.join(', ')}`);
    if (!Number.isFinite(value) || value < 0) throw new UsageError(`--mix: the weight of ${name} must be a number of at least 0`);
    weights.set(name as Kind, (weights.get(name as Kind) ?? 0) + value);
  }
  const total = [...weights.values()].reduce((a, b) => a + b, 0);
  if (total <= 0) throw new UsageError('--mix: the weights add up to nothing');
  return new Map([...weights].filter(([, w]) => w > 0).map(([kind, w]) => [kind, w / total]));
}

function describeMix(mix: ReadonlyMap<Kind, number>): string {
  return [...mix].map(([kind, w]) => `${kind}:${Number(w.toFixed(3))}`).join(',');
}

function pickKind(mix: ReadonlyMap<Kind, number>): Kind {
  let r = Math.random();
  let last: Kind = 'allow';
  for (const [kind, weight] of mix) {
    last = kind;
    r -= weight;
    if (r < 0) return kind;
  }
  return last;
}

/** Agents, approvers and the auditor with API keys, and one rule per scenario. */
function loadConfig(options: LoadOptions): { config: Config; minApprovals: number } {
  const minApprovals = Math.min(2, options.approvers);
  const approvers = Array.from({ length: options.approvers }, (_, i) => ({ id: approverId(i + 1), email: approverId(i + 1) }));
  const apiKeys: Record<string, string> = { [AUDITOR_KEY]: AUDITOR };
  for (let i = 1; i <= options.agents; i++) apiKeys[agentKey(i)] = `arn:aws:iam::000000000000:role/load-agent-${i}`;
  for (let i = 1; i <= options.approvers; i++) apiKeys[approverKey(i)] = approverId(i);
  const ask = (timeout: string) => ({ effect: 'require_approval', approvers: ['load-approvers'], minApprovals, timeout });
  const document = {
    version: 1,
    groups: { 'load-approvers': { members: approvers } },
    rules: [
      { name: 'load-allowed', match: { action: SCENARIOS.allow.action }, effect: 'allow' },
      { name: 'load-forbidden', match: { action: SCENARIOS.deny.action }, effect: 'deny', reason: 'Forbidden by the load policy.' },
      { name: 'load-unattended', match: { action: SCENARIOS.expire.action }, ...ask(`${EXPIRE_TIMEOUT_SECONDS}s`) },
      { name: 'load-approvals', match: { action: 'load.*' }, ...ask(APPROVAL_TIMEOUT) },
    ],
    default: { effect: 'deny', reason: 'Not part of the load scenarios.' },
    auditors: [AUDITOR],
    channels: { email: { from: 'countersign@example.com' } },
    local: { apiKeys },
  };
  return { config: parseConfig(JSON.stringify(document), 'the load config'), minApprovals };
}

/** One request an agent created, and what the agent saw of it. */
interface Tracked {
  readonly id: string;
  readonly kind: Kind;
  /** The status the agent last saw: pending if it never saw it settle during the run. */
  seen: RequestStatus;
  /** The agent that asked: the receipt is shown to the requester only. */
  readonly agent: Countersign;
}

interface ClientError {
  /** The API's code with its HTTP status, e.g. `already_decided (409)`; else the error's name. */
  readonly code: string;
  /** The client retries on these (429, 5xx, no answer): a failure with one is the retries' last attempt. */
  readonly retryable: boolean;
  readonly expected: boolean;
  readonly message: string;
}

/** What the loops measured. */
class Measurements {
  readonly requests: Tracked[] = [];
  readonly intakeMs: number[] = [];
  readonly decisionMs: number[] = [];
  readonly errors: ClientError[] = [];
  votes = 0;
  settledDuringRun = 0;

  /** A client call failed. `already_decided` on a vote is expected: approvers race for the same requests. */
  failed(role: 'agent' | 'approver', err: unknown): void {
    if (err instanceof CountersignApiError) {
      const expected = role === 'approver' && err.code === 'already_decided';
      const retryable = err.status === 0 || err.status === 429 || err.status >= 500;
      this.errors.push({ code: `${err.code} (${err.status || 'no answer'})`, retryable, expected, message: err.message });
    } else {
      this.errors.push({
        code: err instanceof Error ? err.name : 'thrown',
        retryable: false,
        expected: false,
        message: err instanceof Error ? err.message : String(err),
      });
    }
  }
}

/**
 * Counts the answers the client retries on (429, 5xx, network failures) for calls to `base`, by watching global fetch,
 * which the client calls through; `restore` puts fetch back.
 */
function watchRetryableAnswers(base: string): { count(): number; restore(): void } {
  const original = globalThis.fetch;
  let retryable = 0;
  globalThis.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith(base)) return original(input, init);
    try {
      const res = await original(input, init);
      if (res.status === 429 || res.status >= 500) retryable++;
      return res;
    } catch (err) {
      retryable++;
      throw err;
    }
  };
  const restore = () => {
    globalThis.fetch = original;
  };
  return { count: () => retryable, restore };
}

async function agentLoop(index: number, client: Countersign, mix: ReadonlyMap<Kind, number>, end: Date, m: Measurements): Promise<void> {
  const runId = randomUUID();
  for (let n = 1; Date.now() < end.getTime(); n++) {
    const kind = pickKind(mix);
    const scenario = SCENARIOS[kind];
    const request: ActionRequest = {
      action: scenario.action,
      resource: `arn:aws:s3:::load-bucket/agent-${index}/${n}`,
      environment: 'load',
      parameters: { scenario: kind, n },
      justification: `load test: ${kind}`,
      agent: { name: `load-agent-${index}`, runId },
    };
    const started = performance.now();
    try {
      if (kind === 'allow' || kind === 'deny') {
        // Policy answers at once: the whole call is the intake.
        const outcome = await client.requestApproval(request, { deadline: end });
        m.intakeMs.push(performance.now() - started);
        m.requests.push({ id: outcome.id, kind, seen: outcome.status, agent: client });
        m.settledDuringRun++;
        continue;
      }
      const view = await client.createAction(request);
      m.intakeMs.push(performance.now() - started);
      const tracked: Tracked = { id: view.id, kind, seen: view.status, agent: client };
      m.requests.push(tracked);
      if (kind === 'cancel') {
        tracked.seen = (await client.cancel(view.id)).status;
        m.settledDuringRun++;
      } else if (kind === 'approve' || kind === 'deny-by-approver') {
        try {
          tracked.seen = (await client.wait(view.id, { deadline: end })).status;
          m.decisionMs.push(performance.now() - started);
          m.settledDuringRun++;
        } catch (err) {
          if (!(err instanceof ApprovalDeadlineError)) throw err; // still pending when the run ends: accounted for later
        }
      }
    } catch (err) {
      m.failed('agent', err);
      await sleep(100);
    }
  }
}

async function approverLoop(client: Countersign, end: Date, m: Measurements): Promise<void> {
  while (Date.now() < end.getTime()) {
    let items: ActionView[];
    try {
      items = await client.pending();
    } catch (err) {
      m.failed('approver', err);
      await sleep(APPROVER_IDLE_MS);
      continue;
    }
    // The oldest of what waits for this approver (pending() answers oldest first), in a random order within that
    // window, so approvers spread over the requests rather than collide, and none waits long.
    const votable = items.flatMap((view) => {
      const kind = KIND_OF_ACTION.get(view.action);
      const scenario = kind ? SCENARIOS[kind] : undefined;
      const vote = scenario && 'vote' in scenario ? scenario.vote : undefined;
      return vote ? [{ view, vote, order: Math.random() }] : [];
    });
    if (votable.length === 0) {
      await sleep(APPROVER_IDLE_MS);
      continue;
    }
    const window = votable.slice(0, 2 * APPROVER_BATCH).sort((a, b) => a.order - b.order);
    for (const { view, vote } of window.slice(0, APPROVER_BATCH)) {
      if (Date.now() >= end.getTime()) return;
      try {
        await client.decide(view.id, vote, vote === 'deny' ? 'denied by the load scenario' : undefined);
        m.votes++;
      } catch (err) {
        m.failed('approver', err);
      }
    }
  }
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

interface Mismatch {
  readonly id: string;
  readonly kind: Kind | 'unknown';
  readonly problem: string;
}

/** What is wrong with a request's final state, given its scenario and what the agent saw; undefined if nothing. */
function judge(tracked: Tracked, final: ActionView, receipt: string | undefined, now: number): string | undefined {
  const scenario = SCENARIOS[tracked.kind];
  if (final.status === 'pending') {
    // Only approvals the approvers never got to may still wait, and only while their timeout has not passed.
    const unreached = scenario.decidedBy === 'approvers' && tracked.kind !== 'expire' && tracked.seen === 'pending';
    if (unreached && final.expiresAt && Date.parse(final.expiresAt) > now) return undefined;
    return `still pending (expires ${final.expiresAt ?? 'never'}), expected ${scenario.final}`;
  }
  if (final.status !== scenario.final) return `${final.status}, expected ${scenario.final}`;
  if (final.decidedBy !== scenario.decidedBy) return `decided by ${final.decidedBy ?? 'nobody'}, expected ${scenario.decidedBy}`;
  if (tracked.seen !== 'pending' && tracked.seen !== final.status) return `the agent saw ${tracked.seen}, now ${final.status}`;
  if (final.status === 'approved' && !receipt) return 'approved without a receipt (as its requester reads it)';
  if (final.receipt) return 'a reader other than the requester was shown the receipt';
  if (scenario.decidedBy === 'approvers' && final.status === 'approved') {
    const approvals = new Set(final.votes.filter((v) => v.decision === 'approve').map((v) => v.approver)).size;
    if (approvals < final.requiredApprovals) return `approved with ${approvals} of ${final.requiredApprovals} approvals`;
  }
  return undefined;
}

/** Reads every tracked request's final state (waiting out expiries) and judges it; answers the final views and the mismatches. */
async function account(auditor: Countersign, m: Measurements): Promise<{ finals: Map<string, ActionView>; mismatches: Mismatch[] }> {
  const finals = new Map<string, ActionView>();
  const mismatches: Mismatch[] = [];
  await forEachLimit(m.requests, ACCOUNTING_CONCURRENCY, async (tracked) => {
    let final: ActionView;
    try {
      final = await auditor.getStatus(tracked.id);
      if (final.status === 'pending' && tracked.kind === 'expire') {
        const deadline = new Date((final.expiresAt ? Date.parse(final.expiresAt) : Date.now()) + EXPIRY_GRACE_MS);
        final = (await auditor.wait(tracked.id, { deadline })).view;
      }
    } catch (err) {
      if (err instanceof ApprovalDeadlineError) final = err.view;
      else return void mismatches.push({ id: tracked.id, kind: tracked.kind, problem: `cannot be read: ${(err as Error).message}` });
    }
    finals.set(tracked.id, final);
    const receipt = final.status === 'approved' ? (await tracked.agent.getStatus(tracked.id)).receipt : undefined;
    const problem = judge(tracked, final, receipt, Date.now());
    if (problem) mismatches.push({ id: tracked.id, kind: tracked.kind, problem });
  });
  return { finals, mismatches };
}

/** The whole ledger as `countersign audit verify` checks it: exported through the API, verified with the public key. */
async function verifyLedger(auditor: Countersign): Promise<{ report: LedgerReport; requestIds: Set<string> }> {
  const lines: string[] = [];
  await exportLedger(auditor.endpoint, {}, (line) => lines.push(line));
  const report = verifyLedgerLines(lines, await publicKeyFromApi(auditor.endpoint));
  const requestIds = new Set<string>();
  for (const line of lines.slice(1)) {
    const { requestId } = JSON.parse(line) as { requestId?: unknown };
    if (typeof requestId === 'string' && REQUEST_ID_PATTERN.test(requestId)) requestIds.add(requestId);
  }
  return { report, requestIds };
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** Outcomes first, then what is still pending. */
const TALLY_ORDER: readonly RequestStatus[] = [...REQUEST_STATUSES.filter((s) => s !== 'pending'), 'pending'];

/** `approved 12, pending 1` */
function tally(statuses: readonly RequestStatus[]): string {
  return (
    TALLY_ORDER.map((s) => [s, statuses.filter((x) => x === s).length] as const)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ') || 'none'
  );
}

async function main(): Promise<number> {
  let options: LoadOptions;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    const badArgument = err instanceof UsageError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
    if (!badArgument) throw err;
    console.error(
      `load: ${(err as Error).message}\nusage: npm run load -- [--seconds ${DEFAULTS.seconds}] [--agents ${DEFAULTS.agents}] [--approvers ${DEFAULTS.approvers}] [--mix ${DEFAULTS.mix}]\n  kinds: ${KINDS.join(', ')}`,
    );
    return 2;
  }
  // The functions run in this process and log to stdout as Lambda does; stdout is kept for the report.
  console.log = console.info = (...args: unknown[]) => console.error(...args);
  const log = { info: (message: string) => console.error(message), error: (message: string) => console.error(message) };

  const { config, minApprovals } = loadConfig(options);
  const dir = mkdtempSync(join(tmpdir(), 'cs-load-'));
  const figures: Figure[] = [];
  const notes: string[] = [];
  let ok = true;
  try {
    const startedAt = performance.now();
    const runtime = await startLocalRuntime({ config, dataDir: join(dir, 'data'), port: 0, log });
    const startSeconds = (performance.now() - startedAt) / 1000;
    const retryable = watchRetryableAnswers(runtime.url);
    const client = (apiKey: string) => new Countersign({ url: runtime.url, apiKey });
    const auditor = client(AUDITOR_KEY);
    try {
      console.error(
        `load: local mode up in ${startSeconds.toFixed(1)} s; ${options.agents} agents and ${options.approvers} approvers for ${options.seconds} s`,
      );
      const m = new Measurements();
      const runStart = performance.now();
      const end = new Date(Date.now() + options.seconds * 1000);
      await Promise.all([
        ...Array.from({ length: options.agents }, (_, i) => agentLoop(i + 1, client(agentKey(i + 1)), options.mix, end, m)),
        ...Array.from({ length: options.approvers }, (_, i) => approverLoop(client(approverKey(i + 1)), end, m)),
      ]);
      const elapsed = (performance.now() - runStart) / 1000;
      // Each call that failed on a retryable answer saw it on its last attempt, which was not retried.
      const retries = retryable.count() - m.errors.filter((e) => e.retryable).length;
      console.error(`load: ran ${elapsed.toFixed(1)} s, ${m.requests.length} requests; accounting for each (expiries are waited out)`);

      const runEnded = Date.now();
      const { finals, mismatches } = await account(auditor, m);
      // Let the last records (the run's, or the last expiry's) settle, then seal them with a checkpoint, as the
      // 5-minute schedule would.
      const lastWrite = Math.max(runEnded, ...[...finals.values()].map((v) => (v.decidedAt ? Date.parse(v.decidedAt) : 0)));
      await sleep(Math.max(0, lastWrite + CHECKPOINT_SETTLE_MS + 500 - Date.now()));
      const ran = (await (await fetch(`${runtime.url}/_local/schedules/run`, { method: 'POST', headers: { 'content-type': 'application/json' } })).json()) as {
        ran: ScheduleRun[];
      };
      const failedRuns = ran.ran.filter((r) => !r.ok);
      const { report, requestIds } = await verifyLedger(auditor);
      const created = new Set(m.requests.map((t) => t.id));
      for (const id of requestIds) if (!created.has(id)) mismatches.push({ id, kind: 'unknown', problem: 'in the ledger, but no agent created it' });
      for (const id of created)
        if (!requestIds.has(id)) mismatches.push({ id, kind: m.requests.find((t) => t.id === id)!.kind, problem: 'created, but not in the ledger' });

      const unexpected = m.errors.filter((e) => !e.expected);
      const errorCodes = new Map<string, { n: number; expected: boolean }>();
      for (const e of m.errors) errorCodes.set(e.code, { n: (errorCodes.get(e.code)?.n ?? 0) + 1, expected: e.expected });
      const decision = ascending(m.decisionMs);

      figures.push({
        what: 'run',
        value: `${options.seconds} s, ${options.agents} agents, ${options.approvers} approvers (${count(minApprovals, 'approval')} needed)`,
      });
      figures.push({ what: 'mix', value: describeMix(options.mix) });
      figures.push({ what: 'local mode start', value: `${startSeconds.toFixed(1)} s` });
      for (const kind of KINDS) {
        const ofKind = m.requests.filter((t) => t.kind === kind);
        if (!options.mix.has(kind) && ofKind.length === 0) continue;
        figures.push({ what: `requests: ${kind}`, value: `${ofKind.length}: ${tally(ofKind.map((t) => finals.get(t.id)?.status ?? 'pending'))}` });
      }
      figures.push({ what: 'requests: all', value: `${m.requests.length}: ${tally(m.requests.map((t) => finals.get(t.id)?.status ?? 'pending'))}` });
      figures.push({
        what: 'throughput',
        value: `${(m.requests.length / elapsed).toFixed(1)} requests/s, ${(m.settledDuringRun / elapsed).toFixed(1)} settled/s (seen settled by the agents during the run), ${count(m.votes, 'vote')}`,
      });
      figures.push({ what: 'intake latency (POST /v1/actions)', value: `${latencySummary(m.intakeMs)} (${m.intakeMs.length} requests)` });
      figures.push({
        what: 'time to decision (approve, deny-by-approver)',
        value: decision.length
          ? `p50 ${(percentile(decision, 50) / 1000).toFixed(2)} s, p99 ${(percentile(decision, 99) / 1000).toFixed(2)} s (${decision.length} seen by their agents)`
          : 'none measured',
      });
      figures.push({
        what: 'client errors',
        value: [...errorCodes].map(([code, { n, expected }]) => `${code} × ${n}${expected ? ' (expected: approvers racing)' : ''}`).join(', ') || 'none',
      });
      figures.push({ what: 'retries (429, 5xx, no answer)', value: String(retries) });
      figures.push({
        what: 'checkpoint (POST /_local/schedules/run)',
        value: failedRuns.length
          ? `FAILED: ${failedRuns.map((r) => `${r.function}: ${r.error ?? 'failed'}`).join('; ')}`
          : `ran ${ran.ran.length} scheduled function${ran.ran.length === 1 ? '' : 's'}`,
      });
      figures.push({
        what: 'ledger verify',
        value: `${report.ok ? 'OK' : 'FAILED'}: ${report.records} records in ${report.requests} requests, ${report.checkpoints} checkpoints; ${report.covered} under a checkpoint, ${report.pending} newer${report.ok ? '' : `; ${count(report.findings.length, 'finding')}`}`,
      });
      figures.push({ what: 'accounting', value: `${m.requests.length} requests checked, ${mismatches.length} mismatches` });

      for (const e of unexpected.slice(0, 10)) notes.push(`ERROR     ${e.code}: ${e.message}`);
      if (unexpected.length > 10) notes.push(`ERROR     ... and ${unexpected.length - 10} more`);
      for (const f of report.findings.slice(0, 20)) notes.push(`FINDING   ${f.kind.toUpperCase()} ${f.message}`);
      if (report.findings.length > 20) notes.push(`FINDING   ... and ${report.findings.length - 20} more`);
      for (const x of mismatches.slice(0, 20)) notes.push(`MISMATCH  ${x.id} (${x.kind}): ${x.problem}`);
      if (mismatches.length > 20) notes.push(`MISMATCH  ... and ${mismatches.length - 20} more`);
      ok = unexpected.length === 0 && failedRuns.length === 0 && report.ok && mismatches.length === 0 && m.requests.length > 0;
    } finally {
      retryable.restore();
      await runtime.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`\n${formatTable(figures)}${notes.map((n) => `${n}\n`).join('')}load: ${ok ? 'OK' : 'FAILED'}\n`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
