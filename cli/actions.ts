/**
 * The CLI for agents and approvers, on the TypeScript client: `countersign request`, `status`, `wait`, `cancel`,
 * `approve`, `deny` and `pending`. Each prints results on stdout (one JSON document with --json), everything else on
 * stderr, and says how it went in its exit code (OUTCOME_EXIT). `countersign run` (run.ts) builds on the same parts.
 */
import { constants as osConstants } from 'node:os';
import { parseArgs } from 'node:util';
import { ApprovalDeadlineError, Countersign, CountersignApiError, DEFAULT_APPROVAL_TIMEOUT_MS, MAX_WAIT_SECONDS } from '../client/index';
import type { Endpoint } from '../client/transport';
import { spanWords, timeLeftWords } from '../lambdas/core/dates';
import { MAX_DURATION_SECONDS, parseDuration } from '../lambdas/core/duration';
import { type ActionRequest, type ActionView, actionRequestSchema, type Decision, type RequestStatus } from '../lambdas/core/request';
import {
  type CliInput,
  type CliIo,
  CONNECTION_USAGE,
  connectionOptions,
  describeApiError,
  EXIT,
  endpointOf,
  err,
  exitCodeOf,
  neutralize,
  out,
  readTextFile,
  shownTime,
  UsageError,
} from './connection';
import { contextRows, type RequestContextFound, requestContext } from './context';
import { Spinner } from './progress';

/** What a request's status means as an exit code (0 ok, 2 usage and 3 API errors are EXIT's). */
export const OUTCOME_EXIT: Readonly<Record<RequestStatus, number>> = { approved: 0, denied: 4, expired: 5, cancelled: 6, pending: 7 };

export const EXIT_CODES = `exit codes: 0 approved (or done); 2 usage error; 3 API or network error (its code is printed, e.g. not_found);
  4 denied; 5 expired; 6 cancelled; 7 still pending at --timeout (the id is printed: "countersign wait <id>" later);
  130 interrupted (Ctrl-C) while waiting`;

const REQUEST_FIELDS = `  --action <action>          what the agent wants to do, e.g. infra.apply (required; a-z 0-9 _ . : -)
  --resource <resource>      what it acts on, e.g. vpc-prod or an ARN
  --environment <env>        e.g. production
  --justification <text>     why, in words the approver reads (shown as unverified)
  --parameters <json>        the exact parameters, a JSON object; @file.json reads a file, @- stdin.
                             The approval receipt is bound to them (countersign receipt verify --parameters)
  --on-behalf-of <who>       the person the agent acts for (they cannot approve it)
  --agent-name <name>        the agent's name, shown to approvers and in the ledger
  --idempotency-key <key>    the same key (and the same request) lands on the same request: safe to repeat`;

const TIMEOUT_OPTION = `  --timeout <duration>       stop waiting after 90s, 15m, 2h or plain seconds (default 15m); the request itself
                             stays pending until its rule's timeout`;

const COMMON = `  --json                     print one JSON document on stdout; errors as {"ok":false,"error":{"code","message"}}

${CONNECTION_USAGE}`;

export const REQUEST_USAGE = `usage: countersign request --action <action> [options] [--wait [--timeout <duration>]] [--json] [--quiet]

  Asks for approval of an action. Policy may decide at once (approved or denied); otherwise the request is
  pending until its approvers decide. Prints the request id and its status (and what is still missing).

${REQUEST_FIELDS}
  --wait                     wait for the outcome, as "countersign wait" does (a spinner on a terminal)
${TIMEOUT_OPTION}
  --quiet, -q                print only the request id: id=$(countersign request ... -q)
${COMMON}

  exit codes: without --wait 0 approved or pending, 4 denied by policy; with --wait 0 approved, 4 denied,
  5 expired, 6 cancelled, 7 still pending at --timeout, 130 interrupted (the request stays pending);
  2 usage error; 3 API or network error (its code is printed)`;

export const STATUS_USAGE = `usage: countersign status <request id> [--json]

  The request now: its status, action, resource, environment, who asked and for whom, the agent, its
  justification (the agent's words) and parameters (as recorded: masked where the policy masks), the rule and how
  many approvals it needs, votes with their reasons, what is still missing, time left, the outcome and its receipt.
  The agent's text is shown with hidden and control characters made visible (\x1b, [U+202E]).
  --json adds "context": {"parameters", "justification", "agent", "masked"} (or {"unavailable": why}).

${COMMON}

  exit codes: 0 the request was read (whatever its status; "countersign wait" turns the status into an exit code);
  2 usage error; 3 API or network error (e.g. not_found: no such request, or not one you may see)`;

