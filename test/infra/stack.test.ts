import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import validateAsl from 'asl-validator';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLBACK_TIMEOUT_MS } from '../../lambdas/adapters/callback';
import { loadConfigFile } from '../../lambdas/adapters/config-file';
import { EXPORT_PAGE_MILLIS } from '../../lambdas/adapters/ledger-scan';
import { SECRET_FETCH_TIMEOUT_MS } from '../../lambdas/adapters/secrets';
import { SLACK_TIMEOUT_MS } from '../../lambdas/adapters/slack';
import { TEAMS_TIMEOUT_MS } from '../../lambdas/adapters/teams';
import { CHECKPOINT_RESERVE_MS } from '../../lambdas/app/checkpoint';
import { NOTIFY_RETRY } from '../../lambdas/app/notifications';
import { ITEM_WAITS_MS } from '../../lambdas/app/notify';
import { REPAIR_RESERVE_MS } from '../../lambdas/app/repair';
import { CONSOLE_WORK_MS } from '../../lambdas/console/context';
import { ConfigError } from '../../lambdas/core/config';
import { LEASES } from '../../lambdas/core/lease';
import { DELIVERY_TIMEOUT_MS } from '../../lambdas/core/notification';
import { retryBudgetMs } from '../../lambdas/core/retry';
import { OIDC_CALLS_PER_SIGN_IN, OIDC_REQUEST_TIMEOUT_SECONDS } from '../../lambdas/decision/identity';
import { RESPONSE_URL_TIMEOUT_MS } from '../../lambdas/decision/slack-interactions';
import { MAX_WAIT_SECONDS, WAIT_MARGIN_MS } from '../../lambdas/intake/handler';
import { NOTIFIED_RECORD_RESERVE_MS } from '../../lambdas/notifier/handler';
import { buildApp } from '../../lib/app';
import { AuditLedger, LEDGER_TAMPERING_ACTIONS } from '../../lib/audit-ledger';
import { FUNCTION_TIMEOUTS } from '../../lib/countersign';
import { API_INTEGRATION_TIMEOUT, API_ROUTES } from '../../lib/intake-api';
import { synthesizeForLocal } from '../../local/synth';
import { LEDGER_TABLE_SCHEMA, REQUESTS_TABLE_SCHEMA } from '../fixtures/tables';

const ROOT = join(import.meta.dirname, '../..');
const config = loadConfigFile(join(ROOT, 'countersign.config.yaml'));
const run = promisify(execFile);

/** The template with the stack's CDK tokens as written; `definition()` gives the state machine's ASL with ARNs as placeholders. */
function synthesize() {
  const { stack } = buildApp({ config, bundle: false, nag: false });
  const template = Template.fromStack(stack);
  const json = template.toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
  return { stack, template, json };
}

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

