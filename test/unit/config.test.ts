import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { configPath, loadConfigFile } from '../../lambdas/adapters/config-file';
import { policyVersion } from '../../lambdas/adapters/policy-version';
import { alarmEmails, ConfigError, channelsFor, MAX_ALARM_EMAILS, shippedConfig, timeoutSeconds } from '../../lambdas/core/config';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { parseDuration } from '../../lambdas/core/duration';

const base = {
  version: 1,
  groups: { owners: { members: [{ id: 'alice@example.com' }, { id: 'bob@example.com' }] } },
  rules: [{ name: 'exports', match: { action: 'data.export' }, effect: 'require_approval', approvers: ['owners'], timeout: '1h' }],
  default: { effect: 'deny' },
  channels: { email: { from: 'countersign@example.com' } },
};

/** The problems a config reports, as `path: message` lines. */
function problems(doc: unknown): string[] {
  try {
    parseConfig(typeof doc === 'string' ? doc : stringify(doc), 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

function withRule(rule: Record<string, unknown>, extraRules: unknown[] = []): Record<string, unknown> {
  return { ...base, rules: [{ ...base.rules[0], ...rule }, ...extraRules] };
}

describe('config loader', () => {
  it('accepts the shipped example and fills defaults', () => {
    const config = loadConfigFile(join(import.meta.dirname, '../../countersign.config.yaml'));
    expect(config.version).toBe(1);
    expect(config.rules.map((r) => r.name)).toContain('prod-exports');
    expect(config.local.apiKeys['demo-agent-key']).toMatch(/^arn:aws:iam::/);
    const minimal = parseConfig('version: 1\n');
    expect(minimal.default.effect).toBe('deny');
    expect(minimal.rules).toEqual([]);
    expect(problems(base)).toEqual([]);
  });

  it('names an unknown group in a rule', () => {
    expect(problems(withRule({ approvers: ['owners', 'ghosts'] }))).toEqual(['rules.0.approvers.1: unknown group "ghosts"']);
  });

  it('names a bad duration', () => {
    expect(problems(withRule({ timeout: '90 minutes' }))).toEqual(['rules.0.timeout: expected a duration like 30s, 15m, 1h or 7d']);
    expect(problems(withRule({ timeout: '400d' }))).toEqual(['rules.0.timeout: must be at most 365d']);
    expect(problems(withRule({ timeout: 60 }))[0]).toMatch(/^rules\.0\.timeout: expected a duration/);
  });

  it('names a bad effect', () => {
    expect(problems(withRule({ effect: 'maybe' }))).toEqual(['rules.0.effect: expected one of allow, deny, require_approval']);
  });

  it('names a duplicate rule name', () => {
    const doc = withRule({}, [{ name: 'exports', match: { action: '*' }, effect: 'allow' }]);
    expect(problems(doc)).toEqual(['rules.1.name: duplicate rule name "exports" (also rules.0)']);
  });

  it('names a missing version', () => {
    const { version: _dropped, ...rest } = base;
    expect(problems(rest)).toEqual(['version: expected version: 1']);
  });

  it('reports every bad field at once, and unknown fields', () => {
    const doc = { ...withRule({ effect: 'nope', timeot: '1h' }), auditor: [] };
    const found = problems(doc);
    expect(found).toContain('rules.0.effect: expected one of allow, deny, require_approval');
    expect(found).toContain('rules.0: unknown field(s): timeot');
    expect(found).toContain(': unknown field(s): auditor');
  });

  it('reports cross-field problems together with field problems', () => {
    expect(problems(withRule({ timeout: 'soon', approvers: ['ghosts'] }, [{ name: 'exports', match: {}, effect: 'allow' }]))).toEqual([
      'rules.0.timeout: expected a duration like 30s, 15m, 1h or 7d',
      'rules.1.name: duplicate rule name "exports" (also rules.0)',
      'rules.0.approvers.0: unknown group "ghosts"',
    ]);
  });

  it('checks approval settings against the effect and the groups', () => {
    expect(problems(withRule({ minApprovals: 3 }))).toEqual(['rules.0.minApprovals: needs 3 distinct approvers but the groups have 2']);
    expect(problems(withRule({ effect: 'allow' }))).toEqual([
      'rules.0.approvers: only applies when effect is require_approval',
      'rules.0.timeout: only applies when effect is require_approval',
    ]);
    expect(problems({ ...base, default: { effect: 'require_approval' } })).toEqual([
      'default.approvers: require_approval needs at least one approver group (approvers or require)',
    ]);
  });

  it('reports YAML syntax errors with their position, and non-mapping files', () => {
    expect(problems('version: 1\nrules: [\n')[0]).toMatch(/^line \d+, column \d+: /);
    expect(problems('version: 1\nversion: 1\n')[0]).toMatch(/^line 2/);
    expect(problems('- 1\n')).toEqual([': expected a YAML mapping with at least `version: 1`']);
  });

  it('rejects malformed local API keys with the key path', () => {
    expect(problems({ ...base, local: { apiKeys: { 'a b': 'x' } } })).toEqual(['local.apiKeys.a b: an API key is 6-256 URL-safe characters']);
  });

  it('checks channels, sign-in and secret references', () => {
    const { channels: _c, ...noChannels } = base;
    expect(problems(noChannels)).toEqual(['rules.0.effect: require_approval needs a channel to ask approvers on: configure channels.email, slack or teams']);
    expect(problems(withRule({ channels: ['slack'] }))).toEqual(['rules.0.channels.0: channel "slack" is not configured under channels']);
    expect(problems(withRule({ channels: ['fax'] }))[0]).toBe('rules.0.channels.0: expected one of email, slack, teams');
    expect(problems(withRule({ requireSignIn: true }))).toEqual(['rules.0.requireSignIn: needs auth.oidc to be configured']);
    expect(problems({ ...base, channels: { teams: { webhookUrl: 'env:TEAMS_URL' } } })).toEqual([
      'channels.teams: Teams needs channels.email or auth.oidc so approvers can prove who they are',
    ]);
    expect(problems({ ...base, channels: { ...base.channels, slack: { botToken: 'xoxb-plain-token', signingSecret: 'env:SLACK_SECRET' } } })).toEqual([
      'channels.slack.botToken: expected a secret reference: env:NAME or a Secrets Manager secret ARN',
    ]);
    const full = parseConfig(
      stringify({
        ...withRule({ channels: ['email', 'teams'], requireSignIn: true }),
        channels: { email: { from: 'c@example.com' }, teams: { webhookUrl: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:teams-AbCdEf' } },
        auth: { oidc: { issuer: 'https://login.example.com', clientId: 'cs', clientSecret: 'env:OIDC_SECRET' } },
      }),
    );
    expect(channelsFor(full, full.rules[0]!)).toEqual(['email', 'teams']);
    expect(channelsFor(full, { effect: 'require_approval', approvers: ['owners'] })).toEqual(['email', 'teams']);
  });

  it('checks reminders and escalation against the timeout and the groups', () => {
    expect(problems(withRule({ remindAfter: '1h' }))).toEqual(['rules.0.remindAfter: must be shorter than the timeout (1h)']);
    expect(problems(withRule({ escalateAfter: '30m' }))).toEqual(['rules.0.escalateTo: escalateAfter and escalateTo go together']);
    expect(problems(withRule({ escalateTo: ['owners'] }))).toEqual(['rules.0.escalateAfter: escalateAfter and escalateTo go together']);
    expect(problems(withRule({ escalateAfter: '30m', escalateTo: ['ghosts'] }))).toEqual(['rules.0.escalateTo.0: unknown group "ghosts"']);
    expect(problems(withRule({ remindAfter: '15m', escalateAfter: '30m', escalateTo: ['owners'] }))).toEqual([]);
  });

  it('takes redeemWithin on approval rules only: a duration of at most 7d, within a year together with the timeout', () => {
    expect(problems(withRule({ redeemWithin: '15m' }))).toEqual([]);
    expect(problems(withRule({ redeemWithin: '7d' }))).toEqual([]);
    expect(problems(withRule({ redeemWithin: '8d' }))).toEqual(['rules.0.redeemWithin: must be at most 7d']);
    expect(problems(withRule({ redeemWithin: 'soon' }))).toEqual(['rules.0.redeemWithin: expected a duration like 30s, 15m, 1h or 7d']);
    expect(problems(withRule({ timeout: '360d', redeemWithin: '6d' }))).toEqual([
      'rules.0.redeemWithin: the timeout and redeemWithin together must be at most 365d',
    ]);
    expect(problems(withRule({ effect: 'allow', approvers: undefined, timeout: undefined, redeemWithin: '15m' }))).toEqual([
      'rules.0.redeemWithin: only applies when effect is require_approval',
    ]);
  });

  it('refuses identity globs naming an IAM path, which canonical ARNs (and assumed-role sessions) never carry', () => {
    const rolePath =
      'names a role with a path, but assumed-role sessions carry no path (IAM paths are dropped from canonical ARNs): name the role as arn:aws:iam::<account>:role/<name>';
    expect(problems(withRule({ match: { requester: 'arn:aws:iam::*:role/ci/deploy-*' } }))).toEqual([`rules.0.match.requester: ${rolePath}`]);
    expect(problems(withRule({ match: { onBehalfOf: 'ARN:AWS:IAM::123456789012:ROLE/teams/*' } }))).toEqual([`rules.0.match.onBehalfOf: ${rolePath}`]);
    expect(problems(withRule({ match: { requester: 'arn:aws:iam::*:role/*/deploy' } }))).toEqual([`rules.0.match.requester: ${rolePath}`]);
    expect(problems(withRule({ match: { requester: 'arn:aws:iam::*:user/staff/bob' } }))[0]).toMatch(
      /^rules\.0\.match\.requester: names a user with a path, but IAM paths are dropped/,
    );
    // No path: the role, any role, a session of a role, and a glob whose * may span a path it never meets.
    for (const requester of ['arn:aws:iam::*:role/ci-*', 'arn:aws:iam::*:role/*', 'arn:aws:sts::*:assumed-role/ci-deploy/*', '*@example.com', '*']) {
      expect(problems(withRule({ match: { requester, onBehalfOf: requester } })), requester).toEqual([]);
    }
  });

  it('takes the alarm email as one address or a list, and keeps it out of the functions and the policy version', () => {
    const one = parseConfig(stringify({ ...base, operations: { alarmEmail: 'oncall@example.com' } }));
    expect(alarmEmails(one)).toEqual(['oncall@example.com']);
    const many = parseConfig(stringify({ ...base, operations: { alarmEmail: ['oncall@example.com', 'ops@example.com', 'OnCall@example.com'] } }));
    expect(alarmEmails(many)).toEqual(['oncall@example.com', 'ops@example.com']);
    const none = parseConfig(stringify(base));
    expect(none.operations).toBeUndefined();
    expect(alarmEmails(none)).toEqual([]);
    expect(alarmEmails(parseConfig(stringify({ ...base, operations: {} })))).toEqual([]);
    // Who is paged is no policy: the functions never get it, and a decision's policy version does not change with it.
    expect(shippedConfig(many)).not.toHaveProperty('operations');
    expect(policyVersion(many)).toBe(policyVersion(none));

    expect(problems({ ...base, operations: { alarmEmail: 'oncall' } })).toEqual(['operations.alarmEmail: Invalid email address']);
    expect(problems({ ...base, operations: { alarmEmail: ['oncall@example.com', 'pager'] } })).toEqual(['operations.alarmEmail.1: Invalid email address']);
    const list = `expected an email address or a list of 1-${MAX_ALARM_EMAILS} email addresses`;
    expect(problems({ ...base, operations: { alarmEmail: 42 } })).toEqual([`operations.alarmEmail: ${list}`]);
    const tooMany = Array.from({ length: MAX_ALARM_EMAILS + 1 }, (_, i) => `ops${i}@example.com`);
    expect(problems({ ...base, operations: { alarmEmail: tooMany } })).toEqual([`operations.alarmEmail: ${list}`]);
    expect(problems({ ...base, operations: { alarmEmail: [] } })).toHaveLength(1);
    expect(problems({ ...base, operations: { pager: 'x' } })).toEqual(['operations: unknown field(s): pager']);
  });

  it('parses durations', () => {
    expect(parseDuration('30s')).toBe(30);
    expect(parseDuration('15m')).toBe(900);
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration('7d')).toBe(604800);
    expect(parseDuration('0s')).toBeUndefined();
    expect(parseDuration('1w')).toBeUndefined();
    expect(timeoutSeconds({ effect: 'require_approval', approvers: ['x'] })).toBe(3600);
  });
});

describe('config file location', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('uses COUNTERSIGN_CONFIG, else countersign.config.yaml in the working directory', () => {
    expect(configPath({}, '/repo')).toBe('/repo/countersign.config.yaml');
    expect(configPath({ COUNTERSIGN_CONFIG: 'conf/x.yaml' }, '/repo')).toBe('/repo/conf/x.yaml');
    expect(configPath({ COUNTERSIGN_CONFIG: '/etc/cs.yaml' }, '/repo')).toBe('/etc/cs.yaml');
  });

  it('names the file in its errors, including a missing file', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, readFileSync(join(import.meta.dirname, '../../countersign.config.yaml'), 'utf8').replace('effect: deny', 'effect: deni'));
    expect(() => loadConfigFile(file)).toThrow(`Invalid config ${file}:\n  - rules.0.effect: expected one of allow, deny, require_approval`);
    expect(() => loadConfigFile(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml:\n {2}- \(file\): file not found/);
  });
});