export const WAIT_USAGE = `usage: countersign wait <request id> [--timeout <duration>] [--json]

  Waits for a request to be decided (long-polling; a spinner on a terminal) and prints the outcome: the reason of
  a deny, the receipt of an approval. Ctrl-C stops waiting; the request stays pending.

${TIMEOUT_OPTION}
${COMMON}

  ${EXIT_CODES}`;

export const CANCEL_USAGE = `usage: countersign cancel <request id> [--json]

  Withdraws a pending request (the requester only); it ends as cancelled.

${COMMON}

  exit codes: 0 cancelled; 2 usage error; 3 API or network error (e.g. already_decided, not_found)`;

export const APPROVE_USAGE = `usage: countersign approve <request id> [--reason <text>] [--for <duration>] [--json]

  Votes to approve, as one of the request's approvers. The request is approved once enough approvers have; until
  then the answer says what is still missing. By default the vote approves this call only.

  --reason <text>            why (recorded in the ledger, shown to the requester)
  --for <duration>           approve for a while (30m, 2h, 1d), where the request's rule allows grants, up to its
                             maxFor: later requests from the same requester that the rule decides, with the same
                             values in its grant scope, are approved at once until then (countersign grants lists
                             them; countersign grants revoke ends one)
${COMMON}

  exit codes: 0 the vote is recorded (a repeated identical vote too); 2 usage error; 3 API or network error
  (e.g. not_an_approver, self_approval, already_decided, not_found, invalid_request: --for longer than the
  rule's maxFor, or a rule without grants)`;

export const DENY_USAGE = `usage: countersign deny <request id> [--reason <text>] [--json]

  Votes to deny, as one of the request's approvers; one deny denies the request.

  --reason <text>            why: optional, but recommended; the requester gets it as the outcome's reason
                             (countersign wait, countersign status) and it is recorded in the ledger
${COMMON}

  exit codes: 0 the vote is recorded; 2 usage error; 3 API or network error (e.g. not_an_approver,
  already_decided, not_found)`;

export const PENDING_USAGE = `usage: countersign pending [--json]

  What waits for your decision: the pending requests you may vote on and have not yet, oldest first, as a table
  of id, action, resource, environment, requester, age, time to expiry and what is still missing; then each one
  in full, as status shows it (parameters, justification, agent, on behalf of, rule, votes), so nothing is
  approved blind. --json: {"ok", "items": [the API's views], "context": {"<id>": {"parameters", …}}}.

${COMMON}

  exit codes: 0 listed (also when nothing waits); 2 usage error; 3 API or network error`;

// ---- shared parts ----

