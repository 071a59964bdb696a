/**
 * `countersign policy check` and `countersign policy explain`: the policy file, checked and explained offline; and
 * `countersign policy shadow-report` (./shadow-report.ts), what its shadow rules would have done to real traffic.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { configPath, loadConfigFile } from '../lambdas/adapters/config-file';
import { policyVersion } from '../lambdas/adapters/deployed-config';
import { type Config, ConfigError } from '../lambdas/core/config';
import { refusalError } from '../lambdas/core/policy';
import {
  approvalWords,
  asIntakeReads,
  decidedWords,
  type Explained,
  explainRequest,
  explainSteps,
  quorumWords,
  refusedWords,
  shadowExplained,
  shadowWords,
  skippedWords,
} from '../lambdas/core/policy-explain';
import { actionRequestSchema } from '../lambdas/core/request';
import { type CliIo, err, out } from './io';
import { neutralize } from './terminal';

export const POLICY_CHECK_USAGE = `usage: countersign policy check [file] [--json]

  Validates a policy file offline: default COUNTERSIGN_CONFIG, else countersign.config.yaml.
  --json  print {"ok", "file", "rules", "groups", "policyVersion"}, or {"ok": false, "file", "problems"}

  exit codes: 0 valid; 1 invalid (each problem is printed with its path); 2 usage error`;

export const POLICY_EXPLAIN_USAGE = `usage: countersign policy explain --request req.json [--config file] [--requester principal] [--json]

  Which rule decides a request (a JSON action request), why each earlier rule did not, and who must approve.
  --config file          the policy (default: COUNTERSIGN_CONFIG, else countersign.config.yaml)
  --requester principal  explain as if this principal asked
  --json                 print the explanation as one JSON document

  exit codes: 0 explained; 1 invalid policy or request; 2 usage error (e.g. an unreadable request file)`;

export const POLICY_USAGE = `usage: countersign policy <subcommand>

${POLICY_CHECK_USAGE.replace('usage: countersign ', '')}

${POLICY_EXPLAIN_USAGE.replace('usage: countersign ', '')}

policy shadow-report [--since 7d] [--until <time>] [--json] [--url <url>] [--api-key <key>]
  What the shadow rules would have done to the requests of a window, and who they would have asked (auditors).
  countersign policy shadow-report --help for more.`;

export async function policyCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'check') return check(rest, io);
  if (sub === 'explain') return explain(rest, io);
  if (sub === 'shadow-report') return (await import('./shadow-report')).shadowReportCommand(rest, io);
  err(io, POLICY_USAGE);
  return 2;
}

/** Loads the policy, printing its problems (each with its path) on failure. */
function load(io: CliIo, file: string, json: boolean): Config | undefined {
  try {
    return loadConfigFile(file);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    if (json) out(io, JSON.stringify({ ok: false, file, problems: e.problems }));
    else err(io, e.message);
    return undefined;
  }
}

function check(argv: readonly string[], io: CliIo): number {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  const file = positionals[0] ?? configPath(io.env);
  const config = load(io, file, values.json);
  if (!config) return 1;
  const summary = { ok: true, file, rules: config.rules.length, groups: Object.keys(config.groups).length, policyVersion: policyVersion(config) };
  out(
    io,
    values.json
      ? JSON.stringify(summary)
      : `${file}: OK (${summary.rules} rules, ${summary.groups} groups, policy version ${summary.policyVersion.slice(0, 12)})`,
  );
  return 0;
}

function explain(argv: readonly string[], io: CliIo): number {
  const { values } = parseArgs({
    args: [...argv],
    options: { request: { type: 'string' }, config: { type: 'string' }, requester: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (!values.request) {
    err(io, 'countersign policy explain: --request <file.json> is required');
    return 2;
  }
  const config = load(io, values.config ?? configPath(io.env), values.json);
  if (!config) return 1;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(values.request, 'utf8'));
  } catch (e) {
    err(io, `countersign policy explain: cannot read ${values.request}: ${(e as Error).message}`);
    return 2;
  }
  const parsed = actionRequestSchema.safeParse(raw);
  if (!parsed.success) {
    err(
      io,
      `countersign policy explain: ${values.request} is not an action request:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(request)'}: ${i.message}`).join('\n')}`,
    );
    return 1;
  }
  // As intake reads it: the requester and onBehalfOf canonical, so a respelling explains as the API decides.
  const read = asIntakeReads(parsed.data, values.requester);
  if (read.problems) {
    err(
      io,
      `countersign policy explain: the API would refuse this request (400 invalid_request):\n${read.problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`,
    );
    return 1;
  }
  const explained = explainRequest(config, read.input);
  const { skipped } = explained;
  // Shadow rules reached (matched or not judged), only when there are any: the answer of a policy without them is unchanged.
  const shadow = explained.shadow ? { shadow: explained.shadow.map((v) => shadowExplained(config, v)) } : {};
  if (explained.refused) {
    // What the API would answer: 400 invalid_request naming each field, and no rule decides.
    const error = refusalError(explained).toBody().error;
    if (values.json) {
      out(io, JSON.stringify({ refused: true, status: 400, ...(explained.rule ? { rule: explained.rule } : {}), error, skipped, ...shadow }));
      return 0;
    }
    printSteps(io, config, explained);
    say(io, refusedWords(explained.rule));
    for (const p of explained.problems) say(io, `    ${p.path} ${p.is}: ${p.needs}`);
    return 0;
  }
  const { rule, outcome, approval } = explained;
  if (values.json) {
    out(
      io,
      JSON.stringify({
        rule,
        effect: outcome.effect,
        ...(outcome.reason ? { reason: outcome.reason } : {}),
        skipped,
        ...(approval ? { approval } : {}),
        ...shadow,
      }),
    );
    return 0;
  }
  printSteps(io, config, explained);
  say(io, decidedWords(rule, outcome));
  if (approval) say(io, approvalWords(approval));
  return 0;
}

/** The rules tried before the verdict, in order: each skipped one with why, each shadow one with what it would have done. */
function printSteps(io: CliIo, config: Config, explained: Explained): void {
  for (const step of explainSteps(config, explained)) {
    if (step.kind === 'skipped') {
      say(io, `${skippedWords(step.skipped.rule, step.skipped.shadow)}\n${step.skipped.because.map((b) => `    ${b}`).join('\n')}`);
      continue;
    }
    say(io, shadowWords(step.shadow));
    if (step.shadow.refused) for (const p of step.shadow.problems) say(io, `    ${p.path} ${p.is}: ${p.needs}`);
    else if (step.approval) say(io, `    would ask: ${quorumWords(step.approval)}`);
  }
}

/** Prints explanation text line by line, terminal-safe: a config's reasons are text too, and may hold control characters. */
function say(io: CliIo, text: string): void {
  for (const line of text.split('\n')) out(io, neutralize(line));
}
