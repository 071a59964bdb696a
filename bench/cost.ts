/**
 * Cost per 1,000 approvals on AWS, computed from the synthesized template: the state transitions of the workflow's
 * path for an approval (walked from the definition), the Lambda invocations on that path and the functions' memory,
 * plus the calls each step makes (counted from the code: records, signatures, table writes). Prices are us-east-1
 * list prices, written here with the date they were read; the scenario is the README's: one agent request, two
 * approvers by email who decide over their review links, the agent long-polling once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pollGaps } from '../client/index';
import { waitPollCount } from '../lambdas/app/read';
import { parseConfig } from '../lambdas/core/config-yaml';
import type { CfnTemplate } from '../local/cfn';

/** USD, us-east-1, on-demand list prices (read 2026-11). */
export const PRICES = {
  stepFunctionsTransition: 0.025 / 1000,
  lambdaRequest: 0.2 / 1_000_000,
  lambdaArmGbSecond: 0.0000133334,
  dynamoWriteUnit: 0.625 / 1_000_000,
  dynamoReadUnit: 0.125 / 1_000_000,
  kmsRequest: 0.03 / 10_000,
  httpApiRequest: 1.0 / 1_000_000,
  sesEmail: 0.1 / 1000,
} as const;

/** What one approval does, beyond what the template says (counted from the handlers; see bench/roundtrips.ts). */
export const SCENARIO = {
  approvers: 2,
  /** requested, policy_decided, notified, voted × approvers, approved. */
  ledgerRecords: 6,
  /**
   * The request's own JSON makes `requested` about 2 KB; the others fit in 1 KB. Intake writes requested and
   * policy_decided in one TransactWriteItems, and the deciding vote its vote and `approved` in another: a transaction
   * writes each item twice (prepare, commit). One more unit each for the slot index.
   */
  ledgerWriteUnits: 2 * (2 + 1) + 1 + 1 + 2 * (1 + 1) + 6,
  /** Request item: put with its final status (+ pending index), task token, receipt, cached outcome (+ pending index removal). */
  requestWriteUnits: 2 + 2 + 2 + 2,
  /**
   * Strongly consistent reads of up to 8 KB (2 units): the chain at intake (the Idempotency-Key's id), in Notify, on
   * each review page and each vote, in Finalize and Callback, and the request item in Finalize and Callback.
   */
  readUnits: 2 * (1 + 1 + 2 + 2 + 2 + 2),
  /**
   * One Sign for the receipt (records are signed by each environment's certified key: one Sign per environment and
   * hour, nothing per approval at steady state); one GenerateMac per personal link, one VerifyMac per page shown and
   * per vote; one GenerateMac for the parameters salt at intake and one again for the receipt (and one more for the
   * request id when the agent sends an Idempotency-Key, as the client always does).
   */
  kmsRequests: 1 + 2 + 2 * 2 + 1 + 1 + 1,
  /** POST /v1/actions, review page GET and POST per approver (the agent's GETs while it waits: see WAIT). */
  apiRequests: 1 + 2 * 2,
  /** Decision function calls (two per approver: the page and the vote). */
  decisionInvocations: 2 * 2,
  /** Intake calls: the POST. */
  intakeInvocations: 1,
  /** Billed duration per invocation, a conservative average. */
  averageSeconds: 0.25,
};

/** The agent waiting for the humans: how long, and what each way of waiting costs per call. */
export const WAIT = {
  /** The human wait the model prices. */
  seconds: 10 * 60,
  /** Billed duration of a GET that does not hold: a chain read and the answer. */
  getSeconds: 0.05,
  /** Read units per GET: the chain at the start and, when it held, again at the end (each up to 8 KB, 2 units). */
  chainReadUnits: 2,
  /**
   * A held GET (`?wait=20`): how long it holds. Its status reads (1 unit each) follow the request's age
   * (lambdas/app/read.ts `waitPollCount`): the first hold, on a request just made, polls from 20 ms apart up to a
   * second; every later one, on a request 20 s old or more, once a second.
   */
  holdSeconds: 20,
};

interface StateDefinition {
  Type: string;
  Next?: string;
  /** A Choice's way when no rule holds (an approval without a redeem window goes there). */
  Default?: string;
  End?: boolean;
  Resource?: string;
  Parameters?: { FunctionName?: string };
}