export const baseOptions = {
  ...connectionOptions,
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const requestOptions = {
  action: { type: 'string' },
  resource: { type: 'string' },
  environment: { type: 'string' },
  justification: { type: 'string' },
  parameters: { type: 'string' },
  'on-behalf-of': { type: 'string' },
  'agent-name': { type: 'string' },
  'idempotency-key': { type: 'string' },
} as const;

export const timeoutOption = { timeout: { type: 'string' } } as const;

export interface RequestValues {
  action?: string | undefined;
  resource?: string | undefined;
  environment?: string | undefined;
  justification?: string | undefined;
  parameters?: string | undefined;
  'on-behalf-of'?: string | undefined;
  'agent-name'?: string | undefined;
}

const FLAG_OF: Readonly<Record<string, string>> = {
  action: '--action',
  resource: '--resource',
  environment: '--environment',
  justification: '--justification',
  parameters: '--parameters',
  onBehalfOf: '--on-behalf-of',
  agent: '--agent-name',
};

/** `--parameters`: a JSON object, inline or `@file` (`@-`: stdin, the process's own when not given). */
export function parseParameters(text: string, stdin?: Pick<CliInput, 'readAll'>): Record<string, unknown> {
  const source = text.startsWith('@') ? readTextFile(text.slice(1), stdin) : text;
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (e) {
    throw new UsageError(`--parameters is not JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UsageError('--parameters must be a JSON object, e.g. {"table":"customers"}');
  return value as Record<string, unknown>;
}

/** The action request the flags describe, checked against the API's schema before anything is sent. */
export function buildRequest(values: RequestValues, stdin?: Pick<CliInput, 'readAll'>): ActionRequest {
  if (values.action === undefined || values.action === '') throw new UsageError('--action is required, e.g. --action infra.apply');
  const request = {
    action: values.action,
    ...(values.resource !== undefined ? { resource: values.resource } : {}),
    ...(values.environment !== undefined ? { environment: values.environment } : {}),
    ...(values.justification !== undefined ? { justification: values.justification } : {}),
    ...(values.parameters !== undefined ? { parameters: parseParameters(values.parameters, stdin) } : {}),
    ...(values['on-behalf-of'] !== undefined ? { onBehalfOf: values['on-behalf-of'] } : {}),
    ...(values['agent-name'] !== undefined ? { agent: { name: values['agent-name'] } } : {}),
  };
  const parsed = actionRequestSchema.safeParse(request);
  if (!parsed.success) {
    throw new UsageError(parsed.error.issues.map((i) => `${FLAG_OF[String(i.path[0])] ?? (i.path.join('.') || 'request')}: ${i.message}`).join('; '));
  }
  return parsed.data;
}

/** `--timeout`: `90s`, `15m`, `2h`, `1d` or plain seconds, in ms; 15 minutes when not given. */
export function parseTimeout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_APPROVAL_TIMEOUT_MS;
  const seconds = /^\d{1,9}$/.test(text) ? Number(text) : parseDuration(text);
  if (seconds === undefined) throw new UsageError(`--timeout ${text}: expected a duration such as 90s, 15m, 2h, or plain seconds`);
  if (seconds > MAX_DURATION_SECONDS) throw new UsageError(`--timeout ${text}: at most 365d`);
  return seconds * 1000;
}

/** A timeout as people write it: `2s`, `15m`, `1h30m`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600) ? `${Math.floor((s % 86_400) / 3600)}h` : ''}`;
}

/** The client for the connection options (--url, --api-key, or the environment `env`). */
export function clientOf(values: { url?: string | undefined; 'api-key'?: string | undefined }, env: NodeJS.ProcessEnv): Countersign {
  return new Countersign({ endpoint: endpointOf(values, env) });
}

/** The arguments before a `--` (run's command follows it): where --json is looked for before parsing. */
export function optionPart(argv: readonly string[]): readonly string[] {
  const sep = argv.indexOf('--');
  return sep === -1 ? argv : argv.slice(0, sep);
}

export function printJson(io: CliIo, doc: unknown): void {
  out(io, JSON.stringify(doc));
}

export function errorDoc(code: string, message: string, extra: Record<string, unknown> = {}) {
  return { ok: false, ...extra, error: { code, message } };
}

/**
 * Runs a command body: usage problems exit 2 and API or network errors 3, each printed on stderr in one line (and
 * with --json as `{"ok":false,"error":{...}}` on stdout).
 */
export async function guarded(io: CliIo, name: string, argv: readonly string[], body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    return exitCodeOf(io, e, {
      command: name,
      usageHint: `(countersign ${name} --help for usage)`,
      json: optionPart(argv).includes('--json'),
      usageAsJson: true,
    });
  }
}

/** The one request id a command takes. */
function requestIdOf(positionals: readonly string[]): string {
  if (positionals.length !== 1 || !positionals[0])
    throw new UsageError(positionals.length > 1 ? 'one request id at a time' : 'a request id is required, e.g. act_…');
  return positionals[0];
}

// ---- printing a request ----

/** `45s`, `12m`, `3h5m`, `2d4h`: how long ago or until. */
export function shortSpan(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  return `${Math.floor(h / 24)}d${h % 24 ? `${h % 24}h` : ''}`;
}

function expiresIn(view: ActionView, now = Date.now()): string | undefined {
  if (!view.expiresAt) return undefined;
  const at = Date.parse(view.expiresAt);
  if (Number.isNaN(at)) return neutralize(view.expiresAt);
  return at > now ? `in ${shortSpan(at - now)}` : 'overdue';
}

const quoted = (text: string) => `"${neutralize(text)}"`;

/** "58 minutes left" or "expired", in the words every surface uses (core/dates.ts). */
function timeLeft(iso: string, now = Date.now()): string {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? 'unknown' : timeLeftWords(at - now);
}

function decidedBy(view: ActionView): string | undefined {
  switch (view.decidedBy) {
    case 'policy':
      return `by policy${view.rule ? ` (rule ${neutralize(view.rule)})` : ''}`;
    case 'approvers': {
      const deciding = view.votes.filter((v) => v.decision === (view.status === 'denied' ? 'deny' : 'approve')).map((v) => neutralize(v.approver));
      return `by ${deciding.length ? deciding.join(', ') : 'the approvers'}`;
    }
    case 'timeout':
      return 'by the timeout (nobody decided in time)';
    case 'requester':
      return 'by the requester';
    case 'grant':
      return `by a grant${view.grantedBy ? ` (${neutralize(view.grantedBy.grant)}, made by the approval of ${neutralize(view.grantedBy.request)})` : ''}`;
    default:
      return undefined;
  }
}

/** `label  value` rows under a request's first line. */
function rows(entries: ReadonlyArray<readonly [string, string | undefined]>): string[] {
  const shown = entries.filter((e): e is readonly [string, string] => e[1] !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
}

/** A request in a few lines: `<id> <status>` first (easy to cut), then what matters for its status. */
export function summaryLines(view: ActionView, full = false, context?: RequestContextFound): string[] {
  const head = `${neutralize(view.id)} ${view.status}`;
  const when = (iso: string | undefined) => (iso ? shownTime(iso) : undefined);
  const detail: Array<readonly [string, string | undefined]> = full
    ? [
        ['action', neutralize(view.action)],
        ['resource', view.resource !== undefined ? neutralize(view.resource) : undefined],
        ['environment', view.environment !== undefined ? neutralize(view.environment) : undefined],
        ['requester', neutralize(view.requester)],
        ['on behalf of', view.onBehalfOf !== undefined ? neutralize(view.onBehalfOf) : undefined],
        ...(context ? contextRows(context) : []),
        [
          'rule',
          view.rule !== undefined
            ? `${neutralize(view.rule)} (${view.requiredApprovals} approval${view.requiredApprovals === 1 ? '' : 's'} needed)`
            : undefined,
        ],
        ['created', when(view.createdAt)],
        ...view.votes.map(
          (v) =>
            [
              'vote',
              `${neutralize(v.approver)} ${v.decision === 'approve' ? 'approved' : 'denied'}${v.forSeconds !== undefined ? ` for ${spanWords(v.forSeconds * 1000)} (a grant)` : ''}${v.reason ? `: ${quoted(v.reason)}` : ''} at ${shownTime(v.at)}`,
            ] as const,
        ),
      ]
    : [];
  if (view.status === 'pending') {
    detail.push(['missing', view.missing?.length ? neutralize(view.missing.join(', ')) : undefined]);
    detail.push(['expires', view.expiresAt ? `${shownTime(view.expiresAt)} (${timeLeft(view.expiresAt)})` : undefined]);
  } else {
    detail.push(['decided', [decidedBy(view), view.decidedAt ? `at ${shownTime(view.decidedAt)}` : undefined].filter(Boolean).join(' ') || undefined]);
    detail.push(['reason', view.reason !== undefined ? quoted(view.reason) : undefined]);
    detail.push(['receipt', view.receipt !== undefined ? neutralize(view.receipt) : undefined]);
    // One-time redemption: redeemed once, still to redeem by a deadline (redeemWithin), or lapsed unredeemed.
    detail.push(['redeemed', view.redeemedAt ? `at ${shownTime(view.redeemedAt)} by ${neutralize(view.redeemedBy ?? '?')}` : undefined]);
    detail.push(['redeem by', view.redeemBy ? `${shownTime(view.redeemBy)} (${timeLeft(view.redeemBy)})` : undefined]);
    detail.push(['lapsed', view.lapsedAt ? `at ${shownTime(view.lapsedAt)}: approved, but not redeemed in time` : undefined]);
  }
  // Approved for a while: the grant this approval made, until when (countersign grants lists it).
  detail.push(['grant', view.grant ? `${neutralize(view.grant.id)} until ${shownTime(view.grant.until)}` : undefined]);
  return [head, ...rows(detail)];
}

/** The JSON document of a request: the fields a script wants at the top, the API's whole answer under `request`. */
export function viewDoc(view: ActionView, extra: Record<string, unknown> = {}) {
  return {
    ok: true,
    id: view.id,
    status: view.status,
    ...(view.missing?.length ? { missing: view.missing } : {}),
    ...(view.reason !== undefined ? { reason: view.reason } : {}),
    ...(view.receipt !== undefined ? { receipt: view.receipt } : {}),
    ...extra,
    request: view,
  };
}

function printView(io: CliIo, view: ActionView, json: boolean, full = false, context?: RequestContextFound): void {
  if (json) printJson(io, viewDoc(view, context ? { context: contextDoc(context) } : {}));
  else out(io, summaryLines(view, full, context).join('\n'));
}

/** A context in a JSON document: what was found, or `{"unavailable": why}`. */
const contextDoc = (found: RequestContextFound) => ('context' in found ? found.context : found);

/** The contexts of `views`, a few requests at a time. */
async function contextsOf(endpoint: Endpoint, views: readonly ActionView[]): Promise<RequestContextFound[]> {
  const found: RequestContextFound[] = [];
  for (let i = 0; i < views.length; i += 4) found.push(...(await Promise.all(views.slice(i, i + 4).map((v) => requestContext(endpoint, v.id)))));
  return found;
}

// ---- waiting ----

/** The signal that interrupted a wait; the exit code is 128 + its number (130 for Ctrl-C). */
export function signalExit(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 0);
}

interface Trap {
  readonly signal: AbortSignal;
  received(): NodeJS.Signals | undefined;
  release(): void;
}

/** SIGINT and SIGTERM abort `signal` instead of killing the process; a second one exits at once. */
export function trapSignals(cleanup: () => void): Trap {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const on = (signal: NodeJS.Signals) => {
    if (received) {
      cleanup();
      process.exit(signalExit(signal));
    }
    received = signal;
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  const onInt = () => on('SIGINT');
  const onTerm = () => on('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    received: () => received,
    release: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}

export type Waited =
  | { readonly kind: 'settled'; readonly view: ActionView }
  | { readonly kind: 'deadline'; readonly view: ActionView }
  | { readonly kind: 'interrupted'; readonly signal: NodeJS.Signals; readonly view?: ActionView; readonly cancelled?: boolean; readonly cancelError?: string };

export interface WaitSettings {
  /** Stop waiting this long after the start (ApprovalDeadline: exit 7). */
  readonly timeoutMs: number;
  readonly json: boolean;
  /** Ctrl-C (or SIGTERM) while waiting cancels the request (run), or leaves it pending (wait, request --wait). */
  readonly cancelOnInterrupt: boolean;
}

/**
 * Gets the request (`start`: create it, or read it) and long-polls until it settles, the timeout comes, or a
 * signal interrupts; the spinner shows the time left and what is missing meanwhile.
 */
export async function waitForOutcome(io: CliIo, client: Countersign, start: () => Promise<ActionView>, settings: WaitSettings): Promise<Waited> {
  const deadline = Date.now() + settings.timeoutMs;
  const spinner = Spinner.forCommand(settings.json, io.stderr);
  const trap = trapSignals(() => spinner.stop());
  let view: ActionView | undefined;
  try {
    // The request is not abandoned half-created: a signal during `start` takes effect once it answered.
    view = await start();
    while (view.status === 'pending' && !trap.received()) {
      const expires = view.expiresAt ? Date.parse(view.expiresAt) : Number.NaN;
      spinner.update(view, Number.isNaN(expires) ? deadline : Math.min(deadline, expires));
      const left = deadline - Date.now();
      if (left <= 0) throw new ApprovalDeadlineError(view.id, view);
      view = await client.getStatus(view.id, { waitSeconds: Math.max(1, Math.min(MAX_WAIT_SECONDS, Math.floor(left / 1000))), signal: trap.signal });
    }
    const signal = trap.received();
    if (!signal) return { kind: 'settled', view };
    spinner.stop();
    return await interrupted(client, signal, view, settings);
  } catch (e) {
    spinner.stop();
    const signal = trap.received();
    if (signal) return await interrupted(client, signal, view, settings);
    if (e instanceof ApprovalDeadlineError) return { kind: 'deadline', view: e.view };
    throw e;
  } finally {
    spinner.stop();
    trap.release();
  }
}

async function interrupted(client: Countersign, signal: NodeJS.Signals, view: ActionView | undefined, settings: WaitSettings): Promise<Waited> {
  if (view?.status !== 'pending' || !settings.cancelOnInterrupt) return { kind: 'interrupted', signal, ...(view ? { view } : {}) };
  // Best effort, and bounded: at most 5 s, and a second signal exits at once (the trap is still set).
  try {
    const cancelled = await client.cancel(view.id, { signal: AbortSignal.timeout(5000) });
    return { kind: 'interrupted', signal, view: cancelled, cancelled: cancelled.status === 'cancelled' };
  } catch (e) {
    return {
      kind: 'interrupted',
      signal,
      view,
      cancelled: false,
      cancelError: e instanceof CountersignApiError ? describeApiError(e) : neutralize((e as Error).message),
    };
  }
}

/** What `wait` and `request --wait` print for a wait and the exit code it means. */
function reportWait(io: CliIo, name: string, waited: Waited, settings: WaitSettings): number {
  if (waited.kind === 'settled') {
    printView(io, waited.view, settings.json);
    return OUTCOME_EXIT[waited.view.status];
  }
  if (waited.kind === 'deadline') {
    const id = neutralize(waited.view.id);
    if (settings.json) printJson(io, viewDoc(waited.view, { timedOut: true }));
    else out(io, summaryLines(waited.view).join('\n'));
    err(io, `countersign ${name}: ${id} is still pending after ${formatDuration(settings.timeoutMs)}; wait again with: countersign wait ${id}`);
    return OUTCOME_EXIT.pending;
  }
  const id = waited.view ? neutralize(waited.view.id) : undefined;
  const message = id ? `stopped waiting; ${id} is still pending (countersign wait ${id} / countersign cancel ${id})` : 'interrupted';
  if (settings.json) printJson(io, errorDoc('interrupted', message, id ? { id } : {}));
  err(io, `countersign ${name}: ${message}`);
  return signalExit(waited.signal);
}

// ---- the commands ----

export function request(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, 'request', argv, async () => {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        ...baseOptions,
        ...requestOptions,
        ...timeoutOption,
        wait: { type: 'boolean', default: false },
        quiet: { type: 'boolean', short: 'q', default: false },
      },
    });
    if (values.help) {
      out(io, REQUEST_USAGE);
      return EXIT.ok;
    }
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}": every field is an option, e.g. --action infra.apply`);
    const body = buildRequest(values, io.stdin);
    const timeoutMs = parseTimeout(values.timeout);
    if (values.timeout !== undefined && !values.wait) throw new UsageError('--timeout applies to --wait');
    const client = clientOf(values, io.env);
    const key = values['idempotency-key'];
    const create = () => client.createAction(body, key !== undefined ? { idempotencyKey: key } : {});
    if (!values.wait) {
      const view = await create();
      if (values.quiet && !values.json) out(io, neutralize(view.id));
      else printView(io, view, values.json);
      return view.status === 'denied' ? OUTCOME_EXIT.denied : EXIT.ok;
    }
    const settings = { timeoutMs, json: values.json, cancelOnInterrupt: false };
    const waited = await waitForOutcome(io, client, create, settings);
    if (values.quiet && !values.json && waited.kind !== 'interrupted') {
      out(io, neutralize(waited.view.id));
      if (waited.kind === 'deadline') err(io, `countersign request: ${neutralize(waited.view.id)} is still pending after ${formatDuration(timeoutMs)}`);
      return OUTCOME_EXIT[waited.view.status];
    }
    return reportWait(io, 'request', waited, settings);
  });
}

