/**
 * The checks of `countersign doctor`: what a platform team's AWS account and config must have before `cdk deploy`
 * (the CDK bootstrap stack, Lambda concurrency) and before the first approval can reach anyone (the SES sender and
 * sandbox, the channel secrets, Slack bindings, OIDC). Each check answers ok, warn or fail with a detail and, unless
 * it is ok, a fix. The AWS clients are passed in, so tests drive every answer with mocked clients.
 *
 * Secret values are read only to prove they are readable and well-formed; they are never returned or printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Stack as CfnStack, CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetAccountCommand, GetConfigurationSetCommand, GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { type Channel, type Config, channelsFor, type PolicyOutcome } from '../lambdas/core/config';
import { formatUtc } from '../lambdas/core/dates';
import { approverIds } from '../lambdas/core/policy';
import { approvalsNeeded } from '../lambdas/core/quorum';
import { approverAddress } from '../lambdas/core/session';
import { slackUsersOf } from '../lambdas/core/slack';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** What was checked, e.g. `cdk bootstrap` or `secret channels.slack.botToken`. */
  readonly check: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do about a warning or a failure. */
  readonly fix?: string;
  /** The IAM action doctor was refused, when the check could not be made (AccessDenied). */
  readonly permission?: string;
}

/** The AWS clients doctor calls, all in the deployment's region. */
export interface DoctorClients {
  readonly sts: STSClient;
  readonly cloudformation: CloudFormationClient;
  readonly ses: SESv2Client;
  readonly lambda: LambdaClient;
  readonly secrets: SecretsManagerClient;
}

export function awsClients(options: { region: string; profile?: string | undefined }): DoctorClients {
  const config = { region: options.region, ...(options.profile ? { profile: options.profile } : {}) };
  return {
    sts: new STSClient(config),
    cloudformation: new CloudFormationClient(config),
    ses: new SESv2Client(config),
    lambda: new LambdaClient(config),
    secrets: new SecretsManagerClient(config),
  };
}

export interface DoctorInput {
  readonly region: string;
  /** The validated config, or undefined when it could not be loaded (its own check says why). */
  readonly config: Config | undefined;
  readonly clients: DoctorClients;
  /** For the OIDC issuer's discovery document. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** The CDK bootstrap stack's name (`cdk bootstrap --toolkit-stack-name`). @default CDKToolkit */
  readonly toolkitStackName?: string;
  /** The name of Countersign's own stack. @default Countersign */
  readonly stackName?: string;
  /** The bootstrap version this aws-cdk-lib needs. @default requiredBootstrapVersion() */
  readonly requiredBootstrapVersion?: number;
}

/**
 * Concurrency the stack reserves: none (one checkpointer and one repair run at a time come from a lease item, since a
 * reservation is refused on accounts at the new-account quota). A test keeps this equal to the synthesized template's sum.
 */
export const RESERVED_CONCURRENCY: number = 0;
/** Lambda refuses a reservation that would leave fewer unreserved executions than this. */
export const LAMBDA_MIN_UNRESERVED = 10;
/**
 * Below this many unreserved executions, doctor warns: the API admits 100 requests/s (bursts of 200) by default and
 * every function shares the account's unreserved pool with the account's other functions.
 */
export const RECOMMENDED_UNRESERVED = 100;
/** Service Quotas code of Lambda's "Concurrent executions". */
export const LAMBDA_CONCURRENCY_QUOTA = 'L-B99A9384';

const COMPLETE = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'IMPORT_COMPLETE']);
const USABLE_AFTER_ROLLBACK = new Set(['UPDATE_ROLLBACK_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE']);

/** Error names AWS answers when the caller lacks a permission. */
const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError']);
/** Error names that mean the credentials themselves are missing, invalid or expired. */
const BAD_CREDENTIALS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'TokenRefreshRequired',
]);

const errorName = (e: unknown): string => (e as { name?: string } | null)?.name ?? 'Error';
const errorMessage = (e: unknown): string => ((e as { message?: string } | null)?.message ?? String(e)).split('\n')[0]!;
export const isAccessDenied = (e: unknown): boolean => ACCESS_DENIED.has(errorName(e));

/** A check that could not be made because doctor was refused `permission`. */
function denied(check: string, permission: string, resource: string, e: unknown): CheckResult {
  return {
    check,
    status: 'fail',
    detail: `${errorName(e)}: doctor needs ${permission} on ${resource} to check this`,
    fix: `grant ${permission} to the identity doctor runs as (or run it with a role that has it), then run doctor again`,
    permission,
  };
}

