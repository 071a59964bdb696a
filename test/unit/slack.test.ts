/**
 * The Slack channel's pure parts (escaping, messages and Block Kit limits, the v0 signature, the Slack user binding),
 * its adapter against a loopback server standing in for Slack, and the interaction handler with fake dependencies.
 */

import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HttpEvent } from '../../lambdas/adapters/http';
import { allowedResponseUrl, postSlackMessage, postToResponseUrl, SlackApiError, SlackRateLimitedError } from '../../lambdas/adapters/slack';
import type { ApproverPorts } from '../../lambdas/app/vote';
import type { ApprovalState } from '../../lambdas/core/approval';
import type { Config } from '../../lambdas/core/config';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { CountersignError } from '../../lambdas/core/errors';
import {
  approvalRequestMessage,
  approverForSlackUser,
  decidersOf,
  ephemeralMessage,
  escapeMrkdwn,
  outcomeMessage,
  progressMessage,
  reviewUrlOf,
  SLACK_LIMITS,
  slackBlockActionsSchema,
  slackClick,
  slackUsersOf,
  truncateText,
  verifySlackSignature,
} from '../../lambdas/core/slack';
import { markHidden } from '../../lambdas/core/text';
import { sampleState } from '../fixtures/approval-state';
import { memoryPolicy, memoryPorts } from '../fixtures/memory-ports';

// The vote itself is the test's to answer: these tests are about the Slack route around it.
const votes = vi.hoisted(() => ({
  calls: [] as string[],
  cast: (async () => {
    throw new Error('not set');
  }) as (...args: unknown[]) => Promise<unknown>,
}));
vi.mock('../../lambdas/app/vote', async (original) => ({
  ...(await original<typeof import('../../lambdas/app/vote')>()),
  castVote: (_ports: unknown, requestId: string, voter: { via: string; approver: string }, vote: { decision: string }) => {
    votes.calls.push(`castVote ${requestId} ${voter.via}:${voter.approver} ${vote.decision}`);
    return votes.cast(_ports, requestId, voter, vote);
  },
  requestState: async (_ports: unknown, id: string) => {
    votes.calls.push(`readState ${id}`);
    return undefined;
  },
}));

import { handleSlackInteraction } from '../../lambdas/decision/slack-interactions';

const LOOKALIKES: Record<string, string> = { '\u2217': '*', '\u02CD': '_', '\u223C': '~', '\u02CB': '`' };
/** What a reader sees: Slack's entities decoded, look-alikes read as the characters they stand for. */
const asRead = (escaped: string) =>
  escaped
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/[\u2217\u02CD\u223C\u02CB]/g, (c) => LOOKALIKES[c]!);
/** Nothing Slack's mrkdwn parser acts on: no control characters, no formatting characters, only its three entities. */
const isInert = (escaped: string) => !/[<>*_~`]/.test(escaped) && !/&(?!amp;|lt;|gt;)/.test(escaped);

describe('escapeMrkdwn', () => {
  it.each([
    ['<!channel> deploy now', '&lt;!channel&gt; deploy now'],
    ['ping <!here> and <!everyone>', 'ping &lt;!here&gt; and &lt;!everyone&gt;'],
    ['<@U0ALICE> approve this', '&lt;@U0ALICE&gt; approve this'],
    ['<!subteam^S0123|@oncall>', '&lt;!subteam^S0123|@oncall&gt;'],
    ['<#C0123|general>', '&lt;#C0123|general&gt;'],
    ['<https://evil.example|click here>', '&lt;https://evil.example|click here&gt;'],
    ['<!date^1392734382^{date_pretty}|Feb 18>', '&lt;!date^1392734382^{date\u02CDpretty}|Feb 18&gt;'],
    ['&lt;!channel&gt;', '&amp;lt;!channel&amp;gt;'],
    ['*bold* _italic_ ~strike~ `code`', '\u2217bold\u2217 \u02CDitalic\u02CD \u223Cstrike\u223C \u02CBcode\u02CB'],
    ['> quoted line', '&gt; quoted line'],
    ['```\nblock\n```', '\u02CB\u02CB\u02CB\nblock\n\u02CB\u02CB\u02CB'],
  ])('makes %j inert', (input, expected) => {
    const out = escapeMrkdwn(input);
    expect(out).toBe(expected);
    expect(isInert(out)).toBe(true);
    expect(asRead(out)).toBe(input);
  });

  it.each([
    ['user@example.com', 'user@example.com'],
    ['arn:aws:rds:eu-west-1:123456789012:db:customers', 'arn:aws:rds:eu-west-1:123456789012:db:customers'],
    ['https://example.com/a?b=1', 'https://example.com/a?b=1'],
    ['50% off, (maybe) #1 - ok!', '50% off, (maybe) #1 - ok!'],
    ['a & b', 'a &amp; b'],
    ['2 < 3 and 5 > 4', '2 &lt; 3 and 5 &gt; 4'],
    ['snake_case_name', 'snake\u02CDcase\u02CDname'],
    ['x*y = 6', 'x\u2217y = 6'],
    ['Ünïcödé ✓ 日本', 'Ünïcödé ✓ 日本'],
  ])('keeps the near miss %j readable', (input, expected) => {
    const out = escapeMrkdwn(input);
    expect(out).toBe(expected);
    expect(asRead(out)).toBe(input);
    expect(isInert(out)).toBe(true);
  });
});

describe('truncateText', () => {
  it('leaves short text alone and cuts long text visibly within the limit', () => {
    expect(truncateText('short', 10)).toBe('short');
    const cut = truncateText('x'.repeat(5000), 3000);
    expect(cut.length).toBeLessThanOrEqual(3000);
    expect(cut).toMatch(/^x+ … \[truncated: 5000 characters; open Review for the full text\]$/);
  });

  it('never cuts a hidden-character marker in half', () => {
    const text = markHidden('\u202E'.repeat(1000));
    for (let max = 200; max < 210; max++) {
      const cut = truncateText(text, max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(cut).toMatch(/^(?:\[U\+202E\])* … \[truncated/);
    }
  });

  it('never splits a surrogate pair', () => {
    const text = '😀'.repeat(2000);
    for (const max of [200, 201, 202, 203]) {
      const cut = truncateText(text, max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
      expect(cut).not.toMatch(/(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    }
  });
});

const EVIL = {
  channel: '<!channel>',
  mention: '<@U0ALICE>',
  link: '<https://evil.example|click>',
  bold: '*bold*',
};
const EVIL_TEXT = `${EVIL.channel} ${EVIL.mention} ${EVIL.link} ${EVIL.bold} <!subteam^S1> _it_ ~s~ \`c\``;

const stateOf = (overrides: Partial<ApprovalState> = {}, request: Partial<ApprovalState['request']> = {}) => sampleState(request, overrides);

interface TextObject {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
}
/** Every text object anywhere in a message. */
function textObjects(value: unknown, found: TextObject[] = []): TextObject[] {
  if (Array.isArray(value)) value.forEach((v) => textObjects(v, found));
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ((o.type === 'plain_text' || o.type === 'mrkdwn') && typeof o.text === 'string') found.push(o as unknown as TextObject);
    else Object.values(o).forEach((v) => textObjects(v, found));
  }
  return found;
}
const allText = (message: unknown) =>
  textObjects(message)
    .map((t) => t.text)
    .join('\n');
