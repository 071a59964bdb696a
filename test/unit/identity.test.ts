import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { channelRefusal, decideIntake, decideVote, deriveState, isSelf, type Voter } from '../../lambdas/core/approval';
import { ConfigError } from '../../lambdas/core/config';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { CountersignError } from '../../lambdas/core/errors';
import { callerIdentity, canonicalPrincipal, IdentityDirectory, identityDirectory, parsePrincipal, principalMatchForms } from '../../lambdas/core/identity';
import type { AuditEvent, AuditRecord } from '../../lambdas/core/ledger-record';
import type { PolicyDecidedData } from '../../lambdas/core/records';

const ACCOUNT = '123456789012';
const SSO_ROLE = `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Approvers_0a1b2c3d4e5f6a7b`;
const SSO_ROLE_ID = 'AROAEXAMPLESSOROLE01';

describe('canonical identities', () => {
  it.each([
    ['alice@example.com', 'alice@example.com'],
    ['Alice@Example.COM', 'alice@example.com'],
    ['  alice@example.com\t', 'alice@example.com'],
    ['\u00A0alice@example.com\u3000', 'alice@example.com'], // visible spaces at the ends are trimmed
    ['ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ', 'alice@example.com'], // full-width compatibility forms
    [`arn:aws:iam::${ACCOUNT}:user/Erin`, `arn:aws:iam::${ACCOUNT}:user/erin`],
    [`arn:aws:iam::${ACCOUNT}:user/division/erin`, `arn:aws:iam::${ACCOUNT}:user/erin`], // IAM paths are dropped
    [`ARN:AWS:IAM::${ACCOUNT}:role/CI-Deployer`, `arn:aws:iam::${ACCOUNT}:role/ci-deployer`],
    [`arn:aws:sts::${ACCOUNT}:assumed-role/Ops/agent-run-7`, `arn:aws:sts::${ACCOUNT}:assumed-role/ops/agent-run-7`],
    [`arn:aws-us-gov:iam::${ACCOUNT}:root`, `arn:aws-us-gov:iam::${ACCOUNT}:root`],
  ])('%j is %j', (raw, canonical) => {
    expect(canonicalPrincipal(raw)).toBe(canonical);
  });

  it.each([
    'alice\u200B@example.com',
    '\uFEFFalice@example.com', // String#trim would drop these ends silently
    'alice@example.com\u2028',
    'alice@example.com\u200B',
    '\u180Ealice@example.com',
    'alice@example.com\u202E',
    '\u2066alice@example.com',
    'al\u00ADice@example.com',
    'alice@example.com\u0000',
    'alice@example.com\u{E0041}',
    `arn:aws:iam::${ACCOUNT}:role/ops\u200D`,
    '',
    '   ',
    'alice@',
    '@example.com',
    'alice@localhost',
    `arn:aws:s3:::bucket`,
    `arn:aws:iam::${ACCOUNT}:group/admins`,
    `arn:aws:iam::12345:user/erin`,
  ])('refuses %j', (raw) => {
    expect(() => parsePrincipal(raw)).toThrow();
  });

  it('treats an assumed-role session as its role plus a session name', () => {
    const session = parsePrincipal(`arn:aws:sts::${ACCOUNT}:assumed-role/ops/alice`);
    expect(session).toMatchObject({
      kind: 'assumed-role',
      role: `arn:aws:iam::${ACCOUNT}:role/ops`,
      session: 'alice',
      party: `arn:aws:iam::${ACCOUNT}:role/ops`,
    });
    expect(principalMatchForms(`arn:aws:sts::${ACCOUNT}:assumed-role/CI-deploy/run-1`)).toEqual([
      `arn:aws:sts::${ACCOUNT}:assumed-role/ci-deploy/run-1`,
      `arn:aws:iam::${ACCOUNT}:role/ci-deploy`,
    ]);
  });

  it('maps an IAM Identity Center session to the person it names, only for a configured role with its unique id', () => {
    const roles = [{ arn: canonicalPrincipal(SSO_ROLE), roleId: SSO_ROLE_ID }];
    const arn = `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Approvers_0a1b2c3d4e5f6a7b/Alice@Example.com`;
    expect(callerIdentity({ userArn: arn, userId: `${SSO_ROLE_ID}:Alice@Example.com` }, roles)).toBe('alice@example.com');
    // Another role of the same name (deleted and re-created, or in a configured account by someone else) keeps the session.
    expect(callerIdentity({ userArn: arn, userId: 'AROAOTHERROLEID00001:Alice@Example.com' }, roles)).toBe(canonicalPrincipal(arn));
    expect(callerIdentity({ userArn: arn, userId: null }, roles)).toBe(canonicalPrincipal(arn));
    // Roles the config does not name are never mapped, whatever their name.
    expect(callerIdentity({ userArn: arn, userId: `${SSO_ROLE_ID}:x` }, [])).toBe(canonicalPrincipal(arn));
    // A session name that is no email stays the session.
    const plain = `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Approvers_0a1b2c3d4e5f6a7b/alice`;
    expect(callerIdentity({ userArn: plain, userId: `${SSO_ROLE_ID}:alice` }, roles)).toBe(canonicalPrincipal(plain));
  });
});