/** A check that failed for another reason (network, throttling, an unexpected answer). */
function failedCall(check: string, call: string, e: unknown): CheckResult {
  return {
    check,
    status: 'fail',
    detail: `${call} failed: ${errorName(e)}: ${errorMessage(e)}`,
    fix: 'run doctor again; if it persists, check the region and your network',
  };
}

/**
 * The bootstrap stack version that stacks synthesized by this aws-cdk-lib require, read from the cloud assembly
 * of an empty stack (the same default synthesizer Countersign's stack uses).
 */
export async function requiredBootstrapVersion(): Promise<number> {
  const { App, Stack } = await import('aws-cdk-lib/core');
  const outdir = mkdtempSync(join(tmpdir(), 'countersign-doctor-'));
  try {
    const app = new App({ outdir, builtinCloudFormationValidation: false });
    new Stack(app, 'BootstrapProbe');
    const artifact = app.synth().getStackByName('BootstrapProbe');
    const version = artifact.requiresBootstrapStackVersion;
    if (version === undefined) throw new Error('aws-cdk-lib did not say which bootstrap version it requires');
    return version;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export interface DoctorReport {
  readonly account?: string;
  readonly caller?: string;
  readonly checks: CheckResult[];
}

/** Runs every check; never throws for an AWS error (each becomes that check's failure). */
export async function runDoctorChecks(input: DoctorInput): Promise<DoctorReport> {
  const { clients, region } = input;
  let account: string;
  let caller: string;
  try {
    const identity = await clients.sts.send(new GetCallerIdentityCommand({}));
    account = identity.Account ?? '';
    caller = identity.Arn ?? '';
  } catch (e) {
    const name = errorName(e);
    const check: CheckResult =
      BAD_CREDENTIALS.has(name) || /credential/i.test(errorMessage(e))
        ? {
            check: 'aws credentials',
            status: 'fail',
            detail: `${name}: ${errorMessage(e)}; the AWS checks did not run`,
            fix: 'configure credentials for the target account (aws configure, aws sso login, AWS_PROFILE or --profile), then run doctor again',
          }
        : {
            ...failedCall('aws credentials', 'sts:GetCallerIdentity', e),
            detail: `sts:GetCallerIdentity failed: ${name}: ${errorMessage(e)}; the AWS checks did not run`,
          };
    return { checks: [check, ...configChecks(input)] };
  }
  const checks: CheckResult[] = [{ check: 'aws credentials', status: 'ok', detail: `account ${account} in ${region}, as ${caller}` }];
  const ctx: Context = { ...input, account, toolkitStackName: input.toolkitStackName ?? 'CDKToolkit', stackName: input.stackName ?? 'Countersign' };
  checks.push(await bootstrapCheck(ctx));
  checks.push(await concurrencyCheck(ctx));
  if (input.config) {
    checks.push(...(await sesChecks(ctx, input.config)));
    checks.push(...(await secretChecks(ctx, input.config)));
  }
  checks.push(...configChecks(input));
  if (input.config?.auth.oidc) checks.push(await oidcCheck(input.config, input.fetch ?? fetch));
  return { account, caller, checks };
}

interface Context extends DoctorInput {
  readonly account: string;
  readonly toolkitStackName: string;
  readonly stackName: string;
}

/** DescribeStacks of one stack; undefined when it does not exist. */
async function describeStack(client: CloudFormationClient, name: string): Promise<CfnStack | undefined> {
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: name }));
    return Stacks?.[0];
  } catch (e) {
    if (errorName(e) === 'ValidationError' && /does not exist/.test(errorMessage(e))) return undefined;
    throw e;
  }
}