type Block = { type: string; [k: string]: any };

describe('approvalRequestMessage', () => {
  const message = approvalRequestMessage(stateOf(), { reviewUrl: 'https://cs.example/v1/actions/act_abc123/review', channel: 'C0APPROVALS' });

  it('is a chat.postMessage body with the whole context, as the email has', () => {
    expect(message).toMatchObject({ channel: 'C0APPROVALS', unfurl_links: false, unfurl_media: false });
    expect(message.text).toContain('data.export');
    const text = allText(message);
    for (const expected of [
      'data.export',
      'arn:aws:rds:eu-west-1:123456789012:db:customers',
      'production',
      'arn:aws:iam::000000000000:role/agent',
      'carol@example.com',
      'analyst-bot, model some-llm, run r-42',
      '"table": "customers"',
      'Quarterly churn analysis',
      'supplied by the agent, not verified',
      'prod-exports',
      '0 of 2 given',
      // Slack's date token: each reader's own time zone, and the one format in UTC where Slack cannot.
      '<!date^1767229200^{date_short_pretty} {time}|1 Jan 2026, 01:00 UTC>',
    ]) {
      expect(text).toContain(expected);
    }
    expect(text).not.toContain('2026-01-01T01:00:00.000Z');
  });

  it('says how long was left when it was sent, and in an update when it was updated; a settled message has no countdown', () => {
    const sent = approvalRequestMessage(stateOf(), { reviewUrl: 'https://cs.example/r', channel: 'C1', now: new Date('2026-01-01T00:02:00.000Z') });
    expect(allText(sent)).toContain('<!date^1767229200^{date_short_pretty} {time}|1 Jan 2026, 01:00 UTC> (58 minutes left when this was sent)');
    const updated = progressMessage(stateOf(), 'https://cs.example/r', new Date('2026-01-01T00:30:00.000Z'));
    expect(allText(updated)).toContain('(30 minutes left when this was updated)');
    const settled = outcomeMessage(stateOf({ outcome: { status: 'approved', decidedBy: 'approvers', at: '2026-01-01T00:11:00.000Z' } }));
    expect(allText(settled)).not.toContain(' left');
    expect(allText(settled)).toContain('settled <!date^1767226260^{date_short_pretty} {time}|1 Jan 2026, 00:11 UTC>');
  });

  it('has Approve, Deny and Review buttons carrying the request id', () => {
    const actions = message.blocks.filter((b) => b.type === 'actions') as Block[];
    expect(actions).toHaveLength(1);
    expect(actions[0]!.elements).toEqual([
      { type: 'button', action_id: 'countersign_approve', text: { type: 'plain_text', text: 'Approve', emoji: false }, style: 'primary', value: 'act_abc123' },
      { type: 'button', action_id: 'countersign_deny', text: { type: 'plain_text', text: 'Deny', emoji: false }, style: 'danger', value: 'act_abc123' },
      {
        type: 'button',
        action_id: 'countersign_review',
        text: { type: 'plain_text', text: 'Review', emoji: false },
        url: 'https://cs.example/v1/actions/act_abc123/review',
      },
    ]);
    expect(reviewUrlOf({ blocks: message.blocks })).toBe('https://cs.example/v1/actions/act_abc123/review');
  });

  it('keeps agent text inert: only plain_text holds it, and the mrkdwn fallback is escaped', () => {
    const evil = stateOf(
      { requester: `role/${EVIL.mention}` },
      {
        resource: EVIL_TEXT,
        environment: `prod ${EVIL.channel}`,
        onBehalfOf: EVIL.mention,
        justification: EVIL_TEXT,
        parameters: { [EVIL.link]: EVIL.bold },
        agent: { name: EVIL.channel, model: EVIL.link, runId: EVIL.bold },
      },
    );
    const m = approvalRequestMessage(evil, { reviewUrl: 'https://cs.example/r', channel: 'C1' });
    const objects = textObjects(m);
    for (const o of objects.filter((t) => t.type === 'mrkdwn')) {
      // Countersign's own labels and date tokens: no other control sequence, nothing from the agent.
      expect(o.text.replace(/<!date\^\d+\^\{date_short_pretty\} \{time\}\|\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC>/g, '')).not.toMatch(/[<>&]/);
      for (const needle of ['channel', 'U0ALICE', 'evil', 'bold']) expect(o.text).not.toContain(needle);
    }
    for (const o of objects.filter((t) => t.type === 'plain_text')) expect(o.emoji).toBe(false);
    // The agent's text is shown as typed (plain_text is not parsed).
    const plainText = objects
      .filter((t) => t.type === 'plain_text')
      .map((t) => t.text)
      .join('\n');
    for (const needle of Object.values(EVIL)) expect(plainText).toContain(needle);
    expect(plainText).toContain(EVIL_TEXT);
    // The notification fallback is mrkdwn: escaped.
    expect(isInert(m.text)).toBe(true);
    expect(asRead(m.text)).toContain(`prod ${EVIL.channel}`);
  });

  it('respects Block Kit limits, truncating long agent text visibly', () => {
    const huge = stateOf(
      {
        votes: Array.from({ length: 100 }, (_, i) => ({
          approver: `approver-${i}@example.com`,
          decision: 'approve' as const,
          reason: 'r'.repeat(900),
          at: 'x',
        })),
      },
      {
        resource: 'r'.repeat(2048),
        environment: 'e'.repeat(128),
        justification: 'j'.repeat(4000),
        parameters: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`key${i}`, 'v'.repeat(50)])),
        agent: { name: 'n'.repeat(256), model: 'm'.repeat(256), runId: 'i'.repeat(256) },
        action: 'a'.repeat(128),
      },
    );
    for (const m of [
      approvalRequestMessage(huge, { reviewUrl: 'https://cs.example/r', channel: 'C1' }),
      progressMessage(huge, 'https://cs.example/r'),
      outcomeMessage({ ...huge, outcome: { status: 'approved', decidedBy: 'approvers', at: 'x' } }),
    ]) {
      expect(m.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
      for (const block of m.blocks as Block[]) {
        if (block.type === 'header') expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
        if (block.type === 'section') {
          if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
          if (block.fields) {
            expect(block.fields.length).toBeLessThanOrEqual(SLACK_LIMITS.fields);
            for (const f of block.fields) expect(f.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldText);
          }
        }
        if (block.type === 'context') {
          expect(block.elements.length).toBeLessThanOrEqual(SLACK_LIMITS.contextElements);
          for (const e of block.elements) expect(e.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
        }
      }
      for (const o of textObjects(m)) expect(o.text.length).toBeGreaterThan(0);
    }
    const text = allText(approvalRequestMessage(huge, { reviewUrl: 'https://cs.example/r', channel: 'C1' }));
    expect(text).toContain('[truncated: 4000 characters; open Review for the full text]');
    expect(text).toContain('[truncated: 2048 characters; open Review for the full text]');
  });

  it('leaves out what the request does not have', () => {
    const bare = stateOf(
      {},
      { resource: undefined, environment: undefined, onBehalfOf: undefined, agent: undefined, justification: undefined, parameters: undefined },
    );
    const text = allText(approvalRequestMessage(bare, { reviewUrl: 'https://cs.example/r', channel: 'C1' }));
    for (const absent of ['Resource', 'Environment', 'On behalf of', 'Agent', 'Justification']) expect(text).not.toContain(absent);
    expect(text).toContain('{}');
  });
});

