/**
 * Cost per 1,000 approvals on AWS, computed from the synthesized template: the state transitions of the workflow's
 * path for an approval (walked from the definition), the Lambda invocations on that path and the functions' memory,
 * plus the calls each step makes (counted from the code: records, signatures, table writes). Prices are us-east-1
 * list prices, written here with the date they were read; the scenario is the README's: one agent request, two
 * approvers by email who decide over their review links, the agent long-polling once.
 */
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

/** What one approval does, beyond what the template says (counted from the handlers). */
export const SCENARIO = {
  approvers: 2,
  /** requested, policy_decided, notified, voted × approvers, approved. */
  ledgerRecords: 6,
  /** The request's own JSON makes `requested` about 2 KB; the others fit in 1 KB. One more unit each for the slot index. */
  ledgerWriteUnits: 2 + 5 + 6,
  /** Request item: put (+ pending index), task token, receipt, cached outcome (+ pending index removal). */
  requestWriteUnits: 2 + 2 + 2 + 2,
  /** Each handler reads the chain (strongly consistent, under 4 KB) and the request item. */
  readUnits: 2 * (1 + 1 + 2 + 2 + 2 + 1),
  /**
   * One Sign per record, one for the receipt; one GenerateMac per personal link, one VerifyMac per page shown and per
   * vote; one GenerateMac for the parameters salt at intake and one again for the receipt (and one more for the request
   * id when the agent sends an Idempotency-Key, as the client always does).
   */
  kmsRequests: 6 + 1 + 2 + 2 * 2 + 1 + 1 + 1,
  /** POST /v1/actions, one GET ?wait, review page GET and POST per approver. */
  apiRequests: 1 + 1 + 2 * 2,
  /** Decision function calls (two per approver: the page and the vote). */
  decisionInvocations: 2 * 2,
  /** Intake calls: the POST and one long-poll. */
  intakeInvocations: 2,
  /** Billed duration per invocation, a conservative average (the long-poll waits up to 20 s, billed). */
  averageSeconds: 0.25,
  longPollSeconds: 10,
};

interface StateDefinition {
  Type: string;
  Next?: string;
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

/** The states an approval enters: from StartAt along each state's Next (a task that succeeds) to the end. */
export function approvalPath(template: CfnTemplate): string[] {
  const { StartAt, States } = definitionOf(template);
  const path: string[] = [];
  for (let name: string | undefined = StartAt; name; ) {
    const state: StateDefinition | undefined = States[name];
    if (!state || path.includes(name)) throw new Error(`state ${name} is missing or loops`);
    path.push(name);
    name = state.End || state.Type === 'Succeed' || state.Type === 'Fail' ? undefined : state.Next;
  }
  return path;
}

export interface CostLine {
  readonly what: string;
  readonly perApproval: number;
}

export function costPerThousandApprovals(template: CfnTemplate): { total: number; lines: CostLine[]; transitions: number; workflowInvocations: number } {
  const { States } = definitionOf(template);
  const path = approvalPath(template);
  const workflowInvocations = path.filter((name) => States[name]!.Type === 'Task').length;
  // The request-serving functions share one memory size (the scheduled jobs differ): the most common one.
  const sizes = Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::Lambda::Function')
    .map((r) => Number(r.Properties?.MemorySize ?? 128));
  const memoryGb = sizes.sort((a, b) => sizes.filter((s) => s === b).length - sizes.filter((s) => s === a).length)[0]! / 1024;
  const invocations = workflowInvocations + SCENARIO.decisionInvocations + SCENARIO.intakeInvocations;
  const gbSeconds = memoryGb * (invocations * SCENARIO.averageSeconds + SCENARIO.longPollSeconds);
  const lines: CostLine[] = [
    { what: `Step Functions (${path.length} transitions: ${path.join(' → ')})`, perApproval: path.length * PRICES.stepFunctionsTransition },
    {
      what: `Lambda (${invocations} invocations, ${gbSeconds.toFixed(1)} GB-s)`,
      perApproval: invocations * PRICES.lambdaRequest + gbSeconds * PRICES.lambdaArmGbSecond,
    },
    {
      what: `DynamoDB (${SCENARIO.ledgerWriteUnits + SCENARIO.requestWriteUnits} write units, ${SCENARIO.readUnits} read units)`,
      perApproval: (SCENARIO.ledgerWriteUnits + SCENARIO.requestWriteUnits) * PRICES.dynamoWriteUnit + SCENARIO.readUnits * PRICES.dynamoReadUnit,
    },
    { what: `KMS (${SCENARIO.kmsRequests} requests)`, perApproval: SCENARIO.kmsRequests * PRICES.kmsRequest },
    { what: `API Gateway HTTP API (${SCENARIO.apiRequests} requests)`, perApproval: SCENARIO.apiRequests * PRICES.httpApiRequest },
    { what: `SES (${SCENARIO.approvers} emails)`, perApproval: SCENARIO.approvers * PRICES.sesEmail },
  ];
  return { total: lines.reduce((sum, line) => sum + line.perApproval, 0) * 1000, lines, transitions: path.length, workflowInvocations };
}
