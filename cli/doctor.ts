/**
 * `countersign doctor`: before `cdk deploy`, checks the target account and region and the config with the caller's AWS
 * credentials, and prints a table (or `--json`) with a fix for each problem. Exit 1 when something would break the
 * deploy or the first approval; warnings exit 0.
 */
import { isAbsolute, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { STSClient } from '@aws-sdk/client-sts';
import { configPath, loadConfigFile } from '../lambdas/adapters/config-file';
import { type Config, ConfigError } from '../lambdas/core/config';
import { EXIT, neutralize } from './connection';
import { awsClients, type CheckResult, type DoctorClients, runDoctorChecks } from './doctor-checks';

export const DOCTOR_USAGE = `usage: countersign doctor [--region r] [--profile p] [--config file] [--toolkit-stack-name name] [--json]

  Checks, before "npx cdk deploy", what the deploy and the first approval need, with your AWS credentials (the
  default credential chain, as the AWS CLI finds them):
    aws credentials       whose account and region this is (sts:GetCallerIdentity)
    cdk bootstrap         the CDKToolkit stack is complete and its BootstrapVersion new enough for aws-cdk-lib
    lambda concurrency    enough unreserved concurrency for Countersign's 2 reserved functions (new accounts have 10)
    ses sender            channels.email.from (or its domain) is verified in SES
    ses sandbox           production access; in the sandbox, every approver's address must be verified
    secret <path>         each Secrets Manager secret the config names exists and is readable (values never shown);
                          an env: reference is local mode's and fails here
    channels, approvers   the channels the policy asks on, and that each rule's approvers can be reached on them
    oidc sign-in          the issuer's discovery document, when auth.oidc is configured

  --region r                the deployment's region (default: AWS_REGION, AWS_DEFAULT_REGION, else the profile's)
  --profile p               a named profile of ~/.aws/config (default: AWS_PROFILE)
  --config file             the policy file (default: COUNTERSIGN_CONFIG, else countersign.config.yaml)
  --toolkit-stack-name n    the bootstrap stack's name (default: CDKToolkit)
  --json                    print {"ok", "region", "account", "checks": [{"check", "status", "detail", "fix"?,
                            "permission"?}], "counts"}

  exit codes: 0 nothing fails (warnings may remain); 1 a check fails: the deploy or the first approval would break;
  2 usage error (bad arguments, no region)
  A check refused with AccessDenied fails and names the IAM permission doctor needed.`;

interface Writer {
  write(text: string): unknown;
}

export interface DoctorDeps {
  readonly stdout?: Writer;
  readonly stderr?: Writer;
  readonly env?: NodeJS.ProcessEnv;
  /** The AWS clients for a region and profile. @default the SDK's clients */
  readonly clients?: (options: { region: string; profile?: string | undefined }) => DoctorClients;
  /** The region of a profile from ~/.aws/config, when no --region or variable names one. @default the SDK's lookup */
  readonly profileRegion?: (profile: string | undefined) => Promise<string | undefined>;
  readonly fetch?: typeof fetch;
  /** @default what aws-cdk-lib requires (an empty stack is synthesized to read it) */
  readonly requiredBootstrapVersion?: number;
}

const options = {
  region: { type: 'string' },
  profile: { type: 'string' },
  config: { type: 'string' },
  'toolkit-stack-name': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The region the SDK would use for a profile (its `region` in ~/.aws/config). */
async function sdkProfileRegion(profile: string | undefined): Promise<string | undefined> {
  try {
    return await new STSClient(profile ? { profile } : {}).config.region();
  } catch {
    return undefined;
  }
}

export async function doctorCommand(argv: readonly string[], deps: DoctorDeps = {}): Promise<number> {
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  const env = deps.env ?? process.env;
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof options; allowPositionals: false }>>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: false });
  } catch (e) {
    stderr.write(`countersign doctor: ${neutralize((e as Error).message)}\n(countersign doctor --help for usage)\n`);
    return EXIT.usage;
  }
  const { values } = parsed;
  if (values.help) {
    stdout.write(`${DOCTOR_USAGE}\n`);
    return EXIT.ok;
  }
  const profile = values.profile ?? (env.AWS_PROFILE || undefined);
  const region = values.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || (await (deps.profileRegion ?? sdkProfileRegion)(profile)));
  if (!region) {
    stderr.write('countersign doctor: no region: pass --region (the region you will deploy to) or set AWS_REGION\n(countersign doctor --help for usage)\n');
    return EXIT.usage;
  }
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    stderr.write(`countersign doctor: --region ${neutralize(region)} is not an AWS region name such as eu-west-1\n`);
    return EXIT.usage;
  }

  const file = values.config ?? configPath(env);
  // Shown as given, or relative to the working directory when it lies below it.
  const below = relative(process.cwd(), file);
  const shown = values.config ?? (below && !below.startsWith('..') && !isAbsolute(below) ? below : file);
  let config: Config | undefined;
  let configLine: CheckResult;
  try {
    config = loadConfigFile(file);
    configLine = { check: 'config', status: 'ok', detail: `${shown}: ${config.rules.length} rules, ${Object.keys(config.groups).length} groups` };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    configLine = {
      check: 'config',
      status: 'fail',
      detail: `${shown}: ${e.problems.map((p) => `${p.path || '(file)'}: ${p.message}`).join('; ')}`,
      fix: `fix each field named (npx countersign policy check ${shown} lists them), then run doctor again`,
    };
  }

  const report = await runDoctorChecks({
    region,
    config,
    clients: (deps.clients ?? awsClients)({ region, profile }),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(values['toolkit-stack-name'] ? { toolkitStackName: values['toolkit-stack-name'] } : {}),
    ...(deps.requiredBootstrapVersion !== undefined ? { requiredBootstrapVersion: deps.requiredBootstrapVersion } : {}),
  });
  const checks = [configLine, ...report.checks];
  const counts = { ok: 0, warn: 0, fail: 0 };
  for (const c of checks) counts[c.status] += 1;
  const ok = counts.fail === 0;
  if (values.json) {
    stdout.write(`${JSON.stringify({ ok, region, ...(report.account ? { account: report.account } : {}), checks, counts })}\n`);
  } else {
    stdout.write(`${doctorTable(checks)}\n`);
    stdout.write(
      `\n${ok ? 'doctor: OK' : 'doctor: FAILED'}: ${counts.ok} ok, ${counts.warn} warn, ${counts.fail} fail${ok ? (counts.warn ? ' (warnings do not stop a deploy)' : '') : ': fix each failing line before npx cdk deploy'}\n`,
    );
  }
  return ok ? EXIT.ok : EXIT.failed;
}

/**
 * The checks as a table: check, status and detail on one line each, and under a line that is not ok, its fix.
 * Text from AWS answers and the config is made printable first.
 */
export function doctorTable(checks: readonly CheckResult[]): string {
  const width = Math.max('check'.length, ...checks.map((c) => neutralize(c.check).length));
  const row = (check: string, status: string, detail: string) => `${check.padEnd(width)}  ${status.padEnd(6)}  ${detail}`;
  const lines = [row('check', 'status', 'detail'), row('-'.repeat(width), '------', '------')];
  for (const c of checks) {
    lines.push(row(neutralize(c.check), c.status, neutralize(c.detail)));
    if (c.status !== 'ok' && c.fix) lines.push(`${' '.repeat(width)}  ${' '.repeat(6)}  fix: ${neutralize(c.fix)}`);
  }
  return lines.join('\n');
}