describe('approving for a while in Slack', () => {
  const offer = { maxForSeconds: 8 * 3600, scope: ['action' as const, 'requester' as const, 'resource' as const], ruleDigest: 'd' };
  const granting = (over: Partial<ApprovalState> = {}) => stateOf({ policy: { ...stateOf().policy!, grant: offer }, ...over });

  it('adds "Approve for" buttons, the shortest length and the rule\'s maxFor, each carrying the request id and its for', () => {
    const message = approvalRequestMessage(granting(), { reviewUrl: 'https://cs.example/r', channel: 'C1' });
    const elements = (message.blocks.find((b) => b.type === 'actions') as Block).elements as Block[];
    expect(elements.map((e) => [e.action_id, e.text.text, e.value])).toEqual([
      ['countersign_approve', 'Approve', 'act_abc123'],
      ['countersign_approve_for_0', 'Approve for 1 hour', 'act_abc123|1h'],
      ['countersign_approve_for_1', 'Approve for 8 hours', 'act_abc123|8h'],
      ['countersign_deny', 'Deny', 'act_abc123'],
      ['countersign_review', 'Review', undefined],
    ]);
    expect(allText(message)).toContain(
      'Approve is for this call only; "Approve for" also approves later requests by arn:aws:iam::000000000000:role/agent that rule prod-exports decides, with the same action, requester, resource, without asking',
    );
    const oneHour = approvalRequestMessage(granting({ policy: { ...stateOf().policy!, grant: { ...offer, maxForSeconds: 3600 } } }), {
      reviewUrl: 'https://cs.example/r',
      channel: 'C1',
    });
    expect(JSON.stringify(oneHour)).toContain('"Approve for 1 hour"');
    expect(JSON.stringify(oneHour).match(/countersign_approve_for_/g)).toHaveLength(1);
    // Without a grant in the rule: no such button, and no word of it.
    expect(JSON.stringify(approvalRequestMessage(stateOf(), { reviewUrl: 'https://cs.example/r', channel: 'C1' }))).not.toContain('Approve for');
  });

  it('reads a click: Approve, Deny, Approve for with its length; anything else is not a vote', () => {
    expect(slackClick({ action_id: 'countersign_approve', value: 'act_1' })).toEqual({ decision: 'approve', requestId: 'act_1' });
    expect(slackClick({ action_id: 'countersign_deny', value: 'act_1' })).toEqual({ decision: 'deny', requestId: 'act_1' });
    expect(slackClick({ action_id: 'countersign_approve_for_1', value: 'act_1|8h' })).toEqual({ decision: 'approve', requestId: 'act_1', for: '8h' });
    expect(slackClick({ action_id: 'countersign_approve_for_0', value: 'act_1' })).toEqual({ decision: 'approve', requestId: 'act_1', for: '' });
    expect(slackClick({ action_id: 'countersign_review' })).toBeUndefined();
    expect(slackClick({ action_id: 'countersign_approve_forever', value: 'act_1|8h' })).toBeUndefined();
  });

  it('shows votes for a while, and an outcome that made a grant says until when', () => {
    const state = granting({
      votes: [{ approver: 'alice@example.com', decision: 'approve', forSeconds: 3600, at: '2026-01-01T00:10:00.000Z' }],
      outcome: { status: 'approved', decidedBy: 'approvers', at: '2026-01-01T00:10:00.000Z' },
      grant: {
        id: 'grt_abc123',
        rule: 'prod-exports',
        ruleDigest: 'd',
        scope: { action: 'data.export', requester: 'r', resource: 'x' },
        until: '2026-01-01T01:10:00.000Z',
        approvers: ['alice@example.com'],
      },
    });
    const text = allText(outcomeMessage(state));
    expect(text).toContain('alice@example.com approved for 1 hour');
    expect(text).toContain(
      '*Approved for a while:* later requests by the same requester that this rule decides, with the same action, requester, resource, are approved without asking until <!date^1767229800^{date_short_pretty} {time}|1 Jan 2026, 01:10 UTC> (grant grt\u02CDabc123).',
    );
  });
});