async function bootstrapCheck(ctx: Context): Promise<CheckResult> {
  const check = 'cdk bootstrap';
  const bootstrap = `npx cdk bootstrap aws://${ctx.account}/${ctx.region}`;
  let stack: CfnStack | undefined;
  try {
    stack = await describeStack(ctx.clients.cloudformation, ctx.toolkitStackName);
  } catch (e) {
    if (isAccessDenied(e))
      return denied(check, 'cloudformation:DescribeStacks', `arn:aws:cloudformation:${ctx.region}:${ctx.account}:stack/${ctx.toolkitStackName}/*`, e);
    return failedCall(check, 'cloudformation:DescribeStacks', e);
  }
  if (!stack || stack.StackStatus === 'DELETE_COMPLETE') {
    return {
      check,
      status: 'fail',
      detail: `no ${ctx.toolkitStackName} stack in ${ctx.region}: the account and region are not bootstrapped for the CDK`,
      fix: bootstrap,
    };
  }
  const status = stack.StackStatus ?? 'UNKNOWN';
  if (status.endsWith('_IN_PROGRESS')) {
    return {
      check,
      status: 'fail',
      detail: `${ctx.toolkitStackName} is ${status}`,
      fix: `wait for it to finish (aws cloudformation describe-stacks --stack-name ${ctx.toolkitStackName} --region ${ctx.region}), then run doctor again`,
    };
  }
  if (!COMPLETE.has(status) && !USABLE_AFTER_ROLLBACK.has(status)) {
    return {
      check,
      status: 'fail',
      detail: `${ctx.toolkitStackName} is ${status}: it cannot be deployed with`,
      fix:
        `see its events (aws cloudformation describe-stack-events --stack-name ${ctx.toolkitStackName} --region ${ctx.region}); ` +
        `delete it (aws cloudformation delete-stack --stack-name ${ctx.toolkitStackName} --region ${ctx.region}) and run ${bootstrap}`,
    };
  }
  const required = ctx.requiredBootstrapVersion ?? (await requiredBootstrapVersion());
  const output = stack.Outputs?.find((o) => o.OutputKey === 'BootstrapVersion')?.OutputValue;
  const version = output === undefined ? Number.NaN : Number(output);
  if (!Number.isInteger(version)) {
    return {
      check,
      status: 'fail',
      detail: `${ctx.toolkitStackName} has no BootstrapVersion output: it predates the modern bootstrap template`,
      fix: bootstrap,
    };
  }
  if (version < required) {
    return {
      check,
      status: 'fail',
      detail: `bootstrap version ${version}; aws-cdk-lib needs ${required} or later`,
      fix: `${bootstrap} (upgrades the stack in place)`,
    };
  }
  if (USABLE_AFTER_ROLLBACK.has(status)) {
    return {
      check,
      status: 'warn',
      detail: `bootstrap version ${version} (needs ${required}), but its last update rolled back (${status})`,
      fix: `see why (aws cloudformation describe-stack-events --stack-name ${ctx.toolkitStackName} --region ${ctx.region}) and run ${bootstrap} again`,
    };
  }
  return { check, status: 'ok', detail: `${ctx.toolkitStackName} ${status}, bootstrap version ${version} (aws-cdk-lib needs ${required})` };
}

async function concurrencyCheck(ctx: Context): Promise<CheckResult> {
  const check = 'lambda concurrency';
  let unreserved: number | undefined;
  let total: number | undefined;
  try {
    const { AccountLimit } = await ctx.clients.lambda.send(new GetAccountSettingsCommand({}));
    unreserved = AccountLimit?.UnreservedConcurrentExecutions;
    total = AccountLimit?.ConcurrentExecutions;
  } catch (e) {
    if (isAccessDenied(e)) return denied(check, 'lambda:GetAccountSettings', `the account (resource "*")`, e);
    return failedCall(check, 'lambda:GetAccountSettings', e);
  }
  if (unreserved === undefined)
    return { check, status: 'fail', detail: 'lambda:GetAccountSettings answered no UnreservedConcurrentExecutions', fix: 'run doctor again' };
  // A redeploy keeps the stack's reservations, already counted in the unreserved figure.
  let deployed = false;
  try {
    const stack = await describeStack(ctx.clients.cloudformation, ctx.stackName);
    deployed =
      stack !== undefined && stack.StackStatus !== 'DELETE_COMPLETE' && stack.StackStatus !== 'ROLLBACK_COMPLETE' && stack.StackStatus !== 'REVIEW_IN_PROGRESS';
  } catch (e) {
    if (isAccessDenied(e))
      return denied(check, 'cloudformation:DescribeStacks', `arn:aws:cloudformation:${ctx.region}:${ctx.account}:stack/${ctx.stackName}/*`, e);
    return failedCall(check, 'cloudformation:DescribeStacks', e);
  }
  const after = deployed ? unreserved : unreserved - RESERVED_CONCURRENCY;
  const limit = `account limit ${total ?? '?'}, ${unreserved} unreserved`;
  const increase =
    `request a higher "Concurrent executions" quota: aws service-quotas request-service-quota-increase --service-code lambda ` +
    `--quota-code ${LAMBDA_CONCURRENCY_QUOTA} --desired-value 1000 --region ${ctx.region} (new accounts start at 10)`;
  if (RESERVED_CONCURRENCY > 0 && after < LAMBDA_MIN_UNRESERVED) {
    return {
      check,
      status: 'fail',
      detail: `${limit}: Countersign reserves ${RESERVED_CONCURRENCY} (checkpointer and repair job, one each) and Lambda keeps ${LAMBDA_MIN_UNRESERVED} unreserved, so the deploy would be refused`,
      fix: increase,
    };
  }
  if (after < RECOMMENDED_UNRESERVED) {
    return {
      check,
      status: 'warn',
      detail: `${limit}; ${after} left for Countersign's functions${deployed || RESERVED_CONCURRENCY === 0 ? '' : ' after its reservations'}, shared with the account's functions: bursts of agents (the API admits 100 requests/s) would be throttled`,
      fix: increase,
    };
  }
  const reservations =
    RESERVED_CONCURRENCY === 0
      ? '; Countersign reserves none'
      : deployed
        ? ` (${ctx.stackName} is deployed: its ${RESERVED_CONCURRENCY} reserved are counted)`
        : `; ${after} after Countersign reserves ${RESERVED_CONCURRENCY}`;
  return { check, status: 'ok', detail: `${limit}${reservations}` };
}