describe('Countersign stack', () => {
  const { stack, template, json } = synthesize();
  const resources = Object.entries(json.Resources);
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
  const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const fns = stack.countersign.functions;

  function definition(): any {
    const machine = ofType('AWS::StepFunctions::StateMachine')[0]![1];
    const parts = machine.Properties.DefinitionString['Fn::Join'][1] as unknown[];
    // Tokens become quote-free placeholders such as <Fn::GetAtt:NotifierId.Arn>.
    const placeholder = (p: any) => (p.Ref ? `<Ref:${p.Ref}>` : `<Fn::GetAtt:${p['Fn::GetAtt'].join('.')}>`);
    const text = parts.map((p) => (typeof p === 'string' ? p : placeholder(p))).join('');
    return JSON.parse(text);
  }

  /**
   * The definition as Step Functions receives it: the DefinitionString's Fn::Join resolved to one string, with the
   * functions' ARNs and the partition as a deploy to 123456789012 in eu-west-1 would fill them in.
   */
  function deployedDefinition(): string {
    const machine = ofType('AWS::StepFunctions::StateMachine')[0]![1];
    const [separator, parts] = machine.Properties.DefinitionString['Fn::Join'] as [string, unknown[]];
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': 'eu-west-1',
      'AWS::AccountId': '123456789012',
      'AWS::URLSuffix': 'amazonaws.com',
    };
    const resolve = (part: any): string => {
      if (typeof part === 'string') return part;
      if (part.Ref && pseudo[part.Ref]) return pseudo[part.Ref]!;
      const [id, attribute] = part['Fn::GetAtt'] ?? [];
      if (attribute === 'Arn' && json.Resources[id]?.Type === 'AWS::Lambda::Function') return `arn:aws:lambda:eu-west-1:123456789012:function:${id}`;
      throw new Error(`the definition refers to ${JSON.stringify(part)}, which this test cannot resolve`);
    };
    return parts.map(resolve).join(separator);
  }

  /** The statements of the policies attached to a function's role. */
  function statements(fn: keyof typeof fns): Statement[] {
    const roleId = logicalId(fns[fn].role as never);
    return ofType('AWS::IAM::Policy')
      .filter(([, policy]) => (policy.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
      .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as Statement[]);
  }

  /** Every Allow statement in the policies attached to a function's role, as action -> resources. */
  function grants(fn: keyof typeof fns): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const s of statements(fn)) {
      expect(['Allow', 'Deny']).toContain(s.Effect);
      if (s.Effect !== 'Allow') continue;
      for (const action of [s.Action].flat()) {
        out.set(action, [...(out.get(action) ?? []), ...[s.Resource].flat().map((r) => JSON.stringify(r))]);
      }
    }
    return out;
  }

  it('puts IAM auth on the agent and decision routes, and none on the self-authenticating ones', () => {
    const routes = new Map(ofType('AWS::ApiGatewayV2::Route').map(([, r]) => [r.Properties.RouteKey as string, r.Properties.AuthorizationType as string]));
    expect(routes.size).toBe(API_ROUTES.length);
    expect(routes.get('POST /v1/actions')).toBe('AWS_IAM');
    expect(routes.get('GET /v1/actions/{id}')).toBe('AWS_IAM');
    expect(routes.get('POST /v1/actions/{id}/decision')).toBe('AWS_IAM');
    expect(routes.get('GET /v1/audit/public-key')).toBe('AWS_IAM');
    // Auditors only (the handler checks the caller is one); SigV4 in front of it.
    expect(routes.get('GET /v1/audit/export')).toBe('AWS_IAM');
    expect(API_ROUTES).toContainEqual({ method: 'GET', path: '/v1/audit/export', target: 'intake', auth: 'iam' });
    expect(routes.get('GET /v1/review/{token}')).toBe('NONE');
    expect(routes.get('POST /v1/review/{token}')).toBe('NONE');
    expect(routes.get('POST /v1/slack/interactions')).toBe('NONE');
    expect(routes.get('GET /v1/actions/{id}/review')).toBe('NONE');
    expect(routes.get('GET /v1/auth/callback')).toBe('NONE');
    for (const route of API_ROUTES) {
      expect(routes.get(`${route.method} ${route.path}`)).toBe(route.auth === 'iam' ? 'AWS_IAM' : 'NONE');
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.not(Match.stringLikeRegexp('\\$context\\.path')) },
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
    });
  });

  it('runs a Standard workflow whose Notify task waits for a task token until the request timeout', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { IncludeExecutionData: false, Level: 'ALL' },
    });
    const asl = definition();
    const notify = asl.States[asl.StartAt];
    expect(asl.StartAt).toBe('Notify');
    expect(notify.Resource).toMatch(/:states:::lambda:invoke\.waitForTaskToken$/);
    expect(notify.Parameters.FunctionName).toContain(logicalId(fns.notifier));
    expect(notify.Parameters.Payload['taskToken.$']).toBe('$$.Task.Token');
    // Notify waits until the next wake (deadline, reminder or escalation); Wake decides and loops back or expires.
    expect(notify.TimeoutSecondsPath).toBe('$.wait.seconds');
    expect(notify.TimeoutSeconds).toBeUndefined();
    expect(notify.Catch[0]).toEqual({ ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Wake' });
    expect(asl.States.Wake.Next).toBe('Deadline?');
    expect(asl.States['Deadline?'].Choices[0]).toMatchObject({ Variable: '$.wait.expired', BooleanEquals: true, Next: 'TimedOut' });
    expect(asl.States['Deadline?'].Default).toBe('Notify');
    expect(asl.States.TimedOut).toMatchObject({ Type: 'Pass', ResultPath: '$.error', Next: 'Expire' });
    expect(notify.Catch.at(-1).ErrorEquals).toEqual(['States.ALL']);
    expect(asl.States.Expire.Resource).toContain(logicalId(fns.finalizer));
    expect(asl.States.Finalize.Retry.some((r: any) => r.ErrorEquals.includes('States.ALL') && r.MaxAttempts >= 5)).toBe(true);
  });

  it("after the outcome, waits out an unredeemed approval's redeem window and then lapses it", () => {
    const asl = definition();
    // Finalize and Expire answer `$.finalized` (with `redeemBy` for an approval under redeemWithin); Callback, told or
    // not, goes on to the redeem window.
    expect(asl.States.Finalize.ResultPath).toBe('$.finalized');
    expect(asl.States.Expire.ResultPath).toBe('$.finalized');
    expect(asl.States.Callback.Next).toBe('RedeemBy?');
    expect(asl.States.Callback.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.callbackError', Next: 'RedeemBy?' }]);
    expect(asl.States['RedeemBy?'].Choices).toEqual([{ Variable: '$.finalized.redeemBy', IsPresent: true, Next: 'RedeemWindow' }]);
    expect(asl.States['RedeemBy?'].Default).toBe('Done');
    expect(asl.States.RedeemWindow).toEqual({ Type: 'Wait', TimestampPath: '$.finalized.redeemBy', Next: 'Lapse' });
    expect(asl.States.Lapse.Resource).toContain(logicalId(fns.finalizer));
    expect(asl.States.Lapse.Parameters).toEqual({ 'requestId.$': '$.requestId', lapse: true });
    expect(asl.States.Lapse.Retry.some((r: any) => r.ErrorEquals.includes('States.ALL') && r.MaxAttempts >= 5)).toBe(true);
    expect(asl.States.Lapse.Next).toBe('Done');
  });

  it('has a state machine definition that a published ASL validator accepts, as Step Functions will get it', () => {
    const text = deployedDefinition();
    const result = validateAsl(JSON.parse(text));
    expect(result.errorsText('\n'), 'asl-validator').toBe('');
    expect(result.isValid).toBe(true);
    // The validator does catch what Step Functions would refuse: a task with both kinds of timeout, a missing state.
    const twoTimeouts = JSON.parse(text);
    twoTimeouts.States.Notify.TimeoutSeconds = 60;
    expect(validateAsl(twoTimeouts).errorsText(' | ')).toContain('TASK_TIMEOUT');
    const dangling = JSON.parse(text);
    dangling.States.Wake.Next = 'Nowhere';
    expect(validateAsl(dangling).errorsText(' | ')).toContain("Missing 'StartAt'|'Next'|'Default' target: Nowhere");
  });

  it('keeps both tables with PITR, deletion protection and encryption', () => {
    const tables = ofType('AWS::DynamoDB::GlobalTable');
    expect(tables).toHaveLength(2);
    for (const [, table] of tables) {
      expect(table.Properties.SSESpecification).toMatchObject({ SSEEnabled: true });
      const [replica] = table.Properties.Replicas;
      expect(replica.DeletionProtectionEnabled).toBe(true);
      expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'requestId', KeyType: 'HASH' },
          { AttributeName: 'seq', KeyType: 'RANGE' },
        ],
      },
    });
  });

  it('indexes the ledger by slot for checkpoints, projecting only the hash', () => {
    const ledger = json.Resources[logicalId(stack.countersign.ledger.table)]!;
    expect(ledger.Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'bySlot',
        KeySchema: [
          { AttributeName: 'slot', KeyType: 'HASH' },
          { AttributeName: 'rk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['hash'] },
      },
    ]);
    expect(ledger.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'slot', AttributeType: 'S' },
        { AttributeName: 'rk', AttributeType: 'S' },
      ]),
    );
    const [replica] = ledger.Properties.Replicas;
    expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(replica.DeletionProtectionEnabled).toBe(true);
    expect((ledger as { DeletionPolicy?: string }).DeletionPolicy).toBe('Retain');
  });

  it('creates an ECC_NIST_P256 signing key and an HMAC_256 key, both retained', () => {
    template.resourceCountIs('AWS::KMS::Key', 2);
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', Properties: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' } });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', Properties: { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' } });
  });

  it('runs every function on nodejs22.x arm64 with tracing, source maps and its own log group', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions).toHaveLength(7);
    expect(functions.map(([id]) => id).sort()).toEqual(
      Object.values(fns)
        .map((f) => logicalId(f))
        .sort(),
    );
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        // Plain text: the code writes JSON lines itself, which Lambda's JSON format would filter by level (README "Logs").
        LoggingConfig: { LogFormat: 'Text', LogGroup: expect.anything() },
      });
      expect(fn.Properties.LoggingConfig.ApplicationLogLevel).toBeUndefined();
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
      // The logger's defaults: INFO, no debug sampling.
      expect(fn.Properties.Environment.Variables).toMatchObject({ POWERTOOLS_LOG_LEVEL: 'INFO', POWERTOOLS_LOGGER_SAMPLE_RATE: '0' });
    }
    // No role carries an AWS managed policy.
    for (const [, role] of ofType('AWS::IAM::Role')) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('grants each function only what it needs', () => {
    const pendingIndexOf = (requests: string) => `{"Fn::Join":["",[${requests},"/index/repair"]]}`;
    const requests = `{"Fn::GetAtt":["${logicalId(stack.countersign.requests.table)}","Arn"]}`;
    const ledger = `{"Fn::GetAtt":["${logicalId(stack.countersign.ledger.table)}","Arn"]}`;
    const ledgerKey = `{"Fn::GetAtt":["${logicalId(stack.countersign.ledger.signingKey)}","Arn"]}`;
    const reviewKey = `{"Fn::GetAtt":["${logicalId(stack.countersign.reviewTokenKey.key)}","Arn"]}`;
    const machine = `{"Ref":"${logicalId(stack.countersign.workflow.stateMachine)}"}`;
    const runtime = ['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
    // Every function that serves requests derives request ids or parameters salts with the HMAC key.
    const common = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'kms:GenerateMac', 'kms:Sign', ...runtime];
    const expected: Record<keyof typeof fns, string[]> = {
      intake: [
        ...common,
        'dynamodb:Scan',
        'dynamodb:BatchGetItem',
        'kms:DescribeKey',
        'kms:GetPublicKey',
        'states:StartExecution',
        'states:SendTaskFailure',
        'states:SendTaskHeartbeat',
        'states:SendTaskSuccess',
      ],
      notifier: [...common, 'ses:SendEmail'],
      decision: [...common, 'kms:VerifyMac', 'ses:SendEmail', 'states:SendTaskFailure', 'states:SendTaskHeartbeat', 'states:SendTaskSuccess'],
      finalizer: common,
      checkpointer: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan', 'kms:Sign', ...runtime],
      repairer: [...common, 'dynamodb:Scan', 'states:StartExecution', 'states:SendTaskFailure', 'states:SendTaskHeartbeat', 'states:SendTaskSuccess'],
      // The console: votes (append, settle), the inbox (pending index), sessions (MAC), search and verify (export).
      console: [
        ...common,
        'dynamodb:Scan',
        'dynamodb:BatchGetItem',
        'kms:DescribeKey',
        'kms:GetPublicKey',
        'kms:VerifyMac',
        'states:SendTaskFailure',
        'states:SendTaskHeartbeat',
        'states:SendTaskSuccess',
      ],
    };
    for (const name of Object.keys(expected) as Array<keyof typeof fns>) {
      const actual = grants(name);
      expect([...actual.keys()].sort(), name).toEqual([...expected[name]].sort());
      expect(actual.get('dynamodb:PutItem')!.join(), name).toContain(ledger);
      expect(actual.get('kms:Sign'), name).toEqual([ledgerKey]);
      for (const [action, targets] of actual) {
        if (!action.startsWith('xray:')) expect(targets, `${name} ${action}`).not.toContain('"*"');
        // Grants name the ledger's index they use, never all of them.
        expect(targets.join(), `${name} ${action}`).not.toContain('/index/*');
      }
      if (name === 'checkpointer') continue;
      // The ledger is append-only: no function may update or delete its records.
      expect(actual.get('dynamodb:UpdateItem')!.join(), name).not.toContain(ledger);
      expect(actual.get('dynamodb:UpdateItem')!.join(), name).toContain(requests);
    }
    for (const name of ['intake', 'notifier', 'decision', 'finalizer', 'repairer', 'console'] as const)
      expect(grants(name).get('kms:GenerateMac'), name).toEqual([reviewKey]);
    expect(grants('console').get('kms:VerifyMac')).toEqual([reviewKey]);
    expect(grants('console').get('dynamodb:Scan')).toEqual([ledger]);
    expect(grants('console').get('dynamodb:Query')).toContain(pendingIndexOf(requests));
    // SES: only the configured sender's identities (address and domain).
    const ses = grants('notifier').get('ses:SendEmail')!.join(' ');
    expect(ses).toContain('identity/countersign@example.com');
    expect(ses).toContain('identity/example.com');
    expect(ses).not.toContain('"*"');
    expect(grants('decision').get('kms:VerifyMac')).toEqual([reviewKey]);
    expect(grants('intake').get('states:StartExecution')).toEqual([machine]);
    // The audit export reads the whole ledger, and nothing else; a time window, from the ledger's slot index.
    // Grants: found by scope and listed, on the requests table's grants index only.
    const grantIndex = `{"Fn::Join":["",[${requests},"/index/grants"]]}`;
    expect(grants('intake').get('dynamodb:Scan')).toEqual([ledger, grantIndex]);
    expect(grants('intake').get('dynamodb:Query')).toContain(grantIndex);
    expect(grants('repairer').get('dynamodb:Scan')).toEqual([grantIndex]);
    for (const name of ['notifier', 'decision', 'finalizer', 'console'] as const) {
      expect(grants(name).get('dynamodb:Scan')?.join() ?? '', name).not.toContain('/index/grants');
    }
    expect(grants('intake').get('dynamodb:BatchGetItem')).toEqual([ledger]);
    expect(grants('intake').get('dynamodb:Query')).toContain(`{"Fn::Join":["",[${ledger},"/index/bySlot"]]}`);
    // "What waits for me" and the repair job: only they query the requests' repair index (the pending requests).
    const pendingIndex = pendingIndexOf(requests);
    expect(grants('decision').get('dynamodb:Query')).toContain(pendingIndex);
    expect(grants('repairer').get('dynamodb:Query')).toContain(pendingIndex);
    for (const name of ['intake', 'notifier', 'finalizer', 'checkpointer'] as const)
      expect(grants(name).get('dynamodb:Query'), name).not.toContain(pendingIndex);
    expect(grants('repairer').get('states:StartExecution')).toEqual([machine]);
  });

  it('gives every function a timeout beyond every wait its code can make', () => {
    // The waits as the handlers and adapters export them; each sum is the longest path through that code.
    const oidcSignIn = SECRET_FETCH_TIMEOUT_MS + OIDC_CALLS_PER_SIGN_IN * OIDC_REQUEST_TIMEOUT_SECONDS * 1000;
    const waits: Record<keyof typeof fns, Record<string, number>> = {
      intake: { 'a ?wait=20 long-poll and the answer after it': MAX_WAIT_SECONDS * 1000 + WAIT_MARGIN_MS, 'an export page': EXPORT_PAGE_MILLIS },
      notifier: {
        'waiting for the item, every send at its worst, then the notified record':
          ITEM_WAITS_MS.reduce((a, b) => a + b, 0) + retryBudgetMs(NOTIFY_RETRY) + NOTIFIED_RECORD_RESERVE_MS,
      },
      decision: {
        'an OIDC sign-in (client secret, discovery, code grant, UserInfo)': oidcSignIn,
        'a Slack click (signing secret, then response_url)': SECRET_FETCH_TIMEOUT_MS + RESPONSE_URL_TIMEOUT_MS,
        'emailing a personal review link': DELIVERY_TIMEOUT_MS,
      },
      finalizer: { "the requester's Slack DMs (at once), then the callback": DELIVERY_TIMEOUT_MS + CALLBACK_TIMEOUT_MS },
      checkpointer: { 'finishing the checkpoint in hand': CHECKPOINT_RESERVE_MS },
      repairer: { 'finishing the request in hand': REPAIR_RESERVE_MS },
      console: { 'a verify of the ledger from the page': CONSOLE_WORK_MS },
    };
    for (const name of Object.keys(fns) as Array<keyof typeof fns>) {
      const timeoutMs = json.Resources[logicalId(fns[name])]!.Properties.Timeout * 1000;
      expect(timeoutMs, name).toBe(FUNCTION_TIMEOUTS[name].toMilliseconds());
      for (const [what, ms] of Object.entries(waits[name])) expect(timeoutMs, `${name}: ${what}`).toBeGreaterThan(ms);
    }
    // The notifier's sends are retried Slack, Teams and SES calls: each attempt ends at its timeout.
    expect(NOTIFY_RETRY.attemptTimeoutMs).toBe(DELIVERY_TIMEOUT_MS);
    expect(Math.max(SLACK_TIMEOUT_MS, TEAMS_TIMEOUT_MS)).toBeLessThanOrEqual(DELIVERY_TIMEOUT_MS);
  });

  it('answers through API Gateway before it gives up: the API functions time out inside the integration timeout', () => {
    const integrations = ofType('AWS::ApiGatewayV2::Integration');
    expect(integrations).toHaveLength(3);
    for (const [id, integration] of integrations) {
      // An HTTP API waits 30 s at most for a Lambda integration.
      expect(integration.Properties.TimeoutInMillis, id).toBe(API_INTEGRATION_TIMEOUT.toMilliseconds());
      expect(integration.Properties.TimeoutInMillis, id).toBeLessThanOrEqual(30_000);
    }
    for (const name of ['intake', 'decision', 'console'] as const) {
      const timeoutMs = json.Resources[logicalId(fns[name])]!.Properties.Timeout * 1000;
      // Room for a cold start (the function's init runs before its timeout starts) within API Gateway's wait.
      expect(timeoutMs + 4000, name).toBeLessThanOrEqual(API_INTEGRATION_TIMEOUT.toMilliseconds());
    }
  });

  it('defines its tables as the tests and the bench create them on dynalite (test/fixtures/tables.ts)', () => {
    const schemaOf = (construct: { node: { defaultChild?: unknown } }) => {
      const { KeySchema, AttributeDefinitions, GlobalSecondaryIndexes } = json.Resources[logicalId(construct)]!.Properties;
      const bySort = (a: { AttributeName: string }, b: { AttributeName: string }) => a.AttributeName.localeCompare(b.AttributeName);
      return { KeySchema, AttributeDefinitions: [...AttributeDefinitions].sort(bySort), GlobalSecondaryIndexes };
    };
    const fixture = (schema: typeof REQUESTS_TABLE_SCHEMA | typeof LEDGER_TABLE_SCHEMA) => ({
      KeySchema: schema.KeySchema,
      AttributeDefinitions: [...schema.AttributeDefinitions].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName)),
      GlobalSecondaryIndexes: schema.GlobalSecondaryIndexes,
    });
    expect(schemaOf(stack.countersign.requests.table)).toEqual(fixture(REQUESTS_TABLE_SCHEMA));
    expect(schemaOf(stack.countersign.ledger.table)).toEqual(fixture(LEDGER_TABLE_SCHEMA));
  });

  it('keeps sparse indexes of the pending requests (keys only by creation, and by repairAt with their summaries) and of grants', () => {
    const [, table] = ofType('AWS::DynamoDB::GlobalTable').find(([id]) => id === logicalId(stack.countersign.requests.table))!;
    expect(table.Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'pending',
        KeySchema: [
          { AttributeName: 'pendingShard', KeyType: 'HASH' },
          { AttributeName: 'createdAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        IndexName: 'repair',
        KeySchema: [
          { AttributeName: 'pendingShard', KeyType: 'HASH' },
          { AttributeName: 'repairAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['createdAt', 'requester', 'approvers', 'onBehalfOf', 'expiresAt', 'voters'] },
      },
      // Grant items alone (lambdas/adapters/grant-index.ts): by scope key, sorted by when each lapses.
      {
        IndexName: 'grants',
        KeySchema: [
          { AttributeName: 'grantScope', KeyType: 'HASH' },
          { AttributeName: 'grantUntil', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['grantId', 'requestId', 'grantRule', 'grantDigest'] },
      },
    ]);
    // Grant items, and only they, carry the TTL attribute: each goes a week after its grant lapses.
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'grantExpiresAt', Enabled: true });
    // A request item has the keys of both from intake to its cached outcome.
    expect(table.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'pendingShard', AttributeType: 'S' },
        { AttributeName: 'createdAt', AttributeType: 'S' },
        { AttributeName: 'repairAt', AttributeType: 'S' },
      ]),
    );
  });

  it('denies every function, explicitly, any edit or deletion of ledger records, the table or its indexes', () => {
    const ledger = { 'Fn::GetAtt': [logicalId(stack.countersign.ledger.table), 'Arn'] };
    const indexes = { 'Fn::Join': ['', [ledger, '/index/*']] };
    expect([...LEDGER_TAMPERING_ACTIONS].sort()).toEqual(
      [
        'dynamodb:BatchWriteItem',
        'dynamodb:DeleteItem',
        'dynamodb:DeleteResourcePolicy',
        'dynamodb:DeleteTable',
        'dynamodb:PartiQLDelete',
        'dynamodb:PartiQLUpdate',
        'dynamodb:PutResourcePolicy',
        'dynamodb:UpdateItem',
        'dynamodb:UpdateTable',
      ].sort(),
    );
    for (const name of Object.keys(fns) as Array<keyof typeof fns>) {
      const denies = statements(name).filter((s) => s.Effect === 'Deny');
      expect(denies, name).toHaveLength(1);
      expect([denies[0]!.Action].flat().sort(), name).toEqual([...LEDGER_TAMPERING_ACTIONS].sort());
      expect(denies[0]!.Resource, name).toEqual([ledger, indexes]);
    }
  });

  it('lets the checkpointer read, append to and sign the ledger, write its lease item, and touch nothing else', () => {
    const table = `{"Fn::GetAtt":["${logicalId(stack.countersign.ledger.table)}","Arn"]}`;
    const index = `{"Fn::Join":["",[${table},"/index/bySlot"]]}`;
    const ledgerKey = `{"Fn::GetAtt":["${logicalId(stack.countersign.ledger.signingKey)}","Arn"]}`;
    const requests = `{"Fn::GetAtt":["${logicalId(stack.countersign.requests.table)}","Arn"]}`;
    const actual = grants('checkpointer');
    expect(actual.get('dynamodb:Query')!.sort()).toEqual([table, index].sort());
    expect(actual.get('dynamodb:Scan')).toEqual([table]);
    expect(actual.get('dynamodb:PutItem')!.sort()).toEqual([table, requests].sort());
    expect(actual.get('dynamodb:GetItem')).toEqual([table]);
    expect(actual.get('kms:Sign')).toEqual([ledgerKey]);
    // On the requests table: PutItem on its lease item alone, nothing else.
    const onRequests = statements('checkpointer').filter((s) => JSON.stringify(s.Resource).includes(logicalId(stack.countersign.requests.table)));
    expect(onRequests).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:PutItem',
        Resource: { 'Fn::GetAtt': [logicalId(stack.countersign.requests.table), 'Arn'] },
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [LEASES.checkpoint] } },
      },
    ]);
  });

  it('lets the export seal what it returns: the ledger key signs cursors and seals, by the export grant alone', () => {
    const scratch = new Stack();
    const ledger = new AuditLedger(scratch, 'Ledger');
    const role = new Role(scratch, 'Exporter', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    ledger.grantExport(role);
    const resolved = JSON.stringify(Template.fromStack(scratch).toJSON());
    const policy = Object.values(Template.fromStack(scratch).findResources('AWS::IAM::Policy'))[0]!.Properties.PolicyDocument.Statement as Statement[];
    const actions = (target: string) =>
      policy
        .filter((s) => JSON.stringify(s.Resource).includes(target))
        .flatMap((s) => [s.Action].flat())
        .sort();
    expect(actions(scratch.getLogicalId(ledger.signingKey.node.defaultChild as never))).toEqual(['kms:GetPublicKey', 'kms:Sign']);
    expect(actions(scratch.getLogicalId(ledger.table.node.defaultChild as never))).toEqual(['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan']);
    // A time window reads the slot index, and no other index.
    expect(resolved).toContain('/index/bySlot');
    expect(resolved.match(/\/index\/[^"]*/g)).toEqual(['/index/bySlot']);
  });

  it('runs the checkpointer every 5 minutes, with retries', () => {
    const checkpointer = logicalId(fns.checkpointer);
    template.resourceCountIs('AWS::Events::Rule', 2);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [checkpointer, 'Arn'] }, Id: Match.anyValue(), RetryPolicy: { MaximumRetryAttempts: 2 } }],
    });
    expect(ofType('AWS::Events::Rule').map(([id]) => id)).toContain(logicalId(stack.countersign.checkpointSchedule));
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [checkpointer, 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [logicalId(stack.countersign.checkpointSchedule), 'Arn'] },
    });
    const props = json.Resources[checkpointer]!.Properties;
    // Room for the first run's Scan beyond the 15 s the handler keeps back to finish a checkpoint.
    expect(props.Timeout).toBe(240);
    expect(props.MemorySize).toBe(1024);
  });

  it('reserves no concurrency, which an account at the new-account quota refuses; the scheduled functions take a lease instead', () => {
    for (const [id, fn] of ofType('AWS::Lambda::Function')) expect(fn.Properties.ReservedConcurrentExecutions, id).toBeUndefined();
    for (const name of ['checkpointer', 'repairer'] as const) {
      expect(json.Resources[logicalId(fns[name])]!.Properties.Environment.Variables.LEASE_TABLE, name).toEqual({
        Ref: logicalId(stack.countersign.requests.table),
      });
    }
  });

  it('runs the repair job every minute, with its grace and the state machine', () => {
    const repairer = logicalId(fns.repairer);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [repairer, 'Arn'] }, Id: Match.anyValue(), RetryPolicy: { MaximumRetryAttempts: 0 } }],
    });
    const props = json.Resources[repairer]!.Properties;
    expect(props.Environment.Variables.REPAIR_GRACE_SECONDS).toBe('60');
    expect(props.Environment.Variables.STATE_MACHINE_ARN).toEqual({ Ref: logicalId(stack.countersign.workflow.stateMachine) });
  });

  it('gives every function the ledger write window, and the checkpointer its settle time and no requests table', () => {
    for (const name of Object.keys(fns) as Array<keyof typeof fns>) {
      const variables = json.Resources[logicalId(fns[name])]!.Properties.Environment.Variables;
      expect(variables.LEDGER_WRITE_WINDOW_SECONDS, name).toBe('10');
      expect(variables.LEDGER_TABLE, name).toEqual({ Ref: logicalId(stack.countersign.ledger.table) });
      expect(variables.LEDGER_KEY_ID, name).toEqual({ 'Fn::GetAtt': [logicalId(stack.countersign.ledger.signingKey), 'Arn'] });
      if (name === 'checkpointer') {
        expect(variables.CHECKPOINT_SETTLE_SECONDS).toBe('60');
        expect(variables.REQUESTS_TABLE).toBeUndefined();
      } else {
        expect(variables.CHECKPOINT_SETTLE_SECONDS, name).toBeUndefined();
        expect(variables.REQUESTS_TABLE, name).toEqual({ Ref: logicalId(stack.countersign.requests.table) });
      }
    }
  });

  it('lets the functions that vet and send callbacks reach public addresses only, and sets no local endpoint', () => {
    for (const name of Object.keys(fns) as Array<keyof typeof fns>) {
      const variables = json.Resources[logicalId(fns[name])]!.Properties.Environment.Variables;
      expect(variables.CALLBACK_NETWORK, name).toBe(name === 'intake' || name === 'finalizer' ? 'public' : undefined);
      // Slack's own Web API and the SDK's own endpoints: only local mode points them elsewhere.
      expect(
        Object.keys(variables).filter((v) => v === 'COUNTERSIGN_SLACK_API_URL' || v.startsWith('AWS_ENDPOINT_URL')),
        name,
      ).toEqual([]);
    }
  });
});