describe('the identity directory', () => {
  const directory = new IdentityDirectory(
    [
      { id: `arn:aws:iam::${ACCOUNT}:user/erin`, email: 'erin@example.com', slackUserId: 'U0ERIN' },
      { id: 'alice@example.com', slackUserId: 'U0ALICE' },
      { id: `arn:aws:iam::${ACCOUNT}:role/ops` },
    ],
    ['audit@example.com', `arn:aws:iam::${ACCOUNT}:role/auditors`],
  );

  it("treats a person's aliases, in any spelling, as one person", () => {
    expect(directory.samePerson(`arn:aws:iam::${ACCOUNT}:user/erin`, ' Erin@Example.com')).toBe(true);
    expect(directory.samePerson('U0ERIN', 'erin@example.com')).toBe(true);
    expect(directory.samePerson('alice@example.com', 'u0alice')).toBe(true);
    expect(directory.samePerson('alice@example.com', 'erin@example.com')).toBe(false);
    expect(directory.personOf('ERIN@EXAMPLE.COM')).toBe(`arn:aws:iam::${ACCOUNT}:user/erin`);
    expect(directory.personOfSlackUser('U0ERIN')).toBe(`arn:aws:iam::${ACCOUNT}:user/erin`);
    expect(directory.emailOf(`arn:aws:iam::${ACCOUNT}:user/ERIN`)).toBe('erin@example.com');
  });

  it('treats every session of a role as the role', () => {
    const a = `arn:aws:sts::${ACCOUNT}:assumed-role/ops/agent-run-7`;
    const b = `arn:aws:sts::${ACCOUNT}:assumed-role/OPS/alice`;
    expect(directory.samePerson(a, b)).toBe(true);
    expect(directory.samePerson(a, `arn:aws:iam::${ACCOUNT}:role/ops`)).toBe(true);
    expect(directory.personOf(b)).toBe(`arn:aws:iam::${ACCOUNT}:role/ops`);
    expect(directory.isAuditor(`arn:aws:sts::${ACCOUNT}:assumed-role/Auditors/bob`)).toBe(true);
    expect(directory.isAuditor('AUDIT@example.com ')).toBe(true);
    expect(directory.isAuditor('alice@example.com')).toBe(false);
  });
});