/** Every require_approval outcome of the policy (rules and the default), named as the table shows them. */
function approvalOutcomes(config: Config): Array<{ name: string; outcome: PolicyOutcome }> {
  return [...config.rules.map((rule) => ({ name: `rule ${rule.name}`, outcome: rule as PolicyOutcome })), { name: 'default', outcome: config.default }].filter(
    ({ outcome }) => outcome.effect === 'require_approval',
  );
}

/** Every approver of an outcome, escalation groups included. */
function everyApprover(config: Config, outcome: PolicyOutcome): string[] {
  const ids = new Set(approverIds(config, outcome));
  for (const group of outcome.escalateTo ?? []) for (const member of config.groups[group]?.members ?? []) ids.add(member.id);
  return [...ids];
}

/** The addresses SES would send approval emails to. */
function emailRecipients(config: Config): string[] {
  const addresses = new Set<string>();
  for (const { outcome } of approvalOutcomes(config)) {
    if (!channelsFor(config, outcome).includes('email')) continue;
    for (const approver of everyApprover(config, outcome)) {
      const address = approverAddress(config, approver);
      if (address) addresses.add(address);
    }
  }
  return [...addresses].sort();
}

type IdentityState = 'verified' | 'pending' | 'missing';

async function sesIdentity(client: SESv2Client, identity: string): Promise<IdentityState> {
  try {
    const answer = await client.send(new GetEmailIdentityCommand({ EmailIdentity: identity }));
    return answer.VerifiedForSendingStatus ? 'verified' : 'pending';
  } catch (e) {
    if (errorName(e) === 'NotFoundException') return 'missing';
    throw e;
  }
}

/** An address is verified for SES when its own identity or its domain's is. */
async function addressVerified(
  client: SESv2Client,
  address: string,
  domains: Map<string, IdentityState>,
): Promise<{ address: IdentityState; domain: IdentityState }> {
  const domain = address.split('@')[1]!;
  let domainState = domains.get(domain);
  if (domainState === undefined) {
    domainState = await sesIdentity(client, domain);
    domains.set(domain, domainState);
  }
  if (domainState === 'verified') return { address: 'missing', domain: domainState };
  return { address: await sesIdentity(client, address), domain: domainState };
}