describe('ledger timings', () => {
  const variables = (timings: { writeWindow: Duration; checkpointSettle: Duration }) => {
    const { stack } = buildApp({ config, bundle: false, nag: false, ledgerTimings: timings });
    const json = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Properties: any }> };
    return json.Resources[stack.getLogicalId(stack.countersign.functions.checkpointer.node.defaultChild as never)]!.Properties.Environment.Variables;
  };

  it('pass from the app options to the functions, in whole seconds', () => {
    const env = variables({ writeWindow: Duration.seconds(2), checkpointSettle: Duration.seconds(4) });
    expect(env.LEDGER_WRITE_WINDOW_SECONDS).toBe('2');
    expect(env.CHECKPOINT_SETTLE_SECONDS).toBe('4');
  });

  it('refuse a settle time that does not exceed the write window', () => {
    expect(() => variables({ writeWindow: Duration.seconds(10), checkpointSettle: Duration.seconds(10) })).toThrow(
      /checkpointSettle \(10 seconds\) must exceed ledgerWriteWindow \(10 seconds\)/,
    );
    expect(() => variables({ writeWindow: Duration.minutes(1), checkpointSettle: Duration.seconds(30) })).toThrow(/must exceed ledgerWriteWindow/);
  });
});

describe('log settings', () => {
  const variablesOf = (logs: Parameters<typeof buildApp>[0]['logs']) => {
    const { stack } = buildApp({ config, bundle: false, nag: false, logs });
    const json = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties: any }> };
    return Object.values(json.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map((r) => r.Properties.Environment.Variables as Record<string, unknown>);
  };

  it('give every function the level and debug sampling rate asked for', () => {
    const all = variablesOf({ level: 'DEBUG', sampleRate: 0.25 });
    expect(all).toHaveLength(7);
    for (const variables of all) expect(variables).toMatchObject({ POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_LOGGER_SAMPLE_RATE: '0.25' });
  });

  it('refuse a level Powertools does not know and a rate outside 0 to 1', () => {
    expect(() => variablesOf({ level: 'VERBOSE' as never })).toThrow(/logLevel "VERBOSE" is not one of TRACE, DEBUG, INFO/);
    expect(() => variablesOf({ sampleRate: 1.5 })).toThrow(/logSampleRate 1.5 is not a share of invocations from 0 to 1/);
    expect(() => variablesOf({ sampleRate: Number.NaN })).toThrow(/logSampleRate/);
  });
});

