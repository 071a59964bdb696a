/**
 * `countersign doctor` against mocked AWS clients (aws-sdk-client-mock): these APIs have no local endpoint. Each check's
 * ok, warn and fail, AccessDenied naming the permission, the table, --json and the exit code, through the CLI's main
 * entry and through the command with injected clients and streams.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetAccountCommand, GetConfigurationSetCommand, GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { doctorCommand, doctorTable } from '../../cli/doctor';
import { type CheckResult, type DoctorClients, RESERVED_CONCURRENCY, requiredBootstrapVersion } from '../../cli/doctor-checks';
import { main } from '../../cli/main';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { buildApp } from '../../lib/app';
import { API_ROUTES } from '../../lib/intake-api';

const ROOT = join(import.meta.dirname, '../..');

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

/** The doctor's clients with fixed credentials (the mocks answer; nothing reads a profile or the environment). */
function fakeCredentialClients(region: string): DoctorClients {
  const config = { region, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };
  return {
    sts: new STSClient(config),
    cloudformation: new CloudFormationClient(config),
    ses: new SESv2Client(config),
    lambda: new LambdaClient(config),
    secrets: new SecretsManagerClient(config),
  };
}
const secretArn = (name: string, region = REGION, account = ACCOUNT) => `arn:aws:secretsmanager:${region}:${account}:secret:countersign/${name}-AbCdEf`;
const BOT = secretArn('slack-bot');
const SIGNING = secretArn('slack-signing');
const TEAMS = secretArn('teams');
const OIDC = secretArn('oidc');
const VALUES: Record<string, string> = {
  [BOT]: 'xoxb-1111-2222-SECRETBOTVALUE',
  [SIGNING]: '0123456789abcdef0123456789abcdef',
  [TEAMS]: 'https://prod.example.logic.azure.com/workflows/SECRETWEBHOOK',
  [OIDC]: 'SECRETOIDCVALUE',
};

/** A config using every channel, sign-in, and secrets by ARN. */
const FULL = `
version: 1
groups:
  owners:
    members:
      - { id: alice@example.com, slackUserId: U0ALICE }
      - { id: bob@example.com, slackUserId: U0BOB }
rules:
  - name: prod-exports
    match: { action: "data.export" }
    effect: require_approval
    approvers: [owners]
    channels: [email, slack]
  - name: prod-iam
    match: { action: "iam.*" }
    effect: require_approval
    approvers: [owners]
    channels: [teams]
    requireSignIn: true
default: { effect: deny }
channels:
  email: { from: countersign@example.com }
  slack: { botToken: ${BOT}, signingSecret: ${SIGNING} }
  teams: { webhookUrl: ${TEAMS} }
auth:
  oidc: { issuer: https://login.example.com, clientId: countersign, clientSecret: ${OIDC} }
`;

const accessDenied = (message = 'User is not authorized to perform this action') =>
  Object.assign(new Error(message), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
const awsError = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: {} });

const bootstrapStack = (over: Partial<Stack> = {}): Stack => ({
  StackName: 'CDKToolkit',
  StackStatus: 'UPDATE_COMPLETE',
  CreationTime: new Date(0),
  Outputs: [
    { OutputKey: 'BootstrapVersion', OutputValue: '30' },
    { OutputKey: 'BucketName', OutputValue: 'cdk-assets' },
  ],
  ...over,
});

const sts = mockClient(STSClient);
const cfn = mockClient(CloudFormationClient);
const ses = mockClient(SESv2Client);
const lambda = mockClient(LambdaClient);
const secrets = mockClient(SecretsManagerClient);