/** The definition as JSON, with each intrinsic (an ARN of the template) replaced by a placeholder naming it. */
function definitionOf(template: CfnTemplate): { StartAt: string; States: Record<string, StateDefinition> } {
  const machine = Object.values(template.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  const raw = machine?.Properties?.DefinitionString as string | { 'Fn::Join': [string, unknown[]] } | undefined;
  if (!raw) throw new Error('the template has no state machine');
  const text =
    typeof raw === 'string'
      ? raw
      : raw['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part).replace(/"/g, '')}>`)).join(raw['Fn::Join'][0]);
  return JSON.parse(text) as { StartAt: string; States: Record<string, StateDefinition> };
}

/**
 * The states an approval enters: from StartAt along each state's Next (a task that succeeds), or a Choice's Default
 * (no redeem window), to the end.
 */
export function approvalPath(template: CfnTemplate): string[] {
  const { StartAt, States } = definitionOf(template);
  const path: string[] = [];
  for (let name: string | undefined = StartAt; name; ) {
    const state: StateDefinition | undefined = States[name];
    if (!state || path.includes(name)) throw new Error(`state ${name} is missing or loops`);
    path.push(name);
    name = state.End || state.Type === 'Succeed' || state.Type === 'Fail' ? undefined : (state.Next ?? state.Default);
  }
  return path;
}

export interface CostLine {
  readonly what: string;
  readonly perApproval: number;
}

/** One way of waiting WAIT.seconds: its calls, and what they cost. */
export interface WaitCost {
  readonly what: string;
  readonly calls: number;
  readonly perApproval: number;
  /** How it is computed, in words and numbers. */
  readonly arithmetic: string;
}

/** Memory (GB) of the function whose logical id starts with `Countersign<name>`, or of the most common size. */
function memoryGbOf(template: CfnTemplate, name: string): number {
  const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  const found = functions.find(([id]) => id.replace(/^Countersign/, '').startsWith(name));
  if (found) return Number(found[1].Properties?.MemorySize ?? 128) / 1024;
  const sizes = functions.map(([, r]) => Number(r.Properties?.MemorySize ?? 128));
  return sizes.sort((a, b) => sizes.filter((s) => s === b).length - sizes.filter((s) => s === a).length)[0]! / 1024;
}

const usd = (n: number) => `$${n.toFixed(7)}`;

/**
 * What waiting WAIT.seconds costs, three ways: the client's default polling (plain GETs, gaps from 2 s doubling to a
 * minute), long-polling the whole time (`?wait=20` back to back, each holding the intake function), and a callback
 * URL (nothing runs while waiting: the workflow's Callback step, already in the approval, POSTs the outcome).
 */
export function waitCosts(template: CfnTemplate): { polling: WaitCost; longPoll: WaitCost; callback: WaitCost } {
  const gb = memoryGbOf(template, 'Intake');
  const perCall = PRICES.httpApiRequest + PRICES.lambdaRequest;
  const get = perCall + WAIT.getSeconds * gb * PRICES.lambdaArmGbSecond + WAIT.chainReadUnits * PRICES.dynamoReadUnit;
  const polls = pollGaps(WAIT.seconds * 1000).length;
  const holds = Math.ceil(WAIT.seconds / WAIT.holdSeconds);
  const holdMs = WAIT.holdSeconds * 1000;
  // Back to back from the request's making: hold i starts when the request is i × 20 s old.
  const statusReads = Array.from({ length: holds }, (_, i) => waitPollCount(i * holdMs, holdMs)).reduce((a, b) => a + b, 0);
  const readsPerHold = 2 * WAIT.chainReadUnits + statusReads / holds;
  const hold = perCall + WAIT.holdSeconds * gb * PRICES.lambdaArmGbSecond + readsPerHold * PRICES.dynamoReadUnit;
  return {
    polling: {
      what: `Waiting ${WAIT.seconds / 60} min: ${polls} GETs (client default: gaps from 2 s doubling to 60 s)`,
      calls: polls,
      perApproval: polls * get,
      arithmetic:
        `${polls} GETs × (API $${perCall.toExponential(2)} + ${WAIT.getSeconds} s × ${gb} GB × $${PRICES.lambdaArmGbSecond} + ` +
        `${WAIT.chainReadUnits} read units × $${PRICES.dynamoReadUnit.toExponential(3)}) = ${polls} × ${usd(get)} = ${usd(polls * get)}`,
    },
    longPoll: {
      what: `Waiting ${WAIT.seconds / 60} min by long-polling: ${holds} GETs ?wait=${WAIT.holdSeconds}`,
      calls: holds,
      perApproval: holds * hold,
      arithmetic:
        `${holds} GETs × (API $${perCall.toExponential(2)} + ${WAIT.holdSeconds} s × ${gb} GB × $${PRICES.lambdaArmGbSecond} + ` +
        `${readsPerHold.toFixed(1)} read units: ${2 * WAIT.chainReadUnits} for the chain, ${statusReads} status reads over the ${holds}) = ` +
        `${holds} × ${usd(hold)} = ${usd(holds * hold)}`,
    },
    callback: {
      what: `Waiting ${WAIT.seconds / 60} min with a callbackUrl`,
      calls: 0,
      perApproval: 0,
      arithmetic: 'no call while waiting; the Callback step (in the approval already) POSTs the signed outcome',
    },
  };
}

/**
 * The cost of 1,000 approvals, each with the agent waiting WAIT.seconds by the client's default polling: the
 * approval's own lines, SES on its own line, and the wait's. `approvalOnly` is the total without the wait;
 * `waitShare` the wait's part of the approval itself (the target is under 10%).
 */
export function costPerThousandApprovals(template: CfnTemplate): {
  total: number;
  lines: CostLine[];
  transitions: number;
  workflowInvocations: number;
  approvalOnly: number;
  waitShare: number;
  waits: ReturnType<typeof waitCosts>;
} {
  const { States } = definitionOf(template);
  const path = approvalPath(template);
  const workflowInvocations = path.filter((name) => States[name]!.Type === 'Task').length;
  const gbOf = (name: string) => memoryGbOf(template, name);
  // The workflow's tasks run on the notifier (Notify) and the finalizer (Finalize, Callback).
  const workflowGbSeconds = path
    .filter((name) => States[name]!.Type === 'Task')
    .reduce((sum, name) => sum + SCENARIO.averageSeconds * gbOf(name === 'Notify' ? 'Notifier' : 'Finalizer'), 0);
  const invocations = workflowInvocations + SCENARIO.decisionInvocations + SCENARIO.intakeInvocations;
  const gbSeconds =
    workflowGbSeconds +
    SCENARIO.decisionInvocations * SCENARIO.averageSeconds * gbOf('Decision') +
    SCENARIO.intakeInvocations * SCENARIO.averageSeconds * gbOf('Intake');
  const waits = waitCosts(template);
  const lines: CostLine[] = [
    { what: `Step Functions (${path.length} transitions: ${path.join(' → ')})`, perApproval: path.length * PRICES.stepFunctionsTransition },
    {
      what: `Lambda (${invocations} invocations, ${gbSeconds.toFixed(2)} GB-s)`,
      perApproval: invocations * PRICES.lambdaRequest + gbSeconds * PRICES.lambdaArmGbSecond,
    },
    {
      what: `DynamoDB (${SCENARIO.ledgerWriteUnits + SCENARIO.requestWriteUnits} write units, ${SCENARIO.readUnits} read units)`,
      perApproval: (SCENARIO.ledgerWriteUnits + SCENARIO.requestWriteUnits) * PRICES.dynamoWriteUnit + SCENARIO.readUnits * PRICES.dynamoReadUnit,
    },
    { what: `KMS (${SCENARIO.kmsRequests} requests)`, perApproval: SCENARIO.kmsRequests * PRICES.kmsRequest },
    { what: `API Gateway HTTP API (${SCENARIO.apiRequests} requests)`, perApproval: SCENARIO.apiRequests * PRICES.httpApiRequest },
    { what: `SES (${SCENARIO.approvers} emails)`, perApproval: SCENARIO.approvers * PRICES.sesEmail },
    { what: waits.polling.what, perApproval: waits.polling.perApproval },
  ];
  const approvalOnly = lines.slice(0, -1).reduce((sum, line) => sum + line.perApproval, 0);
  return {
    total: lines.reduce((sum, line) => sum + line.perApproval, 0) * 1000,
    lines,
    transitions: path.length,
    workflowInvocations,
    approvalOnly: approvalOnly * 1000,
    waitShare: waits.polling.perApproval / approvalOnly,
    waits,
  };
}

/** The model as text: every line per 1,000 approvals, and the arithmetic of each way of waiting. */
export function costReport(template: CfnTemplate): string {
  const cost = costPerThousandApprovals(template);
  const width = Math.max(...cost.lines.map((l) => l.what.length));
  const ses = cost.lines.find((l) => l.what.startsWith('SES'))!.perApproval;
  const approval = cost.approvalOnly / 1000;
  const out = cost.lines.map((l) => `${l.what.padEnd(width)}  $${(l.perApproval * 1000).toFixed(4)}`);
  out.push(`${'approval itself (without the wait)'.padEnd(width)}  $${cost.approvalOnly.toFixed(4)}`);
  out.push(`${'total per 1,000 approvals, waits included'.padEnd(width)}  $${cost.total.toFixed(4)}`);
  out.push('');
  for (const wait of Object.values(cost.waits)) {
    out.push(`${wait.what}: ${wait.arithmetic}`);
    out.push(
      `  = ${((wait.perApproval / approval) * 100).toFixed(1)}% of the approval itself (${usd(approval)}), ` +
        `${((wait.perApproval / (approval - ses)) * 100).toFixed(1)}% of it without SES`,
    );
  }
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { synthesizeForLocal } = await import('../local/synth');
  const config = parseConfig(readFileSync(join(import.meta.dirname, '..', 'countersign.config.yaml'), 'utf8'));
  console.log(costReport(synthesizeForLocal(config).template));
}