describe('secrets', () => {
  it('lets the functions that use them read exactly the Secrets Manager secrets the config names', () => {
    const arn = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}`;
    const withSecrets = {
      ...config,
      channels: {
        ...config.channels,
        slack: { botToken: arn('slack-bot-AbC'), signingSecret: arn('slack-signing-DeF') },
        teams: { webhookUrl: arn('teams-GhI') },
      },
      auth: { oidc: { issuer: 'https://login.example.com', clientId: 'cs', clientSecret: 'env:OIDC_SECRET' } },
    };
    // Local mode's synth accepts env:NAME (it sets the variables); such a secret needs no grant.
    const { stack } = buildApp({ config: withSecrets, bundle: false, nag: false, target: 'local' });
    const json = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties: any }> };
    const readers = new Map<string, unknown[]>();
    for (const policy of Object.values(json.Resources).filter((r) => r.Type === 'AWS::IAM::Policy')) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        if ([statement.Action].flat().includes('secretsmanager:GetSecretValue')) readers.set(policy.Properties.Roles[0].Ref, [statement.Resource].flat());
      }
    }
    const roleOf = (fn: { role?: unknown }) => stack.getLogicalId((fn.role as any).node.defaultChild);
    const { notifier, decision, finalizer, intake } = stack.countersign.functions;
    expect(readers.get(roleOf(notifier))).toEqual([arn('slack-bot-AbC'), arn('teams-GhI')]);
    expect(readers.get(roleOf(decision))).toEqual([arn('slack-signing-DeF')]);
    expect(readers.get(roleOf(finalizer))).toEqual([arn('slack-bot-AbC')]);
    expect(readers.has(roleOf(intake))).toBe(false);
  });
});

describe('env:NAME secrets', () => {
  const withEnvSecrets = {
    ...config,
    channels: {
      ...config.channels,
      slack: { botToken: 'env:SLACK_BOT_TOKEN', signingSecret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-signing-DeF' },
      teams: { webhookUrl: 'env:TEAMS_WEBHOOK_URL' },
    },
    auth: { oidc: { issuer: 'https://login.example.com', clientId: 'cs', clientSecret: 'env:OIDC_CLIENT_SECRET' } },
  };

  it('are refused by a synth for AWS, naming each field and what to write instead', () => {
    let error: unknown;
    try {
      buildApp({ config: withEnvSecrets, bundle: false, nag: false });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.path)).toEqual(['channels.slack.botToken', 'channels.teams.webhookUrl', 'auth.oidc.clientSecret']);
    for (const problem of problems) {
      expect(problem.message).toMatch(/^env:[A-Z_]+ is read from the environment, which only local mode sets/);
      expect(problem.message).toContain('Secrets Manager');
      expect(problem.message).toContain('arn:aws:secretsmanager:REGION:ACCOUNT:secret:');
    }
    expect(() => buildApp({ config: withEnvSecrets, bundle: false, nag: false, target: 'aws' })).toThrow(ConfigError);
  });

  it('are accepted by local mode, which sets them', () => {
    const { template } = synthesizeForLocal(withEnvSecrets);
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function')).toHaveLength(7);
  });
});

describe('cdk-nag AwsSolutions checks', () => {
  it('pass, with every acknowledgement carrying a written reason', () => {
    const { app } = buildApp({ config, bundle: false, outdir: mkdtempSync(join(tmpdir(), 'cs-nag-')) });
    const assembly = app.synth();
    rmSync(assembly.directory, { recursive: true, force: true });
    const acknowledgements = app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ id, reason })));
    expect(acknowledgements.map((a) => a.id.replace(/^Annotation::/, '').replace(/\[.*$/, ''))).toEqual(
      expect.arrayContaining(['AwsSolutions-APIG4', 'AwsSolutions-IAM5', 'AwsSolutions-L1']),
    );
    for (const a of acknowledgements) expect(a.reason.length, a.id).toBeGreaterThan(40);
  });

  it('run with CloudFormation template validation, so a dependency cycle fails the synth', () => {
    const { app, stack } = buildApp({ config, bundle: false, nag: false, outdir: mkdtempSync(join(tmpdir(), 'cs-cycle-')) });
    // The state machine invokes the notifier; granting the notifier on the state machine closes a cycle.
    stack.countersign.workflow.stateMachine.grantTaskResponse(stack.countersign.functions.notifier);
    expect(() => app.synth()).toThrow(/Circular [Dd]ependenc/);
  });

  it('fail synthesis on a new wildcard grant', () => {
    const { app, stack } = buildApp({ config, bundle: false, outdir: mkdtempSync(join(tmpdir(), 'cs-nag-')) });
    stack.countersign.functions.intake.addToRolePolicy(new PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));
    expect(() => app.synth()).toThrow(/IAM5\[Action::s3:\*\]/);
  });
});

describe('cdk synth', () => {
  const out = mkdtempSync(join(tmpdir(), 'cs-synth-'));
  // No credentials of any kind, and no Docker: bundling must use the project's esbuild.
  const offline = {
    ...process.env,
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_PROFILE: '',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_EC2_METADATA_DISABLED: 'true',
    PATH: (process.env.PATH ?? '')
      .split(':')
      .filter((dir) => !readdirSafe(dir).includes('docker'))
      .join(':'),
  };
  let result: { stdout: string; stderr: string };
  beforeAll(async () => {
    result = await run('npx', ['cdk', 'synth', '--quiet', '--output', out], { cwd: ROOT, env: offline, timeout: 180_000 });
  }, 200_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('works offline and bundles minified functions with source maps', () => {
    const template = JSON.parse(readFileSync(join(out, 'Countersign.template.json'), 'utf8'));
    expect(Object.values(template.Resources).filter((r: any) => r.Type === 'AWS::Lambda::Function')).toHaveLength(7);
    const assets = readdirSync(out).filter((d) => d.startsWith('asset.') && statSync(join(out, d)).isDirectory());
    expect(assets.length).toBeGreaterThanOrEqual(5);
    // The policy ships inside the bundles that read it; local API keys never do.
    let withPolicy = 0;
    for (const asset of assets) {
      const files = readdirSync(join(out, asset));
      if (!files.includes('index.js')) continue;
      expect(files).toContain('index.js.map');
      const code = readFileSync(join(out, asset, 'index.js'), 'utf8');
      // Minified: long lines (only template literals keep their newlines).
      expect(code.length / code.split('\n').length).toBeGreaterThan(300);
      expect(code.trimEnd().endsWith('sourceMappingURL=index.js.map'), asset).toBe(true);
      // The policy ships inside the bundle; local API keys never do.
      if (code.includes('prod-exports')) withPolicy++;
      expect(code.includes('demo-agent-key'), asset).toBe(false);
    }
    expect(withPolicy).toBeGreaterThanOrEqual(1);
    expect(result.stderr).not.toMatch(/docker/i);
    // Offline, the CLI assumes a region: the template is for checking, not deploying, and the synth says so.
    expect(result.stderr).toContain('synthesized without AWS credentials, so for region us-east-1 and no account');
    expect(result.stderr).toContain('is not for deploying');
  });

  it('stops on an invalid config, naming each bad field', async () => {
    const bad = join(out, 'bad.yaml');
    writeFileSync(bad, 'version: 2\nrules:\n  - name: x\n    match: { action: "*" }\n    effect: perhaps\n');
    const failed = await run('npx', ['tsx', 'bin/countersign.ts'], { cwd: ROOT, env: { ...offline, COUNTERSIGN_CONFIG: bad, CDK_OUTDIR: out } }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(`Invalid config ${bad}:`);
    expect(failed?.stderr).toContain('  - version: expected version: 1');
    expect(failed?.stderr).toContain('  - rules.0.effect: expected one of allow, deny, require_approval');
    expect(failed?.stderr).not.toContain('    at ');
  });

  it('stops on env:NAME secrets, which a deployed function could never read, naming each field', async () => {
    const local = join(out, 'local-secrets.yaml');
    writeFileSync(
      local,
      readFileSync(join(ROOT, 'countersign.config.yaml'), 'utf8').replace(
        /^channels:\n/m,
        'channels:\n  slack: { botToken: env:SLACK_BOT_TOKEN, signingSecret: env:SLACK_SIGNING_SECRET }\n  teams: { webhookUrl: env:TEAMS_WEBHOOK_URL }\n',
      ),
    );
    const failed = await run('npx', ['tsx', 'bin/countersign.ts'], { cwd: ROOT, env: { ...offline, COUNTERSIGN_CONFIG: local, CDK_OUTDIR: out } }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(`Invalid config ${local} for a deployment to AWS:`);
    for (const field of ['channels.slack.botToken', 'channels.slack.signingSecret', 'channels.teams.webhookUrl']) {
      expect(failed?.stderr).toMatch(
        new RegExp(`  - ${field.replaceAll('.', '\\.')}: env:\\w+ is read from the environment, which only local mode sets: .*Secrets Manager`),
      );
    }
    expect(failed?.stderr).not.toContain('    at ');
  });
});

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