async function sesChecks(ctx: Context, config: Config): Promise<CheckResult[]> {
  const email = config.channels.email;
  if (!email) return [];
  const results: CheckResult[] = [];
  const ses = ctx.clients.ses;
  const domain = email.from.split('@')[1]!;
  const identityArn = (name: string) => `arn:aws:ses:${ctx.region}:${ctx.account}:identity/${name}`;
  const domains = new Map<string, IdentityState>();

  // The sender: its address identity, or the domain identity that covers it.
  const sender = 'ses sender';
  try {
    const state = await addressVerified(ses, email.from, domains);
    if (state.domain === 'verified')
      results.push({ check: sender, status: 'ok', detail: `${email.from}: its domain ${domain} is verified in SES in ${ctx.region}` });
    else if (state.address === 'verified') results.push({ check: sender, status: 'ok', detail: `${email.from} is verified in SES in ${ctx.region}` });
    else {
      const pending = state.address === 'pending' || state.domain === 'pending';
      results.push({
        check: sender,
        status: 'fail',
        detail: pending
          ? `${email.from}: verification is pending (${state.address === 'pending' ? 'the address' : `the domain ${domain}`}): SES refuses to send as it until then`
          : `neither ${email.from} nor ${domain} is an SES identity in ${ctx.region}: SES refuses to send as it`,
        fix: pending
          ? `${state.address === 'pending' ? `open the link SES emailed to ${email.from}` : `publish the DKIM CNAME records of ${domain} (aws sesv2 get-email-identity --email-identity ${domain} --region ${ctx.region})`}, then run doctor again`
          : `aws sesv2 create-email-identity --email-identity ${email.from} --region ${ctx.region} and open the link SES emails to it ` +
            `(or verify the domain: aws sesv2 create-email-identity --email-identity ${domain} --region ${ctx.region}, then publish its DKIM records)`,
      });
    }
  } catch (e) {
    results.push(
      isAccessDenied(e)
        ? denied(sender, 'ses:GetEmailIdentity', `${identityArn(email.from)} and ${identityArn(domain)}`, e)
        : failedCall(sender, 'ses:GetEmailIdentity', e),
    );
  }

  if (email.configurationSet) {
    const check = 'ses configuration set';
    try {
      await ses.send(new GetConfigurationSetCommand({ ConfigurationSetName: email.configurationSet }));
      results.push({ check, status: 'ok', detail: `${email.configurationSet} exists` });
    } catch (e) {
      if (errorName(e) === 'NotFoundException') {
        results.push({
          check,
          status: 'fail',
          detail: `channels.email.configurationSet ${email.configurationSet} does not exist in ${ctx.region}: SES refuses every email naming it`,
          fix: `aws sesv2 create-configuration-set --configuration-set-name ${email.configurationSet} --region ${ctx.region}, or remove configurationSet from the config`,
        });
      } else {
        results.push(
          isAccessDenied(e)
            ? denied(check, 'ses:GetConfigurationSet', `arn:aws:ses:${ctx.region}:${ctx.account}:configuration-set/${email.configurationSet}`, e)
            : failedCall(check, 'ses:GetConfigurationSet', e),
        );
      }
    }
  }

  // The sandbox: SES then delivers only to verified recipients, at most 200 a day.
  const check = 'ses sandbox';
  let account;
  try {
    account = await ses.send(new GetAccountCommand({}));
  } catch (e) {
    results.push(isAccessDenied(e) ? denied(check, 'ses:GetAccount', 'the account (resource "*")', e) : failedCall(check, 'ses:GetAccount', e));
    return results;
  }
  if (account.SendingEnabled === false || account.EnforcementStatus === 'SHUTDOWN') {
    results.push({
      check,
      status: 'fail',
      detail: `sending is ${account.EnforcementStatus === 'SHUTDOWN' ? 'shut down by AWS' : 'disabled'} for this account in ${ctx.region}: no email is sent`,
      fix:
        account.EnforcementStatus === 'SHUTDOWN'
          ? 'see the SES console (Reputation metrics) and AWS Support'
          : `aws sesv2 put-account-sending-attributes --sending-enabled --region ${ctx.region}`,
    });
    return results;
  }
  if (account.ProductionAccessEnabled) {
    results.push({
      check,
      status: 'ok',
      detail: `production access in ${ctx.region}: SES sends to any recipient (quota ${account.SendQuota?.Max24HourSend ?? '?'} a day)`,
    });
    return results;
  }
  const requestAccess =
    `request production access: SES console → Account dashboard → Request production access, or aws sesv2 put-account-details --production-access-enabled ` +
    `--mail-type TRANSACTIONAL --website-url <url> --use-case-description "approval requests to our approvers" --region ${ctx.region}`;
  const recipients = emailRecipients(config);
  const unverified: string[] = [];
  try {
    for (const address of recipients) {
      const state = await addressVerified(ses, address, domains);
      if (state.domain !== 'verified' && state.address !== 'verified') unverified.push(address);
    }
  } catch (e) {
    results.push(
      isAccessDenied(e)
        ? denied(check, 'ses:GetEmailIdentity', `the approvers' identities (arn:aws:ses:${ctx.region}:${ctx.account}:identity/*)`, e)
        : failedCall(check, 'ses:GetEmailIdentity', e),
    );
    return results;
  }
  if (unverified.length > 0) {
    results.push({
      check,
      status: 'fail',
      detail: `the account is in the SES sandbox in ${ctx.region}: SES delivers only to verified recipients, and ${unverified.length} of ${recipients.length} approver addresses are not verified (${unverified.join(', ')})`,
      fix: `${requestAccess}; until then verify each recipient: aws sesv2 create-email-identity --email-identity <address> --region ${ctx.region}`,
    });
  } else {
    results.push({
      check,
      status: 'warn',
      detail: `the account is in the SES sandbox in ${ctx.region}: only verified recipients get email (all ${recipients.length} approver addresses are), at most ${account.SendQuota?.Max24HourSend ?? 200} a day`,
      fix: requestAccess,
    });
  }
  return results;
}