/**
 * A command on one request id: the shared options, and `timeout` (wait), `reason` (approve, deny) or `for`
 * (approve) where they apply.
 */
function parseIdCommand(argv: readonly string[], accepts: { timeout?: boolean; reason?: boolean; for?: boolean } = {}) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { ...baseOptions, ...timeoutOption, reason: { type: 'string' }, for: { type: 'string' } },
  });
  if (values.timeout !== undefined && !accepts.timeout) throw new UsageError('--timeout is not an option of this command');
  if (values.reason !== undefined && !accepts.reason) throw new UsageError('--reason is not an option of this command');
  if (values.for !== undefined && !accepts.for) throw new UsageError('--for is not an option of this command: only an approval can be for a while');
  return { values, positionals };
}

/** `--for`: a duration as the config writes one (`30m`, `2h`, `1d`); the server checks it against the rule's maxFor. */
export function parseFor(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (parseDuration(text) === undefined) throw new UsageError(`--for ${text}: expected a duration such as 30m, 2h or 1d`);
  return text;
}

export function status(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, 'status', argv, async () => {
    const { values, positionals } = parseIdCommand(argv);
    if (values.help) return help(io, STATUS_USAGE);
    const id = requestIdOf(positionals);
    // What the request asks (parameters, justification, agent) comes from its ledger; the view is the API's.
    const [view, context] = await Promise.all([clientOf(values, io.env).getStatus(id), requestContext(endpointOf(values, io.env), id)]);
    printView(io, view, values.json, true, context);
    return EXIT.ok;
  });
}