const baseConfig = (groups: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  stringify({
    version: 1,
    groups,
    channels: { email: { from: 'countersign@example.com' } },
    default: { effect: 'require_approval', approvers: Object.keys(groups) },
    ...extra,
  });

const problemsOf = (text: string) => {
  try {
    parseConfig(text);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
};

describe('config identities', () => {
  it('refuses two members that are one person under different spellings, naming both places', () => {
    expect(problemsOf(baseConfig({ a: { members: [{ id: 'alice@example.com' }] }, b: { members: [{ id: 'Alice@Example.com' }] } }))).toEqual([
      'groups.b.members.0.id: is the same person as groups.a.members.0 (spelled "alice@example.com" there): write one id, spelled one way, for one person',
    ]);
    expect(
      problemsOf(
        baseConfig({ a: { members: [{ id: `arn:aws:iam::${ACCOUNT}:user/erin`, email: 'erin@example.com' }] }, b: { members: [{ id: 'erin@example.com' }] } }),
      ),
    ).toEqual([
      `groups.b.members.0.id: is the same person as groups.a.members.0 (whose id is "arn:aws:iam::${ACCOUNT}:user/erin"): write one id, spelled one way, for one person`,
    ]);
    // The same person listed in two groups, spelled alike, is fine.
    expect(
      problemsOf(baseConfig({ a: { members: [{ id: 'alice@example.com' }] }, b: { members: [{ id: 'alice@example.com' }, { id: 'bob@example.com' }] } })),
    ).toEqual([]);
  });

  it('keeps identities canonical, and refuses sessions, hidden characters and non-identities as members or auditors', () => {
    const config = parseConfig(
      baseConfig({ a: { members: [{ id: ' Alice@Example.com', email: 'ALICE@example.com' }] } }, { auditors: [`arn:aws:iam::${ACCOUNT}:role/path/Auditor`] }),
    );
    expect(config.groups.a!.members[0]).toEqual({ id: 'alice@example.com', email: 'alice@example.com' });
    expect(config.auditors).toEqual([`arn:aws:iam::${ACCOUNT}:role/auditor`]);
    expect(problemsOf(baseConfig({ a: { members: [{ id: `arn:aws:sts::${ACCOUNT}:assumed-role/ops/alice` }] } }))[0]).toMatch(
      /^groups\.a\.members\.0\.id: .* is an assumed-role session/,
    );
    expect(problemsOf(baseConfig({ a: { members: [{ id: 'alice\u200B@example.com' }] } }))[0]).toMatch(
      /^groups\.a\.members\.0\.id: .*invisible, bidi or control character/,
    );
    expect(problemsOf(baseConfig({ a: { members: [{ id: 'alice' }] } }))[0]).toMatch(
      /^groups\.a\.members\.0\.id: .*not an email address or an IAM principal ARN/,
    );
    expect(problemsOf(baseConfig({ a: { members: [{ id: 'a@example.com' }] } }, { auditors: ['audit\u202E@example.com'] }))[0]).toMatch(/^auditors\.0: /);
  });

  it('takes IAM Identity Center roles with their unique ids', () => {
    const config = parseConfig(
      baseConfig({ a: { members: [{ id: 'alice@example.com' }] } }, { identityCenter: { roles: [{ arn: SSO_ROLE, roleId: SSO_ROLE_ID }] } }),
    );
    expect(config.identityCenter?.roles).toEqual([{ arn: canonicalPrincipal(SSO_ROLE), roleId: SSO_ROLE_ID }]);
    expect(
      problemsOf(
        baseConfig(
          { a: { members: [{ id: 'alice@example.com' }] } },
          { identityCenter: { roles: [{ arn: `arn:aws:iam::${ACCOUNT}:role/ops`, roleId: SSO_ROLE_ID }] } },
        ),
      )[0],
    ).toMatch(/^identityCenter\.roles\.0\.arn: expected an IAM Identity Center role/);
    expect(problemsOf(baseConfig({ a: { members: [{ id: 'alice@example.com' }] } }, { identityCenter: { roles: [{ arn: SSO_ROLE }] } }))[0]).toMatch(
      /^identityCenter\.roles\.0\.roleId: /,
    );
  });
});

// --- The decision rules with real identities -------------------------------------------------------------------

const NOW = new Date('2026-01-01T00:00:00Z');
const config = parseConfig(
  baseConfig(
    {
      owners: {
        members: [
          { id: 'alice@example.com', slackUserId: 'U0ALICE' },
          { id: `arn:aws:iam::${ACCOUNT}:user/erin`, email: 'erin@example.com' },
          { id: `arn:aws:iam::${ACCOUNT}:role/ops` },
        ],
      },
      security: { members: [{ id: 'alice@example.com', slackUserId: 'U0ALICE' }, { id: 'sec@example.com' }] },
    },
    { auditors: ['audit@example.com'] },
  ),
);
const directory = identityDirectory(config);
const approvers = ['alice@example.com', `arn:aws:iam::${ACCOUNT}:user/erin`, `arn:aws:iam::${ACCOUNT}:role/ops`, 'sec@example.com'];
const policy = (over: Partial<PolicyDecidedData> = {}): PolicyDecidedData => ({
  rule: 'r',
  effect: 'require_approval',
  requiredApprovals: 1,
  approvers,
  expiresAt: '2026-01-01T01:00:00Z',
  ...over,
});

function chainOf(requester: string, onBehalfOf: string | undefined, over: Partial<PolicyDecidedData> = {}): AuditRecord[] {
  let chain: AuditRecord[] = [];
  const apply = (events: AuditEvent[]) => {
    chain = [
      ...chain,
      ...events.map((e, i) => ({
        requestId: 'act_1',
        seq: chain.length + i + 1,
        at: NOW.toISOString(),
        prevHash: '',
        hash: '',
        signature: '',
        keyId: 'k',
        ...e,
      })),
    ];
  };
  const intake = {
    requester,
    request: { action: 'data.export', ...(onBehalfOf ? { onBehalfOf } : {}) },
    bodyCommitment: 'b',
    parametersCommitment: 'p',
    masked: [],
    policy: policy(over),
  };
  for (let i = 0; i < 5; i++) {
    const events = decideIntake(chain, intake);
    if (events.length === 0) break;
    apply(events.slice(0, 1));
  }
  return chain;
}

const api = (approver: string): Voter => ({ approver, via: 'decision_api', signedIn: true });
function refusal(chain: AuditRecord[], voter: Voter): string {
  try {
    decideVote(chain, voter, { decision: 'approve' }, NOW, directory);
    return 'ok';
  } catch (err) {
    if (err instanceof CountersignError) return err.code;
    throw err;
  }
}

describe('nobody approves their own request, under any spelling', () => {
  const AGENT = `arn:aws:iam::${ACCOUNT}:role/agent`;

  it.each([['Alice@Example.com'], [' alice@example.com'], ['ALICE@EXAMPLE.COM '], ['ａｌｉｃｅ@example.com'], ['U0ALICE'], ['u0alice']])(
    'onBehalfOf %j is Alice',
    (onBehalfOf) => {
      expect(refusal(chainOf(AGENT, onBehalfOf), api('alice@example.com'))).toBe('self_approval');
    },
  );

  it('a role session named by an email address (IAM Identity Center, a pipeline started by someone) is that person for self-approval', () => {
    const sso = `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Approvers_0a1b2c3d4e5f6a7b/Alice@Example.com`;
    expect(refusal(chainOf(AGENT, sso), api('alice@example.com'))).toBe('self_approval');
    expect(refusal(chainOf(`arn:aws:sts::${ACCOUNT}:assumed-role/deployer/alice@example.com`, undefined), api('alice@example.com'))).toBe('self_approval');
    // Only the self-approval check widens: such a session never votes as the person it names.
    expect(directory.personOf(sso)).toBeUndefined();
    expect(refusal(chainOf(AGENT, undefined), api(sso))).toBe('not_found');
  });

  it("an IAM user member whose email is the request's onBehalfOf is refused", () => {
    expect(refusal(chainOf(AGENT, 'erin@example.com'), api(`arn:aws:iam::${ACCOUNT}:user/erin`))).toBe('self_approval');
    expect(refusal(chainOf(AGENT, `arn:aws:iam::${ACCOUNT}:user/Erin`), api(`arn:aws:iam::${ACCOUNT}:user/erin`))).toBe('self_approval');
  });

  it('a role never approves what any session of the same role asked', () => {
    const chain = chainOf(`arn:aws:sts::${ACCOUNT}:assumed-role/ops/agent-run-7`, undefined);
    expect(refusal(chain, api(`arn:aws:iam::${ACCOUNT}:role/ops`))).toBe('self_approval');
    expect(refusal(chain, api(directory.personOf(`arn:aws:sts::${ACCOUNT}:assumed-role/ops/alice`)!))).toBe('self_approval');
    expect(refusal(chain, api('alice@example.com'))).toBe('ok');
  });

  it('a person in two groups fills one requirement of a two-team quorum, not both', () => {
    const require = [
      { group: 'owners', min: 1, members: approvers.slice(0, 3) },
      { group: 'security', min: 1, members: ['alice@example.com', 'sec@example.com'] },
    ];
    let chain = chainOf(AGENT, undefined, { require, requiredApprovals: 2 });
    // As the ledger does: append one event, decide again, until nothing is left.
    const vote = (who: string) => {
      for (let round = 0; round < 5; round++) {
        const [event] = decideVote(chain, api(who), { decision: 'approve' }, NOW, directory);
        if (!event) return;
        chain = [...chain, { requestId: 'act_1', seq: chain.length + 1, at: NOW.toISOString(), prevHash: '', hash: '', signature: '', keyId: 'k', ...event }];
      }
    };
    vote('alice@example.com');
    vote('alice@example.com'); // idempotent
    expect(deriveState(chain)!.outcome).toBeUndefined();
    vote('sec@example.com');
    expect(deriveState(chain)!.outcome?.status).toBe('approved');
  });

  it('property: any case, white space or compatibility respelling of onBehalfOf is still self', () => {
    const respell = fc.tuple(
      fc.array(fc.boolean(), { minLength: 17, maxLength: 17 }),
      fc.constantFrom('', ' ', '  ', '\t'),
      fc.constantFrom('', ' ', '\n'),
      fc.boolean(),
    );
    fc.assert(
      fc.property(respell, ([upper, before, after, wide]) => {
        let text = [...'alice@example.com'].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('');
        if (wide) text = [...text].map((c) => (/[a-z]/i.test(c) ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join('');
        const state = deriveState(chainOf(AGENT, `${before}${text}${after}`))!;
        return isSelf(state, 'alice@example.com', directory);
      }),
    );
  });
});

describe('every rule option on every channel', () => {
  const AGENT = `arn:aws:iam::${ACCOUNT}:role/agent`;
  const rows: Array<[string, Partial<PolicyDecidedData>, Voter, string]> = [
    ['plain rule, review link', {}, { approver: 'alice@example.com', via: 'review_link', signedIn: false }, 'ok'],
    ['plain rule, Slack', {}, { approver: 'alice@example.com', via: 'slack', signedIn: false }, 'ok'],
    ['plain rule, decision API', {}, api('alice@example.com'), 'ok'],
    [
      'requireSignIn, review link without sign-in',
      { requireSignIn: true },
      { approver: 'alice@example.com', via: 'review_link', signedIn: false },
      'forbidden',
    ],
    ['requireSignIn, review link signed in', { requireSignIn: true }, { approver: 'alice@example.com', via: 'review_link', signedIn: true }, 'ok'],
    ['requireSignIn, Slack button', { requireSignIn: true }, { approver: 'alice@example.com', via: 'slack', signedIn: false }, 'forbidden'],
    ['requireSignIn, decision API (IAM-authenticated)', { requireSignIn: true }, api('alice@example.com'), 'ok'],
    ['channels [email], Slack button', { channels: ['email'] }, { approver: 'alice@example.com', via: 'slack', signedIn: false }, 'forbidden'],
    ['channels [email], review link', { channels: ['email'] }, { approver: 'alice@example.com', via: 'review_link', signedIn: false }, 'ok'],
    ['channels [teams], review link from the card', { channels: ['teams'] }, { approver: 'alice@example.com', via: 'review_link', signedIn: false }, 'ok'],
    ['channels [slack], Slack button', { channels: ['slack'] }, { approver: 'alice@example.com', via: 'slack', signedIn: false }, 'ok'],
    ['a stranger on the decision API', {}, api('mallory@example.com'), 'not_found'],
    ['a stranger on Slack', {}, { approver: 'mallory@example.com', via: 'slack', signedIn: false }, 'not_found'],
    ['an auditor', {}, api('audit@example.com'), 'not_an_approver'],
    ['the requester', {}, api(AGENT), 'self_approval'],
  ];
  it.each(rows)('%s', (_, over, voter, expected) => {
    expect(refusal(chainOf(AGENT, undefined, over), voter)).toBe(expected);
  });

  it('says why, in words an approver can act on', () => {
    expect(channelRefusal(policy({ requireSignIn: true }), { approver: 'a', via: 'slack', signedIn: false })).toMatch(/sign in/);
    expect(channelRefusal(policy({ channels: ['email'] }), { approver: 'a', via: 'slack', signedIn: false })).toMatch(/does not take decisions in Slack/);
  });
});