/** Every mock answering as a healthy, bootstrapped account out of the SES sandbox. */
function healthyAccount(): void {
  for (const m of [sts, cfn, ses, lambda, secrets]) m.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/platform/pat`, UserId: 'AROAEXAMPLE:pat' });
  cfn.on(DescribeStacksCommand).rejects(awsError('ValidationError', 'Stack with id Countersign does not exist'));
  cfn.on(DescribeStacksCommand, { StackName: 'CDKToolkit' }).resolves({ Stacks: [bootstrapStack()] });
  lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
  ses.on(GetEmailIdentityCommand).rejects(awsError('NotFoundException', 'Email identity does not exist.'));
  ses.on(GetEmailIdentityCommand, { EmailIdentity: 'example.com' }).resolves({ IdentityType: 'DOMAIN', VerifiedForSendingStatus: true });
  ses
    .on(GetAccountCommand)
    .resolves({ ProductionAccessEnabled: true, SendingEnabled: true, EnforcementStatus: 'HEALTHY', SendQuota: { Max24HourSend: 50_000 } });
  ses.on(GetConfigurationSetCommand).resolves({ ConfigurationSetName: 'approvals' });
  secrets.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) => {
    if (!(input.SecretId in VALUES)) throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return { ARN: input.SecretId, Name: input.SecretId.split(':').pop() };
  });
  secrets.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => ({ ARN: input.SecretId, SecretString: VALUES[input.SecretId] }));
}

const discoveryOk = (async (url: Parameters<typeof fetch>[0]) => {
  expect(String(url)).toBe('https://login.example.com/.well-known/openid-configuration');
  return Response.json({
    issuer: 'https://login.example.com',
    authorization_endpoint: 'https://login.example.com/authorize',
    token_endpoint: 'https://login.example.com/token',
  });
}) as typeof fetch;

const dir = mkdtempSync(join(tmpdir(), 'cs-doctor-'));
let files = 0;
function configFile(text: string): string {
  const file = join(dir, `config-${files++}.yaml`);
  writeFileSync(file, text);
  return file;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  checks: CheckResult[];
}

/** Runs `doctor` with injected clients (real SDK clients whose send is mocked), streams and discovery fetch. */
async function doctor(config: string, args: string[] = [], over: { fetch?: typeof fetch; required?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const clients = (options: { region: string }): DoctorClients => {
    expect(options.region).toBe(REGION);
    return fakeCredentialClients(options.region);
  };
  const code = await doctorCommand(['--region', REGION, '--config', configFile(config), '--json', ...args], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: over.env ?? {},
    clients,
    fetch: over.fetch ?? discoveryOk,
    requiredBootstrapVersion: over.required ?? 6,
  });
  const checks = stdout.startsWith('{') ? (JSON.parse(stdout) as { checks: CheckResult[] }).checks : [];
  return { code, stdout, stderr, checks };
}

const find = (run: Run, check: string): CheckResult => {
  const found = run.checks.find((c) => c.check === check);
  expect(found, `${check} in ${run.checks.map((c) => c.check).join(', ')}`).toBeDefined();
  return found!;
};

beforeEach(healthyAccount);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('countersign doctor through the CLI', () => {
  let written: string;
  beforeEach(() => {
    written = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written += String(chunk);
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it('is a command of main: a healthy account and config print a table of ok lines and exit 0', async () => {
    vi.spyOn(globalThis, 'fetch').mockRejectedValue(new TypeError('fetch failed'));
    const code = await main(['doctor', '--region', REGION, '--config', configFile(FULL)]);
    vi.restoreAllMocks();
    // The discovery document could not be fetched: that line warns, and warnings exit 0.
    expect(code).toBe(0);
    const lines = written.split('\n');
    expect(lines[0]).toMatch(/^check\s+status\s+detail$/);
    for (const check of [
      'config',
      'aws credentials',
      'cdk bootstrap',
      'lambda concurrency',
      'ses sender',
      'ses sandbox',
      'secret channels.slack.botToken',
      'secret channels.slack.signingSecret',
      'secret channels.teams.webhookUrl',
      'secret auth.oidc.clientSecret',
      'channels',
      'slack settings',
      'teams settings',
    ]) {
      expect(
        lines.some((l) => new RegExp(`^${check.replace(/\./g, '\\.')}\\s+ok\\s+`).test(l)),
        check,
      ).toBe(true);
    }
    expect(written).toMatch(/cdk bootstrap\s+ok\s+CDKToolkit UPDATE_COMPLETE, bootstrap version 30 \(aws-cdk-lib needs \d+\)/);
    expect(written).toMatch(
      /oidc sign-in\s+warn\s+required by rule prod-iam; https:\/\/login\.example\.com\/\.well-known\/openid-configuration could not be fetched/,
    );
    expect(written).toMatch(/\ndoctor: OK: 13 ok, 1 warn, 0 fail \(warnings do not stop a deploy\)\n$/);
    for (const value of Object.values(VALUES)) expect(written).not.toContain(value);
  });

  it('--json through main: one document with ok, region, account, every check and the counts; a warning exits 0', async () => {
    lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
    const code = await main([
      'doctor',
      '--json',
      '--region',
      REGION,
      '--config',
      configFile(FULL.replace(/\nauth:[\s\S]*$/, '\n').replace('    requireSignIn: true\n', '')),
    ]);
    vi.restoreAllMocks();
    expect(code).toBe(0);
    const doc = JSON.parse(written) as { ok: boolean; region: string; account: string; checks: CheckResult[]; counts: Record<string, number> };
    expect(doc).toMatchObject({ ok: true, region: REGION, account: ACCOUNT, counts: { fail: 0, warn: 1 } });
    expect(doc.checks.find((c) => c.status === 'warn')).toMatchObject({ check: 'lambda concurrency', fix: expect.stringContaining('--quota-code L-B99A9384') });
    expect(doc.checks.map((c) => c.check)).not.toContain('oidc sign-in');
  });

  it('--help prints the usage on stdout and exits 0; no region is a usage error (2) on stderr', async () => {
    expect(await main(['doctor', '--help'])).toBe(0);
    expect(written).toMatch(/^usage: countersign doctor /);
    const stderr: string[] = [];
    const code = await doctorCommand(['--config', configFile(FULL)], {
      env: {},
      stderr: { write: (t: string) => stderr.push(t) },
      profileRegion: async () => undefined,
    });
    expect(code).toBe(2);
    expect(stderr.join('')).toMatch(/no region: pass --region/);
    expect(await doctorCommand(['--bogus'], { env: {}, stderr: { write: () => true } })).toBe(2);
    expect(await doctorCommand(['--region', 'Europe'], { env: {}, stderr: { write: () => true } })).toBe(2);
  });

  it('takes the region from AWS_REGION, then AWS_DEFAULT_REGION, then the profile, and --profile over AWS_PROFILE', async () => {
    const seen: Array<{ region: string; profile?: string | undefined }> = [];
    const run = (argv: string[], env: NodeJS.ProcessEnv) =>
      doctorCommand(['--config', configFile(FULL), '--json', ...argv], {
        env,
        stdout: { write: () => true },
        profileRegion: async (profile) => (profile === 'prod' ? 'us-east-2' : undefined),
        clients: (options) => {
          seen.push(options);
          return fakeCredentialClients(options.region);
        },
        fetch: discoveryOk,
        requiredBootstrapVersion: 6,
      });
    await run([], { AWS_REGION: 'eu-central-1', AWS_DEFAULT_REGION: 'us-west-2' });
    await run([], { AWS_DEFAULT_REGION: 'us-west-2' });
    await run([], { AWS_PROFILE: 'prod' });
    await run(['--profile', 'prod', '--region', 'ap-southeast-2'], { AWS_PROFILE: 'dev' });
    expect(seen).toEqual([
      { region: 'eu-central-1', profile: undefined },
      { region: 'us-west-2', profile: undefined },
      { region: 'us-east-2', profile: 'prod' },
      { region: 'ap-southeast-2', profile: 'prod' },
    ]);
  });
});

describe('credentials and config', () => {
  it('no credentials: one failing line says how to configure them, and no other AWS check runs', async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError('CredentialsProviderError', 'Could not load credentials from any providers'));
    const run = await doctor(FULL);
    expect(run.code).toBe(1);
    expect(find(run, 'aws credentials')).toMatchObject({
      status: 'fail',
      fix: expect.stringMatching(/aws configure, aws sso login, AWS_PROFILE or --profile/),
    });
    expect(run.checks.map((c) => c.check)).toEqual(['config', 'aws credentials', 'channels', 'slack settings', 'teams settings']);
    expect(cfn.calls()).toHaveLength(0);
  });

  it('an invalid config fails its line naming each field, and the account checks still run', async () => {
    const run = await doctor('version: 1\nrules:\n  - name: x\n    match: {}\n    effect: require_approval\n    approvers: [nobody]\n');
    expect(run.code).toBe(1);
    expect(find(run, 'config')).toMatchObject({ status: 'fail', detail: expect.stringContaining('rules.0.approvers.0: unknown group "nobody"') });
    expect(find(run, 'cdk bootstrap').status).toBe('ok');
  });
});

describe('cdk bootstrap', () => {
  it('a missing bootstrap stack fails with the exact bootstrap command', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'CDKToolkit' }).rejects(awsError('ValidationError', 'Stack with id CDKToolkit does not exist'));
    const run = await doctor(FULL);
    expect(run.code).toBe(1);
    expect(find(run, 'cdk bootstrap')).toMatchObject({ status: 'fail', fix: `npx cdk bootstrap aws://${ACCOUNT}/${REGION}` });
  });

  it('a version older than aws-cdk-lib needs fails; no BootstrapVersion output fails; the version needed is read from aws-cdk-lib', async () => {
    cfn
      .on(DescribeStacksCommand, { StackName: 'CDKToolkit' })
      .resolves({ Stacks: [bootstrapStack({ Outputs: [{ OutputKey: 'BootstrapVersion', OutputValue: '5' }] })] });
    const old = await doctor(FULL, [], { required: 6 });
    expect(find(old, 'cdk bootstrap')).toMatchObject({
      status: 'fail',
      detail: 'bootstrap version 5; aws-cdk-lib needs 6 or later',
      fix: expect.stringContaining('npx cdk bootstrap aws://'),
    });
    expect(old.code).toBe(1);
    cfn.on(DescribeStacksCommand, { StackName: 'CDKToolkit' }).resolves({ Stacks: [bootstrapStack({ Outputs: [] })] });
    expect(find(await doctor(FULL), 'cdk bootstrap')).toMatchObject({ status: 'fail', detail: expect.stringContaining('no BootstrapVersion output') });
    const required = await requiredBootstrapVersion();
    expect(Number.isInteger(required) && required >= 6).toBe(true);
  });

  it('in progress or failed fails; an update that rolled back warns; a custom --toolkit-stack-name is the one described', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'CDKToolkit' }).resolves({ Stacks: [bootstrapStack({ StackStatus: 'UPDATE_IN_PROGRESS' })] });
    expect(find(await doctor(FULL), 'cdk bootstrap')).toMatchObject({ status: 'fail', detail: 'CDKToolkit is UPDATE_IN_PROGRESS' });
    cfn.on(DescribeStacksCommand, { StackName: 'CDKToolkit' }).resolves({ Stacks: [bootstrapStack({ StackStatus: 'ROLLBACK_COMPLETE' })] });
    expect(find(await doctor(FULL), 'cdk bootstrap')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('aws cloudformation delete-stack --stack-name CDKToolkit'),
    });
    cfn.on(DescribeStacksCommand, { StackName: 'CDKToolkit' }).resolves({ Stacks: [bootstrapStack({ StackStatus: 'UPDATE_ROLLBACK_COMPLETE' })] });
    const rolledBack = await doctor(FULL);
    expect(find(rolledBack, 'cdk bootstrap').status).toBe('warn');
    expect(rolledBack.code).toBe(0);
    cfn.on(DescribeStacksCommand, { StackName: 'OurToolkit' }).resolves({ Stacks: [bootstrapStack({ StackName: 'OurToolkit' })] });
    expect(find(await doctor(FULL, ['--toolkit-stack-name', 'OurToolkit']), 'cdk bootstrap')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^OurToolkit UPDATE_COMPLETE/),
    });
  });

  it('AccessDenied names cloudformation:DescribeStacks', async () => {
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('not authorized to perform: cloudformation:DescribeStacks'), { name: 'AccessDenied' }));
    const run = await doctor(FULL);
    expect(run.code).toBe(1);
    expect(find(run, 'cdk bootstrap')).toMatchObject({
      status: 'fail',
      permission: 'cloudformation:DescribeStacks',
      detail: expect.stringContaining(`arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/CDKToolkit/*`),
    });
  });
});