export function wait(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, 'wait', argv, async () => {
    const { values, positionals } = parseIdCommand(argv, { timeout: true });
    if (values.help) return help(io, WAIT_USAGE);
    const id = requestIdOf(positionals);
    const timeoutMs = parseTimeout(values.timeout);
    const client = clientOf(values, io.env);
    const settings = { timeoutMs, json: values.json, cancelOnInterrupt: false };
    return reportWait(io, 'wait', await waitForOutcome(io, client, () => client.getStatus(id), settings), settings);
  });
}

export function cancel(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, 'cancel', argv, async () => {
    const { values, positionals } = parseIdCommand(argv);
    if (values.help) return help(io, CANCEL_USAGE);
    printView(io, await clientOf(values, io.env).cancel(requestIdOf(positionals)), values.json);
    return EXIT.ok;
  });
}

function vote(decision: Decision, usage: string) {
  return (argv: readonly string[], io: CliIo) =>
    guarded(io, decision, argv, async () => {
      const { values, positionals } = parseIdCommand(argv, { reason: true, for: decision === 'approve' });
      if (values.help) return help(io, usage);
      const id = requestIdOf(positionals);
      const reason = values.reason;
      if (reason !== undefined && reason.length > 1000) throw new UsageError('--reason: at most 1000 characters');
      const forDuration = parseFor(values.for);
      const view = await clientOf(values, io.env).decide(id, decision, {
        ...(reason !== undefined ? { reason } : {}),
        ...(forDuration !== undefined ? { for: forDuration } : {}),
      });
      printView(io, view, values.json);
      if (decision === 'deny' && reason === undefined && !values.json)
        err(io, 'countersign deny: no --reason given; the requester sees only that it was denied');
      return EXIT.ok;
    });
}