const SECRET_ARN = /^arn:(aws[a-z-]*):secretsmanager:([a-z0-9-]+):(\d{12}):secret:(.+)$/;

/** Every secret reference in the config, with its path. */
function secretRefs(config: Config): Array<{ path: string; ref: string; kind: 'slack-bot' | 'slack-signing' | 'teams-webhook' | 'oidc-secret' }> {
  const { slack, teams } = config.channels;
  const oidc = config.auth.oidc;
  return [
    ...(slack
      ? [
          { path: 'channels.slack.botToken', ref: slack.botToken, kind: 'slack-bot' as const },
          { path: 'channels.slack.signingSecret', ref: slack.signingSecret, kind: 'slack-signing' as const },
        ]
      : []),
    ...(teams ? [{ path: 'channels.teams.webhookUrl', ref: teams.webhookUrl, kind: 'teams-webhook' as const }] : []),
    ...(oidc ? [{ path: 'auth.oidc.clientSecret', ref: oidc.clientSecret, kind: 'oidc-secret' as const }] : []),
  ];
}

/** What is wrong with a secret's value for its use, without saying the value. */
function valueProblem(kind: string, value: string): { status: CheckStatus; problem: string } | undefined {
  if (kind === 'slack-bot' && !value.startsWith('xoxb-'))
    return { status: 'fail', problem: 'is not a Slack bot token (xoxb-…): store the Bot User OAuth Token from OAuth & Permissions' };
  if (kind === 'teams-webhook') {
    let url: URL | undefined;
    try {
      url = new URL(value.trim());
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'https:') return { status: 'fail', problem: "is not an https URL: store the Workflows webhook's URL, nothing else" };
  }
  if (kind === 'slack-signing' && !/^[0-9a-f]{32}$/.test(value.trim()))
    return {
      status: 'warn',
      problem: 'does not look like a Slack signing secret (32 hex digits): store Basic Information → Signing Secret, not the client secret or a token',
    };
  return undefined;
}