describe('lambda concurrency', () => {
  const limit = (unreserved: number, total = unreserved) =>
    lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: total, UnreservedConcurrentExecutions: unreserved } });

  it("a new account's 10 deploys (Countersign reserves no concurrency) but warns that bursts would be throttled", async () => {
    limit(10);
    const run = await doctor(FULL);
    expect(run.code).toBe(0);
    expect(find(run, 'lambda concurrency')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('10 left for'),
      fix: expect.stringContaining('new accounts start at 10'),
    });
    limit(1000);
    expect(find(await doctor(FULL), 'lambda concurrency')).toMatchObject({ status: 'ok', detail: expect.stringContaining('Countersign reserves none') });
  });

  it('below 100 warns and exits 0; 1000 is ok; a deployed stack already counts its reservations', async () => {
    limit(50);
    const low = await doctor(FULL);
    expect(find(low, 'lambda concurrency')).toMatchObject({ status: 'warn', detail: expect.stringContaining('50 left') });
    expect(low.code).toBe(0);
    limit(11, 13);
    cfn.on(DescribeStacksCommand, { StackName: 'Countersign' }).resolves({ Stacks: [bootstrapStack({ StackName: 'Countersign' })] });
    expect(find(await doctor(FULL), 'lambda concurrency')).toMatchObject({ status: 'warn', detail: expect.stringContaining('11 left for') });
  });

  it('AccessDenied names lambda:GetAccountSettings', async () => {
    lambda.on(GetAccountSettingsCommand).rejects(accessDenied());
    expect(find(await doctor(FULL), 'lambda concurrency')).toMatchObject({ status: 'fail', permission: 'lambda:GetAccountSettings' });
  });

  it('RESERVED_CONCURRENCY is what the synthesized stack reserves', () => {
    const { stack } = buildApp({ config: parseConfig(FULL), bundle: false, nag: false });
    const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    const reserved = functions.reduce((n, f) => n + ((f.Properties as { ReservedConcurrentExecutions?: number }).ReservedConcurrentExecutions ?? 0), 0);
    expect(reserved).toBe(RESERVED_CONCURRENCY);
  });
});

