import { describe, expect, it } from 'vitest';
import { approverMessages } from '../../lambdas/app/notifications';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { formatUtc, relativeWords, timeLeftWords } from '../../lambdas/core/dates';
import { approvalRequestHtml, approvalRequestText } from '../../lambdas/core/notification';
import { sampleState } from '../fixtures/approval-state';
import { memoryPorts } from '../fixtures/memory-ports';

const URL = 'https://cs.example.com/v1/review/tok_abc';
const SENT = new Date('2026-01-01T00:02:00.000Z'); // the sample expires at 01:00 UTC

describe('dates as people read them', () => {
  it('formats a moment as "29 Nov 2026, 21:43 UTC"', () => {
    expect(formatUtc('2026-11-29T21:43:24.441Z')).toBe('29 Nov 2026, 21:43 UTC');
    expect(formatUtc('2026-01-05T03:07:00.000Z')).toBe('5 Jan 2026, 03:07 UTC');
    expect(formatUtc('not a date')).toBeUndefined();
  });

  it('words a span: time left, in, ago', () => {
    expect(timeLeftWords(58 * 60_000)).toBe('58 minutes left');
    expect(timeLeftWords(3 * 3_600_000)).toBe('3 hours left');
    expect(timeLeftWords(-1)).toBe('expired');
    expect(relativeWords(-2 * 60_000)).toBe('2 minutes ago');
    expect(relativeWords(30_000)).toBe('in less than a minute');
  });
});

describe('approval email dates', () => {
  it('the text email shows the readable expiry and the time left at sending, never the raw ISO', () => {
    const { text } = approvalRequestText(sampleState(), URL, SENT);
    expect(text).toContain('Expires       1 Jan 2026, 01:00 UTC (58 minutes left when this was sent)');
    expect(text).not.toContain('2026-01-01T01:00:00.000Z');
  });

  it('the HTML email shows the same, and is made for a phone screen', () => {
    const html = approvalRequestHtml(sampleState(), URL, SENT);
    expect(html).toContain('<b>Expires</b> 1 Jan 2026, 01:00 UTC (58 minutes left when this was sent)');
    expect(html).not.toContain('2026-01-01T01:00:00.000Z');
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('overflow-wrap:anywhere');
  });

  it('mentions approving for a while, up to maxFor, where the rule offers grants, in text and HTML', () => {
    const grant = { maxForSeconds: 86_400, scope: ['action' as const, 'requester' as const], ruleDigest: 'd' };
    const state = sampleState({}, { policy: { ...sampleState().policy!, grant } });
    const words =
      'On the review page you may approve for a while, up to 24 hours, instead of this call only: later requests from the same requester that this rule decides, with the same action and requester, are then approved without asking';
    const { text } = approvalRequestText(state, URL, SENT);
    expect(text).toContain(words);
    expect(text.indexOf(words)).toBeLessThan(text.indexOf('Review and decide:'));
    expect(approvalRequestHtml(state, URL, SENT)).toContain(`<p data-testid="grant-offer">${words}`);
    expect(approvalRequestText(sampleState(), URL, SENT).text).not.toContain('approve for a while');
    expect(approvalRequestHtml(sampleState(), URL, SENT)).not.toContain('grant-offer');
  });

  it('says an expiry already past is past', () => {
    const { text } = approvalRequestText(sampleState(), URL, new Date('2026-01-01T02:00:00.000Z'));
    expect(text).toContain('1 Jan 2026, 01:00 UTC (expired when this was sent)');
  });
});

describe('every message to approvers, dated by the deployment clock', () => {
  it('email, Slack and Teams each say the expiry in the one format and how long was left when sent', async () => {
    const config = parseConfig(`version: 1
groups: { owners: { members: [{ id: alice@example.com, email: alice@example.com, slackUserId: U0ALICE }] } }
default: { effect: require_approval, approvers: [owners] }
channels:
  email: { from: countersign@example.com }
  slack: { botToken: env:SLACK_BOT_TOKEN, signingSecret: env:SLACK_SIGNING_SECRET, channel: C0APPROVALS }
  teams: { webhookUrl: env:TEAMS_WEBHOOK_URL }
`);
    const ports = memoryPorts(config, { start: SENT });
    const state = sampleState({}, { policy: { ...sampleState().policy!, channels: ['email', 'slack', 'teams'] } });
    const messages = await Promise.all(approverMessages(ports, state, ['alice@example.com'], 'request').map((send) => send.message()));
    expect(messages.map((m) => `${m.channel} ${m.to}`).sort()).toEqual(['email alice@example.com', 'slack C0APPROVALS', 'slack U0ALICE', 'teams teams']);
    for (const message of messages) {
      const shown = JSON.stringify(message).replace(/\\\\/g, '');
      expect(shown, message.channel).toContain('1 Jan 2026, 01:00 UTC');
      expect(shown, message.channel).toContain('58 minutes left when this was sent');
      expect(shown, message.channel).not.toContain('2026-01-01T01:00:00.000Z');
    }
  });
});

describe('ISO times, read one way by the console and the CLI', () => {
  it('takes a time with its zone whose every field is in range, and nothing that Date.parse would roll over or read locally', async () => {
    const { isoTimeMs, dayStart } = await import('../../lambdas/core/dates');
    expect(isoTimeMs('2026-11-30T10:00:00Z')).toBe(Date.parse('2026-11-30T10:00:00Z'));
    expect(isoTimeMs('2026-11-30T10:00:00.123+02:00')).toBe(Date.parse('2026-11-30T08:00:00.123Z'));
    for (const bad of ['2026-02-30T00:00:00Z', '2026-11-30T24:00:00Z', '2026-11-30T10:00:00', '2026-11-30', 'yesterday', ' 2026-11-30T10:00:00Z']) {
      expect(isoTimeMs(bad), bad).toBeUndefined();
    }
    expect(dayStart('2026-11-30')).toBe(Date.parse('2026-11-30T00:00:00Z'));
    expect(dayStart('2026-02-30')).toBeUndefined();
  });
});