async function secretChecks(ctx: Context, config: Config): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const { path, ref, kind } of secretRefs(config)) {
    const check = `secret ${path}`;
    const store = `aws secretsmanager create-secret --name countersign/${kind} --secret-string "$VALUE" --region ${ctx.region}`;
    if (ref.startsWith('env:')) {
      results.push({
        check,
        status: 'fail',
        detail: `${ref} is read from the environment, which only local mode has: the deployed functions cannot read it`,
        fix: `store the value in Secrets Manager (${store}) and write its ARN in ${path}`,
      });
      continue;
    }
    const arn = SECRET_ARN.exec(ref);
    if (!arn) {
      results.push({ check, status: 'fail', detail: `${ref} is not a Secrets Manager secret ARN`, fix: `write the secret's full ARN in ${path}` });
      continue;
    }
    const [, , secretRegion, secretAccount] = arn;
    if (secretRegion !== ctx.region) {
      results.push({
        check,
        status: 'fail',
        detail: `the secret is in ${secretRegion}, the deployment in ${ctx.region}: the functions read secrets in their own region`,
        fix: `replicate it (aws secretsmanager replicate-secret-to-regions --secret-id ${ref} --add-replica-regions Region=${ctx.region}) and write the replica's ARN, or create it in ${ctx.region}`,
      });
      continue;
    }
    let kmsKeyId: string | undefined;
    try {
      const described = await ctx.clients.secrets.send(new DescribeSecretCommand({ SecretId: ref }));
      if (described.DeletedDate) {
        results.push({
          check,
          status: 'fail',
          detail: `scheduled for deletion on ${formatUtc(described.DeletedDate)}`,
          fix: `aws secretsmanager restore-secret --secret-id ${ref} --region ${ctx.region}`,
        });
        continue;
      }
      kmsKeyId = described.KmsKeyId;
    } catch (e) {
      if (errorName(e) === 'ResourceNotFoundException') {
        results.push({
          check,
          status: 'fail',
          detail: `no such secret in ${secretRegion} (${secretAccount})`,
          fix: `create it (${store}) and write its ARN in ${path}`,
        });
      } else {
        results.push(isAccessDenied(e) ? denied(check, 'secretsmanager:DescribeSecret', ref, e) : failedCall(check, 'secretsmanager:DescribeSecret', e));
      }
      continue;
    }
    let value: string | undefined;
    try {
      value = (await ctx.clients.secrets.send(new GetSecretValueCommand({ SecretId: ref }))).SecretString;
    } catch (e) {
      if (isAccessDenied(e) || errorName(e) === 'DecryptionFailure') {
        results.push(denied(check, 'secretsmanager:GetSecretValue', `${ref}${kmsKeyId ? ` (and kms:Decrypt on ${kmsKeyId})` : ''}`, e));
      } else if (errorName(e) === 'ResourceNotFoundException') {
        results.push({
          check,
          status: 'fail',
          detail: 'the secret has no current value (AWSCURRENT)',
          fix: `aws secretsmanager put-secret-value --secret-id ${ref} --secret-string "$VALUE" --region ${ctx.region}`,
        });
      } else {
        results.push(failedCall(check, 'secretsmanager:GetSecretValue', e));
      }
      continue;
    }
    if (!value) {
      results.push({
        check,
        status: 'fail',
        detail: 'the secret has no string value (a binary secret, or empty): the functions read SecretString',
        fix: `aws secretsmanager put-secret-value --secret-id ${ref} --secret-string "$VALUE" --region ${ctx.region}`,
      });
      continue;
    }
    const problem = valueProblem(kind, value);
    if (problem) {
      results.push({
        check,
        status: problem.status,
        detail: `readable, but its value ${problem.problem}`,
        fix: `aws secretsmanager put-secret-value --secret-id ${ref} --secret-string "$VALUE" --region ${ctx.region}`,
      });
      continue;
    }
    if (secretAccount !== ctx.account) {
      results.push({
        check,
        status: 'warn',
        detail: `readable, but it belongs to account ${secretAccount}, not ${ctx.account}: the functions' roles are granted GetSecretValue on it, and its resource policy (and its KMS key's) must allow them too`,
        fix: `allow the Countersign function roles in the secret's resource policy (aws secretsmanager put-resource-policy --secret-id ${ref}), or keep the secret in ${ctx.account}`,
      });
      continue;
    }
    if (kmsKeyId && !/alias\/aws\/secretsmanager$/.test(kmsKeyId)) {
      results.push({
        check,
        status: 'warn',
        detail: `readable, but encrypted with the customer managed key ${kmsKeyId}: the functions' roles get no kms:Decrypt, so that key's policy must allow them (e.g. kms:ViaService secretsmanager.${ctx.region}.amazonaws.com for the account)`,
        fix: `let the key's policy allow kms:Decrypt through Secrets Manager for the account, or re-encrypt the secret with aws/secretsmanager (aws secretsmanager update-secret --secret-id ${ref} --kms-key-id alias/aws/secretsmanager)`,
      });
      continue;
    }
    results.push({ check, status: 'ok', detail: 'exists and is readable (value not shown)' });
  }
  return results;
}

/**
 * What the policy asks on: for each approval rule, whether its approvers can be reached on its channels. A rule whose
 * approvers nobody could notify fails closed at once, so it fails here too.
 */
