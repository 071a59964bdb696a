/**
 * `countersign run --action … -- <command> [args…]`: asks for approval, waits, redeems the approval (so one approval
 * runs the command at most once), and runs the command only then, giving it COUNTERSIGN_REQUEST_ID and
 * COUNTERSIGN_RECEIPT so it can prove the approval downstream. The command's exit code becomes countersign's; when it
 * did not run, the outcome's (OUTCOME_EXIT), or NOT_REDEEMED_EXIT.
 */
import { spawn } from 'node:child_process';
import { isatty } from 'node:tty';
import { parseArgs } from 'node:util';
import { CountersignApiError, REDEMPTION_REFUSALS } from '../client/index';
import type { ActionView } from '../lambdas/core/request';
import {
  baseOptions,
  buildRequest,
  clientOf,
  errorDoc,
  formatDuration,
  guarded,
  OUTCOME_EXIT,
  optionPart,
  parseTimeout,
  printJson,
  requestOptions,
  signalExit,
  timeoutOption,
  viewDoc,
  type Waited,
  waitForOutcome,
} from './actions';
import { type CliIo, CONNECTION_USAGE, EXIT, err, neutralize, out, UsageError } from './connection';

export const RUN_USAGE = `usage: countersign run --action <action> [options] [--timeout <duration>] [--json] -- <command> [args…]

  Asks for approval of the action, waits for it (a spinner on a terminal), redeems the approval
  (POST /v1/actions/{id}/redeem, binding --parameters) and runs the command only if it is approved and this is the
  approval's first redemption, so a rerun with the same --idempotency-key, or a copy of the job, never runs it twice.
  The command runs without a shell, with stdin, stdout and stderr passed through, and with two more variables:
    COUNTERSIGN_REQUEST_ID   the request id (act_…)
    COUNTERSIGN_RECEIPT      the approval receipt, a JWS anyone can check with the ledger's public key
                             (countersign receipt verify "$COUNTERSIGN_RECEIPT")
  SIGINT and SIGTERM sent to countersign are passed on to the command (a Ctrl-C on a terminal reaches the command
  directly, so it is not sent twice). While waiting, Ctrl-C cancels the request (best effort) and exits 130.

  --action <action>          what the command does, e.g. infra.apply (required)
  --resource <resource>      what it acts on, e.g. vpc-prod
  --environment <env>        e.g. production
  --justification <text>     why, in words the approver reads
  --parameters <json>        the exact parameters, a JSON object (@file.json reads a file)
  --on-behalf-of <who>       the person the agent acts for
  --agent-name <name>        the agent's name
  --idempotency-key <key>    run again with the same key (and request) to pick up the same request, e.g. after
                             exit 7: it runs the command once the request is approved
  --timeout <duration>       stop waiting after 90s, 15m, 2h or plain seconds (default 15m)
  --no-redeem                run without redeeming: for a command that redeems the receipt itself
                             (countersign receipt verify --redeem, or its own POST /v1/actions/{id}/redeem). Without
                             a redemption nothing stops a rerun or a copy of the job from running it again
                             (--redeem, the default, is still accepted)
  --json                     when the command does not run, print the outcome as one JSON document on stdout
                             (errors as {"ok":false,"error":{"code","message"}}); when it runs, stdout is its own

${CONNECTION_USAGE}

  exit codes: the command's own exit code when it ran (128 + the signal's number when a signal ended it; 127 when
  it was not found, 126 when it could not be started). When it did not run: 2 usage error (e.g. no command after
  --); 3 API or network error (its code is printed); 4 denied; 5 expired; 6 cancelled; 7 still pending at
  --timeout (the id is printed); 8 the approval was redeemed already, lapsed unredeemed (redeemWithin), or the
  redemption was refused; 130 interrupted while waiting (the request is cancelled)`;

/** The approval was not redeemed by this run (already redeemed, lapsed, or refused), so nothing ran. */
export const NOT_REDEEMED_EXIT = 8;

export function runCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, 'run', argv, async () => {
    const sep = argv.indexOf('--');
    const { values, positionals } = parseArgs({
      args: [...optionPart(argv)],
      allowPositionals: true,
      options: { ...baseOptions, ...requestOptions, ...timeoutOption, redeem: { type: 'boolean' }, 'no-redeem': { type: 'boolean', default: false } },
    });
    if (values.help) {
      out(io, RUN_USAGE);
      return EXIT.ok;
    }
    if (positionals.length) throw new UsageError(`put the command after "--": countersign run --action … -- ${positionals.join(' ')}`);
    const command = sep === -1 ? [] : argv.slice(sep + 1);
    if (command.length === 0 || !command[0]) throw new UsageError('no command after "--": countersign run --action … -- <command> [args…]');
    if (values.redeem && values['no-redeem']) throw new UsageError('--redeem and --no-redeem contradict each other');
    const redeem = !values['no-redeem'];
    const body = buildRequest(values, io.stdin);
    const timeoutMs = parseTimeout(values.timeout);
    const client = clientOf(values, io.env);
    const key = values['idempotency-key'];
    const waited = await waitForOutcome(io, client, () => client.createAction(body, key !== undefined ? { idempotencyKey: key } : {}), {
      timeoutMs,
      json: values.json,
      cancelOnInterrupt: true,
    });
    const name = neutralize(command[0]);
    if (waited.kind === 'settled' && waited.view.status === 'approved') {
      const view = waited.view;
      if (redeem) {
        const id = neutralize(view.id);
        if (view.receipt === undefined) throw new Error(`${view.id} is approved but the API gave no receipt to redeem`);
        try {
          await client.redeem(view.id, view.receipt, { parameters: body.parameters });
        } catch (e) {
          // The API's refusals: the command must not run (any other error is exit 3, as for every call).
          if (!(e instanceof CountersignApiError) || !REDEMPTION_REFUSALS.has(e.code)) throw e;
          if (values.json) printJson(io, errorDoc(e.code, e.message, { id, status: view.status }));
          err(io, `countersign run: ${id} was not redeemed (${e.code}: ${neutralize(e.message)}); ${name} did not run`);
          return NOT_REDEEMED_EXIT;
        }
      }
      if (!values.json)
        err(
          io,
          `countersign run: ${neutralize(view.id)} approved ${describeDecider(view)}${redeem ? ', redeemed' : ', not redeemed (--no-redeem)'}; running ${name}`,
        );
      return execute(io, command, view);
    }
    return notRun(io, waited, name, values.json, timeoutMs);
  });
}