describe('response_url bodies', () => {
  const alice = { approver: 'alice@example.com', decision: 'approve' as const, at: '2026-01-01T00:10:00.000Z' };
  const bob = { approver: 'bob@example.com', decision: 'approve' as const, at: '2026-01-01T00:11:00.000Z' };

  it('shows progress with the buttons kept while the request is pending', () => {
    const body = progressMessage(stateOf({ votes: [alice] }), 'https://cs.example/r');
    expect(body).toMatchObject({ replace_original: true });
    expect(body.blocks.some((b) => b.type === 'actions')).toBe(true);
    expect(allText(body)).toContain('alice@example.com approved');
    expect(allText(body)).toContain('1 of 2 given');
  });

  it('replaces the message with the outcome and who decided, without buttons', () => {
    const approved = stateOf({ votes: [alice, bob], outcome: { status: 'approved', decidedBy: 'approvers', at: '2026-01-01T00:11:00.000Z' } });
    const body = outcomeMessage(approved);
    expect(body).toMatchObject({ replace_original: true });
    const blocks = body.blocks as Block[];
    expect(blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(blocks[0]!.text.text).toBe('Approved: data.export');
    expect(allText(body)).toContain('Approved by alice@example.com, bob@example.com.');
    expect(decidersOf(approved)).toEqual(['alice@example.com', 'bob@example.com']);

    const denied = stateOf({
      votes: [alice, { approver: 'bob@example.com', decision: 'deny', reason: `no ${EVIL.channel}`, at: 'x' }],
      outcome: { status: 'denied', decidedBy: 'approvers', reason: `no ${EVIL.channel}`, at: 'x' },
    });
    expect(allText(outcomeMessage(denied))).toContain(`Denied by bob@example.com. Reason: no ${EVIL.channel}`);
    expect(isInert(outcomeMessage(denied).text)).toBe(true);
    const expired = outcomeMessage(stateOf({ outcome: { status: 'expired', decidedBy: 'timeout', at: 'x' } }));
    expect(allText(expired)).toContain(
      'Expired: nobody decided before <!date^1767229200^{date_short_pretty} {time}|1 Jan 2026, 01:00 UTC>. The action was not approved.',
    );
    expect(expired.text).toContain('Expired: nobody decided before 1 Jan 2026, 01:00 UTC.');
    expect(isInert(expired.text)).toBe(true);
    expect(allText(outcomeMessage(stateOf({ outcome: { status: 'cancelled', decidedBy: 'requester', at: 'x' } })))).toContain('Cancelled by the requester');
  });

  it('answers only the clicking user with an escaped ephemeral message', () => {
    expect(ephemeralMessage(`not counted: ${EVIL.channel} *x*`)).toEqual({
      response_type: 'ephemeral',
      replace_original: false,
      text: `not counted: &lt;!channel&gt; \u2217x\u2217`,
    });
  });
});

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const sign = (body: string, timestamp: string, secret = SECRET) => `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;

describe('verifySlackSignature', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const ts = String(now.getTime() / 1000);
  const body = 'payload=%7B%22type%22%3A%22block_actions%22%7D';
  const check = (over: Partial<Parameters<typeof verifySlackSignature>[0]>) =>
    verifySlackSignature({ signingSecret: SECRET, timestamp: ts, signature: sign(body, ts), body, now, ...over });

  it('accepts what Slack signs, up to five minutes either way', () => {
    expect(check({})).toBe(true);
    const old = String(Number(ts) - 300);
    const ahead = String(Number(ts) + 300);
    expect(check({ timestamp: old, signature: sign(body, old) })).toBe(true);
    expect(check({ timestamp: ahead, signature: sign(body, ahead) })).toBe(true);
  });

  it.each([
    ['a wrong secret', { signature: sign(body, ts, 'another-secret') }],
    ['an altered body', { body: `${body}x` }],
    ['a stale timestamp', { timestamp: String(Number(ts) - 301), signature: sign(body, String(Number(ts) - 301)) }],
    ['a future timestamp', { timestamp: String(Number(ts) + 301), signature: sign(body, String(Number(ts) + 301)) }],
    ['a missing v0= prefix', { signature: sign(body, ts).slice(3) }],
    ['another version', { signature: sign(body, ts).replace('v0=', 'v1=') }],
    ['a truncated signature', { signature: sign(body, ts).slice(0, -2) }],
    ['an uppercased signature', { signature: `v0=${sign(body, ts).slice(3).toUpperCase()}` }],
    ['no signature', { signature: undefined }],
    ['no timestamp', { timestamp: undefined }],
    ['a non-numeric timestamp', { timestamp: `${ts}.5`, signature: sign(body, `${ts}.5`) }],
    ['an empty secret', { signingSecret: '', signature: sign(body, ts, '') }],
  ])('refuses %s', (_name, over) => {
    expect(check(over)).toBe(false);
  });
});

const CONFIG_YAML = `
version: 1
groups:
  owners:
    members:
      - { id: alice@example.com, slackUserId: U0ALICE }
      - { id: bob@example.com, slackUserId: U0BOB }
      - { id: carol@example.com }
      - { id: dave@example.com }
  admins:
    members:
      - { id: alice@example.com, slackUserId: U0ALICE }
      - { id: erin@example.com, slackUserId: U0ERIN }
default: { effect: require_approval, approvers: [owners], timeout: 1h }
channels:
  slack: { botToken: env:SLACK_BOT_TOKEN, signingSecret: env:UNIT_SLACK_SIGNING_SECRET, channel: C0APPROVALS }
`;
const config: Config = parseConfig(CONFIG_YAML);

describe('approverForSlackUser', () => {
  it.each([
    ['U0ALICE', 'alice@example.com'], // bound in two groups to the same identity
    ['U0BOB', 'bob@example.com'],
    ['U0NOBODY', undefined], // unbound
    ['U0ERIN', 'erin@example.com'],
    ['u0alice', 'alice@example.com'], // one canonical form for every identity
    ['', undefined],
  ])('maps %j to %j', (user, expected) => {
    expect(approverForSlackUser(config, user)).toBe(expected);
  });

  it('refuses one Slack user bound to two people in the config, naming both places', () => {
    expect(() => parseConfig(CONFIG_YAML.replace('U0ERIN', 'U0ALICE'))).toThrow(
      /groups\.admins\.members\.1\.slackUserId: is the same person as groups\.owners\.members\.0/,
    );
  });

  it('finds the Slack users to DM for an identity under any spelling', () => {
    expect(slackUsersOf(config, 'alice@example.com')).toEqual(['U0ALICE']);
    expect(slackUsersOf(config, ' Alice@EXAMPLE.com')).toEqual(['U0ALICE']);
    expect(slackUsersOf(config, 'carol@example.com')).toEqual([]);
    expect(slackUsersOf(config, 'dave@example.com')).toEqual([]);
  });
});

function blockActions(over: Record<string, unknown> = {}, action: Record<string, unknown> = {}) {
  return {
    type: 'block_actions',
    user: { id: 'U0ALICE', username: 'alice', name: 'alice', team_id: 'T0TEAM' },
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C0APPROVALS', is_ephemeral: false },
    trigger_id: '123.456.abc',
    team: { id: 'T0TEAM', domain: 'example' },
    channel: { id: 'C0APPROVALS', name: 'approvals' },
    message: { type: 'message', ts: '1700000000.000100', blocks: [] },
    response_url: 'https://hooks.slack.com/actions/T0TEAM/1/abc',
    actions: [{ type: 'button', action_id: 'countersign_approve', block_id: 'b1', value: 'act_abc123', action_ts: '1700000001.0001', ...action }],
    ...over,
  };
}

describe('slackBlockActionsSchema', () => {
  it('reads what it needs from a block_actions payload, loose on the rest', () => {
    const parsed = slackBlockActionsSchema.parse(blockActions());
    expect(parsed.user.id).toBe('U0ALICE');
    expect(parsed.actions[0]).toMatchObject({ action_id: 'countersign_approve', value: 'act_abc123' });
    expect(parsed.response_url).toBe('https://hooks.slack.com/actions/T0TEAM/1/abc');
  });

  it.each([
    ['another type', { type: 'view_submission' }],
    ['no user', { user: undefined }],
    ['no actions', { actions: [] }],
  ])('refuses %s', (_name, over) => {
    expect(slackBlockActionsSchema.safeParse(blockActions(over)).success).toBe(false);
  });
});

/** A loopback server standing in for Slack: records what it is sent and answers as told. */
function fakeSlack() {
  const received: Array<{ path: string; headers: IncomingMessage['headers']; body: string }> = [];
  let answer: (path: string) => { status: number; headers?: Record<string, string>; body: string } = () => ({
    status: 200,
    body: '{"ok":true,"channel":"C1","ts":"1.2"}',
  });
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      const a = answer(req.url ?? '');
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(a.body);
    });
  });
  return {
    received,
    answerWith: (fn: typeof answer) => (answer = fn),
    start: () => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('Slack adapter', () => {
  const slack = fakeSlack();
  let base: string;
  const saved = process.env.COUNTERSIGN_SLACK_API_URL;
  beforeAll(async () => {
    base = await slack.start();
    process.env.COUNTERSIGN_SLACK_API_URL = base;
  });
  afterAll(async () => {
    await slack.stop();
    if (saved === undefined) delete process.env.COUNTERSIGN_SLACK_API_URL;
    else process.env.COUNTERSIGN_SLACK_API_URL = saved;
  });
  afterEach(() => slack.answerWith(() => ({ status: 200, body: '{"ok":true,"channel":"C1","ts":"1.2"}' })));

  it('posts chat.postMessage as JSON with the bot token', async () => {
    const body = approvalRequestMessage(stateOf(), { reviewUrl: 'https://cs.example/r', channel: 'C0APPROVALS' });
    expect(await postSlackMessage('xoxb-unit', body)).toEqual({ channel: 'C1', ts: '1.2' });
    const got = slack.received.at(-1)!;
    expect(got.path).toBe('/chat.postMessage');
    expect(got.headers.authorization).toBe('Bearer xoxb-unit');
    expect(got.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(got.body)).toEqual(body);
  });

  it("throws Slack's own error from an HTTP 200 { ok: false }, without the token", async () => {
    slack.answerWith(() => ({ status: 200, body: '{"ok":false,"error":"channel_not_found"}' }));
    const err = await postSlackMessage('xoxb-secret-token', { channel: 'C9', text: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlackApiError);
    expect(err).toMatchObject({ error: 'channel_not_found', retryable: false });
    expect(String((err as Error).message)).not.toContain('xoxb-secret-token');
  });

  it('throws a retryable error carrying Retry-After on 429, and on 5xx', async () => {
    slack.answerWith(() => ({ status: 429, headers: { 'retry-after': '7' }, body: '' }));
    const limited = await postSlackMessage('xoxb-unit', { channel: 'C1', text: 'x' }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(SlackRateLimitedError);
    expect(limited).toMatchObject({ retryAfterSeconds: 7, retryable: true });
    slack.answerWith(() => ({ status: 503, body: 'unavailable' }));
    expect(await postSlackMessage('xoxb-unit', { channel: 'C1', text: 'x' }).catch((e: unknown) => e)).toMatchObject({ error: 'http_503', retryable: true });
  });

  it("posts to response_url only on Slack's hooks.slack.com, or on the origin of the configured Slack API", async () => {
    try {
      // Slack's own Web API (the default): hooks.slack.com only, never loopback.
      delete process.env.COUNTERSIGN_SLACK_API_URL;
      expect(allowedResponseUrl('https://hooks.slack.com/actions/T1/2/x')?.hostname).toBe('hooks.slack.com');
      for (const refused of [
        'http://hooks.slack.com/actions/x',
        'https://hooks.slack.com.evil.example/x',
        'https://evil.example/hooks.slack.com',
        'https://user:pw@hooks.slack.com/x',
        'https://hooks.slack.com:8443/x',
        `${base}/respond`,
        'http://localhost/x',
        'http://[::1]/x',
        'not a url',
      ]) {
        expect(allowedResponseUrl(refused), refused).toBeUndefined();
      }
      await expect(postToResponseUrl(`${base}/respond`, { text: 'x' })).rejects.toMatchObject({ error: 'response_url_not_allowed' });

      // A Slack API on loopback (local mode's): its origin's URLs too, and no other port, host or credentials.
      process.env.COUNTERSIGN_SLACK_API_URL = `${base}/api`;
      expect(allowedResponseUrl('https://hooks.slack.com/actions/T1/2/x')?.hostname).toBe('hooks.slack.com');
      expect(allowedResponseUrl(`${base}/actions/T1/2/x`)?.href).toBe(`${base}/actions/T1/2/x`);
      const port = Number(new URL(base).port);
      for (const refused of [
        `http://127.0.0.1:${port + 1}/respond`,
        `http://localhost:${port}/respond`,
        `https://127.0.0.1:${port}/respond`,
        `http://u:p@127.0.0.1:${port}/respond`,
        'http://10.0.0.1/x',
      ]) {
        expect(allowedResponseUrl(refused), refused).toBeUndefined();
      }
      await postToResponseUrl(`${base}/respond`, ephemeralMessage('hello'));
      expect(slack.received.at(-1)).toMatchObject({ path: '/respond' });
      expect(JSON.parse(slack.received.at(-1)!.body)).toEqual({ response_type: 'ephemeral', replace_original: false, text: 'hello' });
      slack.answerWith(() => ({ status: 404, body: 'expired_url' }));
      await expect(postToResponseUrl(`${base}/respond`, { text: 'x' })).rejects.toMatchObject({ error: 'http_404' });
    } finally {
      process.env.COUNTERSIGN_SLACK_API_URL = base;
    }
  });
});