export const approve = vote('approve', APPROVE_USAGE);
export const deny = vote('deny', DENY_USAGE);

/** Cuts a table cell to `max` characters. */
function cell(text: string, max = 40): string {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

/** The pending requests as an aligned table; untrusted text neutralized. */
export function pendingTable(items: readonly ActionView[], now = Date.now()): string[] {
  const header = ['ID', 'ACTION', 'RESOURCE', 'ENVIRONMENT', 'REQUESTER', 'AGE', 'EXPIRES', 'MISSING'];
  const body = items.map((v) => {
    const created = Date.parse(v.createdAt);
    return [
      neutralize(v.id),
      cell(neutralize(v.action)),
      cell(neutralize(v.resource ?? '-')),
      cell(neutralize(v.environment ?? '-'), 20),
      cell(neutralize(v.requester), 64),
      Number.isNaN(created) ? '?' : shortSpan(now - created),
      expiresIn(v, now) ?? '-',
      neutralize(v.missing?.join(', ') || '-'),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => [...r[i]!].length)));
  return [header, ...body].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length))).join('  '));
}

export function pending(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, 'pending', argv, async () => {
    const { values, positionals } = parseIdCommand(argv);
    if (values.help) return help(io, PENDING_USAGE);
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const items = await clientOf(values, io.env).pending();
    const contexts = await contextsOf(endpointOf(values, io.env), items);
    if (values.json) printJson(io, { ok: true, items, context: Object.fromEntries(items.map((v, i) => [v.id, contextDoc(contexts[i]!)])) });
    else if (items.length === 0) out(io, 'nothing waits for your decision');
    // The table, then each request in full: what it would do, why the agent says so, who asked, votes, time left.
    else out(io, [...pendingTable(items), ...items.flatMap((v, i) => ['', ...summaryLines(v, true, contexts[i])])].join('\n'));
    return EXIT.ok;
  });
}

function help(io: CliIo, usage: string): number {
  out(io, usage);
  return EXIT.ok;
}