function describeDecider(view: ActionView): string {
  if (view.decidedBy === 'policy') return `by policy${view.rule ? ` (rule ${neutralize(view.rule)})` : ''}`;
  const approvers = view.votes.filter((v) => v.decision === 'approve').map((v) => neutralize(v.approver));
  return approvers.length ? `by ${approvers.join(', ')}` : '';
}

/** Why the command did not run, on stderr (and as JSON on stdout with --json); the exit code it means. */
function notRun(io: CliIo, waited: Waited, name: string, json: boolean, timeoutMs: number): number {
  if (waited.kind === 'interrupted') {
    const id = waited.view ? neutralize(waited.view.id) : undefined;
    const what = !id
      ? 'interrupted'
      : waited.cancelled
        ? `interrupted; ${id} cancelled`
        : `interrupted; ${id} could not be cancelled${waited.cancelError ? ` (${waited.cancelError})` : ''}`;
    if (json) printJson(io, errorDoc('interrupted', what, id ? { id, ...(waited.view ? { status: waited.view.status } : {}) } : {}));
    err(io, `countersign run: ${what}; ${name} did not run`);
    return signalExit(waited.signal);
  }
  const view = waited.view;
  const id = neutralize(view.id);
  if (json) printJson(io, viewDoc(view, waited.kind === 'deadline' ? { timedOut: true } : {}));
  let why: string;
  switch (view.status) {
    case 'denied':
      why = `${id} was denied ${describeDenier(view)}${view.reason ? `: "${neutralize(view.reason)}"` : ''}`;
      break;
    case 'expired':
      why = view.lapsedAt ? `${id} lapsed: it was approved but not redeemed in time` : `${id} expired: nobody decided in time`;
      break;
    case 'cancelled':
      why = `${id} was cancelled`;
      break;
    default:
      why = `${id} is still pending after ${formatDuration(timeoutMs)}${view.missing?.length ? ` (missing: ${neutralize(view.missing.join(', '))})` : ''}; wait for it with: countersign wait ${id}`;
  }
  err(io, `countersign run: ${why}; ${name} did not run`);
  return view.lapsedAt ? NOT_REDEEMED_EXIT : OUTCOME_EXIT[view.status];
}

function describeDenier(view: ActionView): string {
  if (view.decidedBy === 'policy') return `by policy${view.rule ? ` (rule ${neutralize(view.rule)})` : ''}`;
  const deniers = view.votes.filter((v) => v.decision === 'deny').map((v) => neutralize(v.approver));
  return deniers.length ? `by ${deniers.join(', ')}` : '';
}

/**
 * Runs the approved command and resolves its exit code; SIGINT and SIGTERM are passed on while it runs. It inherits
 * the process's stdin, stdout and stderr; when `io` has other streams (a test running the CLI in its process), stdin
 * is fed from io.stdin and the command's output copied to io's stdout and stderr.
 */
export function execute(io: CliIo, command: readonly string[], view: ActionView): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...io.env, COUNTERSIGN_REQUEST_ID: view.id };
  if (view.receipt !== undefined) env.COUNTERSIGN_RECEIPT = view.receipt;
  else delete env.COUNTERSIGN_RECEIPT;
  return new Promise((resolve) => {
    let done = false;
    const child = spawn(command[0]!, command.slice(1), { stdio: io.ownsProcess ? 'inherit' : 'pipe', env });
    if (!io.ownsProcess) {
      child.stdout!.pipe(io.stdout, { end: false });
      child.stderr!.pipe(io.stderr, { end: false });
      io.stdin
        .stream()
        .pipe(child.stdin!)
        .on('error', () => undefined);
    }
    const forward = (signal: NodeJS.Signals) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    // A Ctrl-C on the terminal goes to the whole foreground process group, the command included: passing it on
    // too would deliver it twice (terraform, for one, takes a second interrupt as "abort now").
    const onInt = () => {
      if (!io.ownsProcess || !isatty(0)) forward('SIGINT');
    };
    const onTerm = () => forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    const finish = (code: number) => {
      if (done) return;
      done = true;
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code);
    };
    child.once('error', (e: NodeJS.ErrnoException) => {
      err(io, `countersign run: cannot run ${neutralize(command[0]!)}: ${e.code ?? e.message}`);
      finish(e.code === 'ENOENT' ? 127 : 126);
    });
    // With copied output, 'close': after the last of it was copied.
    child.once(io.ownsProcess ? 'exit' : 'close', (code: number | null, signal: NodeJS.Signals | null) => finish(code ?? (signal ? signalExit(signal) : 1)));
  });
}