describe('handleSlackInteraction (fake dependencies)', () => {
  const responses = fakeSlack();
  let base: string;
  const calls = votes.calls;
  const setCastVote = (cast: typeof votes.cast) => {
    votes.cast = cast;
  };
  // Every port but the vote itself, which the test answers (app/vote.ts's castVote is mocked above).
  const deps: ApproverPorts = {
    ...memoryPorts(config, { publicUrl: 'https://cs.example' }),
    clock: { now: () => new Date(), sleep: async () => {} },
    outbox: {
      deliver: async () => {
        calls.push('deliver');
      },
    },
  };
  const saved = process.env.COUNTERSIGN_SLACK_API_URL;
  beforeAll(async () => {
    base = await responses.start();
    process.env.UNIT_SLACK_SIGNING_SECRET = SECRET;
    // A Slack API on this server, whose origin then serves the interactions' response URLs.
    process.env.COUNTERSIGN_SLACK_API_URL = `${base}/api`;
  });
  afterAll(async () => {
    await responses.stop();
    if (saved === undefined) delete process.env.COUNTERSIGN_SLACK_API_URL;
    else process.env.COUNTERSIGN_SLACK_API_URL = saved;
  });

  function event(payload: unknown, opts: { ts?: number; secret?: string; base64?: boolean; tamper?: boolean } = {}): HttpEvent {
    const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
    const signature = sign(body, ts, opts.secret ?? SECRET);
    const sent = opts.tamper ? body.replace('approve', 'deny') : body;
    return {
      routeKey: 'POST /v1/slack/interactions',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': signature },
      body: opts.base64 ? Buffer.from(sent).toString('base64') : sent,
      isBase64Encoded: Boolean(opts.base64),
    } as unknown as HttpEvent;
  }
  const payload = (over: Record<string, unknown> = {}, action: Record<string, unknown> = {}) =>
    blockActions({ response_url: `${base}/respond`, ...over }, action);

  it('refuses a bad, tampered or stale signature with 401 before reading or voting anything', async () => {
    calls.length = 0;
    for (const e of [
      event(payload(), { secret: 'wrong' }),
      event(payload(), { tamper: true }),
      event(payload(), { ts: Math.floor(Date.now() / 1000) - 600 }),
    ]) {
      const res = await handleSlackInteraction(e, deps);
      expect(res.statusCode).toBe(401);
      expect(JSON.parse(res.body!).error.code).toBe('unauthorized');
    }
    const unsigned = { ...event(payload()), headers: { 'content-type': 'application/x-www-form-urlencoded' } } as unknown as HttpEvent;
    expect((await handleSlackInteraction(unsigned, deps)).statusCode).toBe(401);
    expect(calls).toEqual([]);
  });

  it('answers 404 when Slack is not configured', async () => {
    const res = await handleSlackInteraction(event(payload()), { ...deps, policy: memoryPolicy({ ...config, channels: {} }) });
    expect(res.statusCode).toBe(404);
  });

  it('acknowledges what it does not act on, and answers 400 for an unreadable signed payload', async () => {
    calls.length = 0;
    expect(await handleSlackInteraction(event({ type: 'view_closed', user: { id: 'U0ALICE' } }), deps)).toMatchObject({ statusCode: 200, body: '' });
    expect(
      await handleSlackInteraction(event(payload({}, { action_id: 'countersign_review', value: undefined, url: 'https://cs.example/r' })), deps),
    ).toMatchObject({ statusCode: 200, body: '' });
    expect((await handleSlackInteraction(event('not an object'), deps)).statusCode).toBe(400);
    expect((await handleSlackInteraction(event(payload({ actions: [] })), deps)).statusCode).toBe(400);
    expect(calls).toEqual([]);
  });

  it('votes as the bound approver from a base64 body, updates through response_url, and survives a failing response_url', async () => {
    calls.length = 0;
    const before = responses.received.length;
    setCastVote(async () => ({ state: stateOf({ votes: [{ approver: 'alice@example.com', decision: 'approve', at: 'x' }] }) }));
    expect(await handleSlackInteraction(event(payload(), { base64: true }), deps)).toMatchObject({ statusCode: 200, body: '' });
    expect(calls).toEqual(['castVote act_abc123 slack:alice@example.com approve']);
    const update = JSON.parse(responses.received.at(-1)!.body);
    expect(responses.received.length).toBe(before + 1);
    expect(update.replace_original).toBe(true);
    expect(JSON.stringify(update)).toContain('alice@example.com approved');
    // The update keeps the Review link the message was sent with, else the request's landing page.
    expect(JSON.stringify(update)).toContain('https://cs.example/v1/actions/act_abc123/review');

    responses.answerWith(() => ({ status: 500, body: 'broken' }));
    try {
      expect(await handleSlackInteraction(event(payload({}, { action_id: 'countersign_deny' })), deps)).toMatchObject({ statusCode: 200, body: '' });
    } finally {
      responses.answerWith(() => ({ status: 200, body: 'ok' }));
    }
    expect(calls.at(-1)).toBe('castVote act_abc123 slack:alice@example.com deny');
  });

  it('answers a refused vote with an ephemeral explanation', async () => {
    setCastVote(async () => {
      throw new CountersignError('self_approval', 'no');
    });
    await handleSlackInteraction(event(payload()), deps);
    const answer = JSON.parse(responses.received.at(-1)!.body);
    expect(answer).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(answer.text).toMatch(/someone else has to decide/);
  });

  it('does not vote for an unbound or ambiguous Slack user, or for a value that is no request id', async () => {
    calls.length = 0;
    for (const user of ['U0NOBODY', 'U0SHARED']) {
      await handleSlackInteraction(event(payload({ user: { id: user, name: 'alice', username: 'alice@example.com' } })), deps);
      expect(JSON.parse(responses.received.at(-1)!.body)).toMatchObject({
        response_type: 'ephemeral',
        text: expect.stringMatching(/not linked to a Countersign approver/),
      });
    }
    await handleSlackInteraction(event(payload({}, { value: '../../etc' })), deps);
    expect(JSON.parse(responses.received.at(-1)!.body).text).toMatch(/no such request/);
    expect(calls).toEqual([]);
  });

  it('votes "Approve for" with its length, and refuses a button whose length cannot be read, voting nothing', async () => {
    const cast: unknown[] = [];
    setCastVote(async (_ports, _id, _voter, vote) => {
      cast.push(vote);
      return { state: stateOf() };
    });
    await handleSlackInteraction(event(payload({}, { action_id: 'countersign_approve_for_1', value: 'act_abc123|8h' })), deps);
    expect(cast).toEqual([{ decision: 'approve', for: '8h' }]);
    await handleSlackInteraction(event(payload({}, { action_id: 'countersign_approve_for_0', value: 'act_abc123|forever' })), deps);
    expect(cast).toHaveLength(1);
    expect(JSON.parse(responses.received.at(-1)!.body)).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringMatching(/names no length of time/),
    });
  });

  it('lets a non-Countersign failure surface (a 500 from the route), not an acknowledgement', async () => {
    setCastVote(async () => {
      throw new Error('ledger down');
    });
    await expect(handleSlackInteraction(event(payload()), deps)).rejects.toThrow('ledger down');
  });
});