function configChecks(input: DoctorInput): CheckResult[] {
  const config = input.config;
  if (!config) return [];
  const results: CheckResult[] = [];
  const outcomes = approvalOutcomes(config);
  const used = new Set<Channel>(outcomes.flatMap(({ outcome }) => channelsFor(config, outcome)));
  const configured = (['email', 'slack', 'teams'] as const).filter((c) => config.channels[c] !== undefined);
  const unused = configured.filter((c) => !used.has(c));
  results.push({
    check: 'channels',
    status: 'ok',
    detail:
      outcomes.length === 0
        ? 'no rule asks for approval'
        : `the policy asks on ${[...used].sort().join(', ')}${unused.length ? `; configured but used by no rule: ${unused.join(', ')}` : ''}`,
  });
  if (used.has('slack')) {
    const slack = config.channels.slack!;
    results.push({
      check: 'slack settings',
      status: 'ok',
      detail: `botToken and signingSecret set${slack.channel ? `, posts also in ${slack.channel}` : ''}; Interactivity Request URL: <ApiUrl>/v1/slack/interactions (from cdk deploy)`,
    });
  }
  if (used.has('teams'))
    results.push({ check: 'teams settings', status: 'ok', detail: 'webhookUrl set: each request posts a card with a link to its review page' });

  for (const { name, outcome } of outcomes) {
    const channels = channelsFor(config, outcome);
    // A Teams card or a Slack channel post reaches the room; approvers then prove who they are on the review page.
    const shared = channels.includes('teams') || (channels.includes('slack') && config.channels.slack?.channel !== undefined);
    // A rule asking only on Teams reaches its approvers through the card alone.
    if (!channels.includes('email') && !channels.includes('slack')) continue;
    const approvers = approverIds(config, outcome);
    const unreachable = approvers.filter((approver) => {
      const byEmail = channels.includes('email') && config.channels.email !== undefined && approverAddress(config, approver) !== undefined;
      const bySlack = channels.includes('slack') && config.channels.slack !== undefined && slackUsersOf(config, approver).length > 0;
      return !byEmail && !bySlack;
    });
    if (unreachable.length === 0) continue;
    const needed = approvalsNeeded(outcome);
    const reachable = approvers.length - unreachable.length;
    const how = channels.includes('slack') ? 'give each a slackUserId' : 'give each an email';
    const check = `approvers of ${name}`;
    if (!shared && reachable < needed) {
      results.push({
        check,
        status: 'fail',
        detail: `asked on ${channels.join(', ')}, but ${unreachable.length} of ${approvers.length} approvers have no address there (${unreachable.join(', ')}): ${reachable === 0 ? 'nobody' : `only ${reachable}`} can be asked, and ${needed} approvals are needed`,
        fix: `${how} in their group, or add a channel the rule can reach them on`,
      });
    } else {
      results.push({
        check,
        status: 'warn',
        detail: `${unreachable.join(', ')} ${unreachable.length === 1 ? 'has' : 'have'} no personal address on ${channels.join(', ')}${shared ? ' (they can still use the channel post)' : ''}`,
        fix: `${how} in their group`,
      });
    }
  }
  return results;
}

async function oidcCheck(config: Config, fetchImpl: typeof fetch): Promise<CheckResult> {
  const oidc = config.auth.oidc!;
  const required = approvalOutcomes(config)
    .filter(({ outcome }) => outcome.requireSignIn)
    .map(({ name }) => name);
  const check = 'oidc sign-in';
  const why = required.length ? `required by ${required.join(', ')}` : 'offered on review pages';
  const issuer = new URL(oidc.issuer);
  if (issuer.protocol !== 'https:') {
    return {
      check,
      status: 'fail',
      detail: `issuer ${oidc.issuer} is not https: the deployed functions accept only https issuers`,
      fix: "write the provider's https issuer URL in auth.oidc.issuer",
    };
  }
  const discovery = new URL(issuer.href);
  discovery.pathname = `${discovery.pathname.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let document: { issuer?: unknown; authorization_endpoint?: unknown; token_endpoint?: unknown };
  try {
    const response = await fetchImpl(discovery, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(10_000) });
    if (!response.ok) {
      return {
        check,
        status: 'fail',
        detail: `${discovery.href} answered HTTP ${response.status}`,
        fix: "check auth.oidc.issuer: it is the provider's issuer identifier, without /.well-known/…",
      };
    }
    document = (await response.json()) as typeof document;
  } catch (e) {
    return {
      check,
      status: 'warn',
      detail: `${why}; ${discovery.href} could not be fetched from here (${errorName(e)}): the functions fetch it from AWS at sign-in`,
      fix: 'check that the issuer is reachable from the internet, then run doctor again',
    };
  }
  if (typeof document.issuer !== 'string' || new URL(document.issuer, issuer).href !== issuer.href) {
    return {
      check,
      status: 'fail',
      detail: `the discovery document names issuer ${String(document.issuer)}, the config ${oidc.issuer}: sign-in refuses the mismatch`,
      fix: `write ${String(document.issuer)} in auth.oidc.issuer`,
    };
  }
  if (typeof document.authorization_endpoint !== 'string' || typeof document.token_endpoint !== 'string') {
    return {
      check,
      status: 'fail',
      detail: 'the discovery document has no authorization_endpoint or token_endpoint',
      fix: 'use a provider that supports the authorization code flow',
    };
  }
  return {
    check,
    status: 'ok',
    detail: `${why}; ${oidc.issuer} answers its discovery document; register the redirect URI <ApiUrl>/v1/auth/callback with client ${oidc.clientId}`,
  };
}
