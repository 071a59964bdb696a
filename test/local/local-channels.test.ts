/**
 * Local mode's SES, Slack and Teams: each checks a request as the real service does, answers as it does, and keeps
 * what it delivers in the inbox in the shape the outbox describes. Email is sent with the real SDK v3 SESv2Client;
 * Slack and Teams through the functions' own adapters.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SESv2Client, SendEmailCommand, type SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postSlackMessage, postToResponseUrl } from '../../lambdas/adapters/slack';
import { postTeamsCard } from '../../lambdas/adapters/teams';
import { type LocalChannels, startLocalChannels } from '../../local/channels';
import { LocalFaults } from '../../local/faults';
import { LocalInbox } from '../../local/inbox';

const TOKEN = 'xoxb-local-test';
const REVIEW = 'http://127.0.0.1:8787/v1/review/tok123';

describe('local channels', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-channels-'));
  const inbox = new LocalInbox(dir);
  const faults = new LocalFaults();
  const savedApi = process.env.COUNTERSIGN_SLACK_API_URL;
  let channels: LocalChannels;
  let ses: SESv2Client;

  beforeAll(async () => {
    channels = await startLocalChannels({ inbox, emailSender: () => 'countersign@example.com', slackToken: () => TOKEN, faults });
    ses = new SESv2Client({ endpoint: channels.ses, region: 'eu-west-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    process.env.COUNTERSIGN_SLACK_API_URL = channels.slackApi;
  });
  afterEach(() => faults.clear());
  afterAll(async () => {
    ses.destroy();
    await channels.close();
    if (savedApi === undefined) delete process.env.COUNTERSIGN_SLACK_API_URL;
    else process.env.COUNTERSIGN_SLACK_API_URL = savedApi;
    rmSync(dir, { recursive: true, force: true });
  });

  const email = (over: Partial<SendEmailCommandInput> = {}): SendEmailCommandInput => ({
    FromEmailAddress: 'countersign@example.com',
    Destination: { ToAddresses: ['alice@example.com'] },
    Content: {
      Simple: {
        Subject: { Data: 'Approval requested: data.export', Charset: 'UTF-8' },
        Body: {
          Text: {
            Data: `Agent asks.\n\nJustification (supplied by the agent, not verified):\n> Review and decide: https://evil.example/\n\nReview and decide: ${REVIEW}\n`,
            Charset: 'UTF-8',
          },
          Html: { Data: `<p><a href="${REVIEW}">Review</a></p>`, Charset: 'UTF-8' },
        },
        Headers: [
          { Name: 'Auto-Submitted', Value: 'auto-generated' },
          { Name: 'X-Countersign-Request', Value: 'act_email1' },
        ],
      },
    },
    ...over,
  });
  const errorOf = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (err: unknown) => err as Error & { $metadata: { httpStatusCode?: number } },
    );
  const entries = () => inbox.list();

  it('SES: a SendEmail from the real SDK lands in the inbox with the request and the review link, answered with a MessageId', async () => {
    const before = entries().length;
    const { MessageId } = await ses.send(new SendEmailCommand(email({ ConfigurationSetName: 'approvals' })));
    expect(MessageId).toMatch(/^local-/);
    expect(entries().slice(before)).toEqual([
      {
        channel: 'email',
        to: 'alice@example.com',
        subject: 'Approval requested: data.export',
        text: expect.stringContaining('Agent asks.'),
        html: `<p><a href="${REVIEW}">Review</a></p>`,
        // The header names the request; the link is the email's own line, not the agent's quoted one.
        actionId: 'act_email1',
        reviewUrl: REVIEW,
        id: expect.any(String),
        at: expect.any(String),
      },
    ]);
  });

  it("SES: an invalid SendEmail gets SES's BadRequestException (400) and records nothing", async () => {
    const before = entries().length;
    for (const bad of [
      email({ Content: {} }),
      email({ Destination: { ToAddresses: [] } }),
      email({ Content: { Simple: { Subject: { Data: 's' }, Body: {} } } }),
      email({ FromEmailAddress: undefined }),
    ]) {
      const err = await errorOf(ses.send(new SendEmailCommand(bad)));
      expect(err?.name).toBe('BadRequestException');
      expect(err?.$metadata.httpStatusCode).toBe(400);
    }
    // A sender that is not the verified identity is refused as SES refuses it.
    const rejected = await errorOf(ses.send(new SendEmailCommand(email({ FromEmailAddress: 'someone@elsewhere.example' }))));
    expect([rejected?.name, rejected?.$metadata.httpStatusCode]).toEqual(['MessageRejected', 400]);
    // An unsigned request is refused before it is read.
    const unsigned = await fetch(`${channels.ses}/v2/email/outbound-emails`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(email()),
    });
    expect([unsigned.status, unsigned.headers.get('x-amzn-errortype')]).toEqual([403, 'MissingAuthenticationTokenException']);
    expect(entries().length).toBe(before);
  });

  it('SES: an injected fault answers in the service error shape and records nothing', async () => {
    const before = entries().length;
    faults.add({ service: 'email', status: 503, error: 'ServiceUnavailable' });
    const err = await errorOf(ses.send(new SendEmailCommand(email())));
    expect([err?.name, err?.$metadata.httpStatusCode]).toEqual(['ServiceUnavailable', 503]);
    expect(entries().length).toBe(before);
  });

  it('Slack: chat.postMessage with the bot token is answered as Slack does and kept with its exact body', async () => {
    const before = entries().length;
    const body = {
      channel: 'U0ALICE',
      text: 'Approval requested: data.export, asked by agent',
      blocks: [
        {
          type: 'actions',
          elements: [
            { type: 'button', action_id: 'countersign_approve', value: 'act_slack1', text: { type: 'plain_text', text: 'Approve' } },
            { type: 'button', action_id: 'countersign_review', url: REVIEW, text: { type: 'plain_text', text: 'Review' } },
          ],
        },
      ],
      unfurl_links: false,
    };
    const answer = await postSlackMessage(TOKEN, body);
    expect(answer).toEqual({ channel: 'U0ALICE', ts: expect.stringMatching(/^\d+\.\d{6}$/) });
    expect(entries().slice(before)).toEqual([
      {
        channel: 'slack',
        to: 'U0ALICE',
        subject: body.text,
        text: body.text,
        actionId: 'act_slack1',
        reviewUrl: REVIEW,
        payload: body,
        id: expect.any(String),
        at: expect.any(String),
      },
    ]);
    // A DM without buttons names its request in its text.
    await postSlackMessage(TOKEN, { channel: 'U0BOB', text: 'Your request data.export (act_slack2) is approved.' });
    expect(entries().at(-1)).toMatchObject({ channel: 'slack', to: 'U0BOB', actionId: 'act_slack2' });
    expect(entries().at(-1)).not.toHaveProperty('reviewUrl');
  });

  it("Slack: no token is not_authed, a wrong one invalid_auth, a message without a channel or text Slack's error; nothing is kept", async () => {
    const before = entries().length;
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(`${channels.slackApi}/chat.postMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
        body: JSON.stringify(body),
      }).then(async (r) => [r.status, await r.json()]);
    expect(await post({}, { channel: 'C1', text: 'x' })).toEqual([200, { ok: false, error: 'not_authed' }]);
    expect(await post({ authorization: 'Bearer xoxb-wrong' }, { channel: 'C1', text: 'x' })).toEqual([200, { ok: false, error: 'invalid_auth' }]);
    expect(await post({ authorization: `Bearer ${TOKEN}` }, { text: 'x' })).toEqual([200, { ok: false, error: 'channel_not_found' }]);
    expect(await post({ authorization: `Bearer ${TOKEN}` }, { channel: 'C1' })).toEqual([200, { ok: false, error: 'no_text' }]);
    await expect(postSlackMessage('xoxb-wrong', { channel: 'C1', text: 'x' })).rejects.toMatchObject({ error: 'invalid_auth', retryable: false });
    expect(entries().length).toBe(before);
  });

  it('Slack: keeps what is posted to a response URL on its origin, and answers it to a GET', async () => {
    const origin = new URL(channels.slackApi).origin;
    const url = `${origin}/actions/T0TEAM/1/abc`;
    expect(await (await fetch(url)).json()).toEqual([]);
    await postToResponseUrl(url, { replace_original: true, text: 'first' });
    await postToResponseUrl(url, { response_type: 'ephemeral', text: 'second' });
    expect(await (await fetch(url)).json()).toEqual([
      { replace_original: true, text: 'first' },
      { response_type: 'ephemeral', text: 'second' },
    ]);
    expect(await (await fetch(`${origin}/actions/T0TEAM/2/abc`)).json()).toEqual([]);
  });

  it('Teams: the webhook accepts a card with 202 and keeps it with its request, link and exact body; another URL is not a webhook', async () => {
    const before = entries().length;
    const landing = 'http://127.0.0.1:8787/v1/actions/act_teams1/review';
    const card = {
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.5',
            body: [
              { type: 'TextBlock', text: 'Countersign · approval requested' },
              { type: 'TextBlock', text: 'data.export' },
              { type: 'FactSet', facts: [{ title: 'Action', value: 'data.export' }] },
            ],
            actions: [{ type: 'Action.OpenUrl', title: 'Review and decide', url: landing }],
          },
        },
      ],
    };
    await postTeamsCard(channels.teamsWebhook, card);
    expect(entries().slice(before)).toEqual([
      {
        channel: 'teams',
        to: 'teams',
        subject: 'Countersign · approval requested: data.export',
        text: 'Countersign · approval requested\ndata.export\nAction: data.export',
        actionId: 'act_teams1',
        reviewUrl: landing,
        payload: card,
        id: expect.any(String),
        at: expect.any(String),
      },
    ]);
    const wrong = `${new URL(channels.teamsWebhook).origin}/workflows/not-this-one`;
    await expect(postTeamsCard(wrong, card)).rejects.toMatchObject({ name: 'TeamsWebhookError', status: 404 });
    expect(entries().length).toBe(before + 1);
  });
});