describe('ses', () => {
  it('the sender is verified by its address or by its domain; neither fails with how to verify it', async () => {
    expect(find(await doctor(FULL), 'ses sender')).toMatchObject({ status: 'ok', detail: expect.stringContaining('its domain example.com is verified') });
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'example.com' }).rejects(awsError('NotFoundException', 'no'));
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'countersign@example.com' }).resolves({ IdentityType: 'EMAIL_ADDRESS', VerifiedForSendingStatus: true });
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'alice@example.com' }).resolves({ VerifiedForSendingStatus: true });
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'bob@example.com' }).resolves({ VerifiedForSendingStatus: true });
    expect(find(await doctor(FULL), 'ses sender')).toMatchObject({ status: 'ok', detail: `countersign@example.com is verified in SES in ${REGION}` });
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'countersign@example.com' }).rejects(awsError('NotFoundException', 'no'));
    const run = await doctor(FULL);
    expect(run.code).toBe(1);
    expect(find(run, 'ses sender')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining(`aws sesv2 create-email-identity --email-identity countersign@example.com --region ${REGION}`),
    });
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'countersign@example.com' }).resolves({ VerifiedForSendingStatus: false });
    expect(find(await doctor(FULL), 'ses sender')).toMatchObject({ status: 'fail', detail: expect.stringContaining('verification is pending (the address)') });
  });

  it('in the sandbox: warns when every approver address is verified, fails naming the ones that are not, and says how to get production access', async () => {
    ses.on(GetAccountCommand).resolves({ ProductionAccessEnabled: false, SendingEnabled: true, SendQuota: { Max24HourSend: 200 } });
    const verified = await doctor(FULL);
    expect(find(verified, 'ses sandbox')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('all 2 approver addresses are'),
      fix: expect.stringContaining('aws sesv2 put-account-details --production-access-enabled'),
    });
    expect(verified.code).toBe(0);
    const otherDomain = FULL.replace('{ id: bob@example.com', '{ id: bob@partner.example');
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'partner.example' }).rejects(awsError('NotFoundException', 'no'));
    const run = await doctor(otherDomain);
    expect(run.code).toBe(1);
    expect(find(run, 'ses sandbox')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('1 of 2 approver addresses are not verified (bob@partner.example)'),
    });
    expect(find(run, 'ses sandbox').fix).toMatch(/Request production access/);
  });

  it('a missing configuration set fails; AccessDenied on GetAccount names ses:GetAccount', async () => {
    ses.on(GetConfigurationSetCommand).rejects(awsError('NotFoundException', 'Configuration set <approvals> does not exist.'));
    const withSet = FULL.replace('email: { from: countersign@example.com }', 'email: { from: countersign@example.com, configurationSet: approvals }');
    expect(find(await doctor(withSet), 'ses configuration set')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('create-configuration-set --configuration-set-name approvals'),
    });
    ses.on(GetAccountCommand).rejects(accessDenied());
    expect(find(await doctor(FULL), 'ses sandbox')).toMatchObject({
      status: 'fail',
      permission: 'ses:GetAccount',
      detail: expect.stringMatching(/^AccessDeniedException: doctor needs ses:GetAccount/),
    });
  });
});

