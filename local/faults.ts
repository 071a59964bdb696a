/**
 * Fault injection for local mode (on only with COUNTERSIGN_FAULT_INJECTION=1): rules that make chosen calls to the
 * local DynamoDB, KMS and Step Functions endpoints, or a channel's delivery, fail or throttle the way AWS does, so
 * tests can show what an agent sees and what repairs a half-done step. The AWS endpoints are fronted by a proxy
 * that reads `X-Amz-Target` (`DynamoDB_20120810.PutItem`, `TrentService.Sign`, `AWSStepFunctions.StartExecution`)
 * and answers a rule's error in the service's own JSON protocol; everything else passes through untouched.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { closeServer, createServer, listenLoopback } from './aws-json';

export const FAULT_SERVICES = ['dynamodb', 'kms', 'sfn', 'email', 'slack', 'teams'] as const;
export type FaultService = (typeof FAULT_SERVICES)[number];

export const faultRuleSchema = z.strictObject({
  service: z.enum(FAULT_SERVICES),
  /** The AWS operation (`PutItem`, `Sign`, `StartExecution`, `SendTaskSuccess`, …); every operation when absent. */
  operation: z
    .string()
    .regex(/^[A-Za-z]+$/)
    .optional(),
  /** Only calls whose body contains this text (a table name, a request id). */
  match: z.string().min(1).optional(),
  /** HTTP status of the failure: 400 with a throttling error, or 5xx. @default 500 */
  status: z.int().min(400).max(599).default(500),
  /** The AWS error type. @default throttling for 400 (ProvisionedThroughputExceededException for DynamoDB), else InternalFailure */
  error: z
    .string()
    .regex(/^[A-Za-z]+$/)
    .optional(),
  /** Let this many matching calls through first. @default 0 */
  after: z.int().min(0).default(0),
  /** Fail this many matching calls, then let them through; absent: until the rules are cleared. */
  times: z.int().min(1).optional(),
});
export type FaultRule = z.infer<typeof faultRuleSchema>;

export interface Fault {
  readonly status: number;
  readonly type: string;
  readonly message: string;
}

interface ActiveRule {
  readonly id: string;
  readonly rule: FaultRule;
  matched: number;
  failed: number;
}

export class LocalFaults {
  private rules: ActiveRule[] = [];

  add(input: unknown): { id: string } {
    const rule = faultRuleSchema.parse(input);
    const id = randomUUID();
    this.rules.push({ id, rule, matched: 0, failed: 0 });
    return { id };
  }

  clear(): void {
    this.rules = [];
  }

  list(): Array<FaultRule & { id: string; matched: number; failed: number }> {
    return this.rules.map(({ id, rule, matched, failed }) => ({ ...rule, id, matched, failed }));
  }

  /** The failure this call gets, if a rule says so; counts the call against every rule it matches. */
  check(service: FaultService, operation: string, body: string): Fault | undefined {
    let fault: Fault | undefined;
    for (const active of this.rules) {
      const { rule } = active;
      if (rule.service !== service || (rule.operation && rule.operation !== operation) || (rule.match && !body.includes(rule.match))) continue;
      active.matched += 1;
      if (fault || active.matched <= rule.after || (rule.times !== undefined && active.failed >= rule.times)) continue;
      active.failed += 1;
      const type =
        rule.error ?? (rule.status === 400 ? (service === 'dynamodb' ? 'ProvisionedThroughputExceededException' : 'ThrottlingException') : 'InternalFailure');
      fault = { status: rule.status, type, message: `injected fault: ${service} ${operation} ${type}` };
    }
    return fault;
  }
}

const CONTENT_TYPES: Record<'dynamodb' | 'kms' | 'sfn', string> = {
  dynamodb: 'application/x-amz-json-1.0',
  kms: 'application/x-amz-json-1.1',
  sfn: 'application/x-amz-json-1.0',
};

/** A proxy in front of one local AWS endpoint that answers injected faults and forwards everything else. */
export async function faultProxy(service: 'dynamodb' | 'kms' | 'sfn', target: string, faults: LocalFaults): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation =
        String(req.headers['x-amz-target'] ?? '')
          .split('.')
          .pop() ?? '';
      const fault = faults.check(service, operation, body.toString('utf8'));
      if (fault) {
        const text = JSON.stringify({ __type: fault.type, message: fault.message });
        res.writeHead(fault.status, {
          'content-type': CONTENT_TYPES[service],
          'x-amzn-errortype': fault.type,
          'x-amzn-requestid': randomUUID(),
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
        return;
      }
      const forward = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      forward.end(body);
    });
  });
  const url = await listenLoopback(server);
  return { url, close: () => closeServer(server) };
}