describe('secrets', () => {
  it('an env: reference fails: it is for local mode; write a Secrets Manager ARN', async () => {
    const run = await doctor(FULL.replace(BOT, 'env:SLACK_BOT_TOKEN'));
    expect(run.code).toBe(1);
    expect(find(run, 'secret channels.slack.botToken')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('only local mode has'),
      fix: expect.stringContaining('aws secretsmanager create-secret --name countersign/slack-bot'),
    });
  });

  it('a missing, deleted, unreadable or other-region secret fails, naming what doctor needed; no value is ever printed', async () => {
    const missing = secretArn('gone');
    const run = await doctor(FULL.replace(TEAMS, missing));
    expect(find(run, 'secret channels.teams.webhookUrl')).toMatchObject({ status: 'fail', detail: expect.stringContaining('no such secret') });
    secrets.on(DescribeSecretCommand, { SecretId: OIDC }).resolves({ ARN: OIDC, DeletedDate: new Date('2030-01-01T00:00:00Z') });
    secrets.on(GetSecretValueCommand, { SecretId: SIGNING }).rejects(accessDenied());
    const other = await doctor(FULL.replace(BOT, secretArn('slack-bot', 'us-east-1')));
    expect(find(other, 'secret auth.oidc.clientSecret')).toMatchObject({ status: 'fail', fix: expect.stringContaining('restore-secret') });
    expect(find(other, 'secret channels.slack.signingSecret')).toMatchObject({
      status: 'fail',
      permission: 'secretsmanager:GetSecretValue',
      detail: expect.stringContaining(SIGNING),
    });
    expect(find(other, 'secret channels.slack.botToken')).toMatchObject({
      status: 'fail',
      detail: `the secret is in us-east-1, the deployment in ${REGION}: the functions read secrets in their own region`,
    });
    for (const value of Object.values(VALUES)) {
      expect(run.stdout).not.toContain(value);
      expect(other.stdout).not.toContain(value);
    }
  });

  it('a value that is not what the channel needs fails (or warns) without showing it; a customer managed key warns', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: BOT }).resolves({ SecretString: 'xoxp-USERTOKENVALUE' });
    secrets.on(GetSecretValueCommand, { SecretId: TEAMS }).resolves({ SecretString: 'http://insecure.example/SECRETHOOK' });
    secrets.on(GetSecretValueCommand, { SecretId: SIGNING }).resolves({ SecretString: 'not-a-signing-secret' });
    secrets
      .on(DescribeSecretCommand, { SecretId: OIDC })
      .resolves({ ARN: OIDC, KmsKeyId: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab` });
    const run = await doctor(FULL);
    expect(find(run, 'secret channels.slack.botToken')).toMatchObject({ status: 'fail', detail: expect.stringContaining('is not a Slack bot token (xoxb-') });
    expect(find(run, 'secret channels.teams.webhookUrl')).toMatchObject({ status: 'fail', detail: expect.stringContaining('is not an https URL') });
    expect(find(run, 'secret channels.slack.signingSecret').status).toBe('warn');
    expect(find(run, 'secret auth.oidc.clientSecret')).toMatchObject({ status: 'warn', detail: expect.stringContaining('customer managed key') });
    for (const value of ['USERTOKENVALUE', 'SECRETHOOK', 'not-a-signing-secret']) expect(run.stdout).not.toContain(value);
  });
});

describe('channels, approvers and sign-in', () => {
  const slackOnly = `
version: 1
groups:
  ops:
    members:
      - { id: arn:aws:iam::123456789012:role/ops-alice, slackUserId: U0ALICE }
      - { id: arn:aws:iam::123456789012:role/ops-bob }
rules:
  - name: deploys
    match: { action: "deploy.*" }
    effect: require_approval
    approvers: [ops]
    minApprovals: MIN
default: { effect: deny }
channels:
  slack: { botToken: ${BOT}, signingSecret: ${SIGNING} }
`;

  it('a rule whose approvers cannot be reached on its channels fails; some unreachable warns', async () => {
    const two = await doctor(slackOnly.replace('MIN', '2'));
    expect(two.code).toBe(1);
    expect(find(two, 'approvers of rule deploys')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('only 1 can be asked, and 2 approvals are needed'),
      fix: expect.stringContaining('slackUserId'),
    });
    const one = await doctor(slackOnly.replace('MIN', '1'));
    expect(find(one, 'approvers of rule deploys')).toMatchObject({
      status: 'warn',
      detail: 'arn:aws:iam::123456789012:role/ops-bob has no personal address on slack',
    });
    expect(one.code).toBe(0);
    expect(find(one, 'channels')).toMatchObject({ status: 'ok', detail: 'the policy asks on slack' });
    expect(one.checks.map((c) => c.check)).not.toContain('ses sender');
  });

  it('OIDC: a discovery document for another issuer fails; an http issuer fails', async () => {
    const otherIssuer = (async () =>
      Response.json({ issuer: 'https://login.example.com/tenant', authorization_endpoint: 'a', token_endpoint: 't' })) as typeof fetch;
    expect(find(await doctor(FULL, [], { fetch: otherIssuer }), 'oidc sign-in')).toMatchObject({
      status: 'fail',
      fix: 'write https://login.example.com/tenant in auth.oidc.issuer',
    });
    expect(find(await doctor(FULL), 'oidc sign-in')).toMatchObject({ status: 'ok', detail: expect.stringContaining('required by rule prod-iam') });
    expect(find(await doctor(FULL.replace('https://login.example.com', 'http://login.example.com')), 'oidc sign-in').status).toBe('fail');
  });
});

describe('the table', () => {
  it('puts each fix under its line, and makes text from AWS printable', () => {
    const table = doctorTable([
      { check: 'cdk bootstrap', status: 'fail', detail: 'no CDKToolkit\u001b[2J stack', fix: 'npx cdk bootstrap aws://1/eu-west-1' },
      { check: 'ses sender', status: 'ok', detail: 'verified', fix: 'not shown for ok lines' },
    ]);
    expect(table.split('\n')).toEqual([
      'check          status  detail',
      '-------------  ------  ------',
      'cdk bootstrap  fail    no CDKToolkit\\x1b[2J stack',
      '                       fix: npx cdk bootstrap aws://1/eu-west-1',
      'ses sender     ok      verified',
    ]);
  });
});

describe('the README and the Slack app manifest', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it("the README's doctor example is what doctor prints for that account, with the shipped config", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/^```\n\$ npx countersign doctor --region eu-west-1\n([\s\S]*?)^```$/gm)];
    expect(blocks).toHaveLength(1);
    // A new account: bootstrapped, Lambda's limit still 10, the sender's verification pending, SES in the sandbox.
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_PlatformAdmin_0a1b2c3d4e5f6a7b/pat@example.com` });
    cfn.on(DescribeStacksCommand, { StackName: 'CDKToolkit' }).resolves({ Stacks: [bootstrapStack({ StackStatus: 'CREATE_COMPLETE' })] });
    lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
    ses.on(GetEmailIdentityCommand).rejects(awsError('NotFoundException', 'no'));
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'countersign@example.com' }).resolves({ VerifiedForSendingStatus: false });
    ses.on(GetAccountCommand).resolves({ ProductionAccessEnabled: false, SendingEnabled: true, SendQuota: { Max24HourSend: 200 } });
    vi.stubEnv('COUNTERSIGN_CONFIG', '');
    vi.spyOn(process, 'cwd').mockReturnValue(ROOT);
    let written = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written += String(chunk);
      return true;
    });
    const code = await main(['doctor', '--region', REGION]);
    vi.restoreAllMocks();
    expect(code).toBe(1);
    expect(written).toBe(blocks[0]![1]);
  });

  it('deploy/slack-app-manifest.yaml points interactivity at the Slack route and asks only for the scopes chat.postMessage needs', () => {
    const manifest = parseYaml(readFileSync(join(ROOT, 'deploy/slack-app-manifest.yaml'), 'utf8')) as {
      oauth_config: { scopes: { bot: string[]; user?: string[] } };
      settings: { interactivity: { is_enabled: boolean; request_url: string }; socket_mode_enabled: boolean };
      features: { bot_user: { display_name: string }; app_home: { messages_tab_enabled: boolean } };
    };
    const url = /^https:\/\/<api>(\/.*)$/.exec(manifest.settings.interactivity.request_url);
    expect(url).not.toBeNull();
    expect(API_ROUTES).toContainEqual(expect.objectContaining({ method: 'POST', path: url![1], auth: 'self', target: 'decision' }));
    expect(manifest.settings).toMatchObject({ interactivity: { is_enabled: true }, socket_mode_enabled: false });
    expect(manifest.features.app_home.messages_tab_enabled).toBe(true);
    expect(manifest.oauth_config.scopes).toEqual({ bot: ['chat:write', 'chat:write.public'] });
    // The scopes follow from the Slack Web API methods Countersign calls: chat.postMessage alone.
    const adapter = readFileSync(join(ROOT, 'lambdas/adapters/slack.ts'), 'utf8');
    expect(new Set([...adapter.matchAll(/const method = '([a-z]+\.[A-Za-z.]+)'/g)].map((m) => m[1]))).toEqual(new Set(['chat.postMessage']));
  });
});
