/**
 * The functions' logs of a whole approval, end to end against local mode with Slack, email and OIDC configured and
 * every function at DEBUG (so every line the code can write at these steps is written): an agent asks with masked
 * parameters and a callback; one approver signs in with OIDC (a real OpenID provider, oidc-provider on 127.0.0.1) and
 * approves on her review link; the other approves from Slack; the requester's callback gets the signed outcome; the
 * first approver signs in to the console and out again. A forged Slack click and a bad review link are refused on the
 * way. Then everything local mode printed (the functions' stdout and stderr reach it as they are) is searched for
 * every secret, token, link, cookie, receipt and masked value the run used, and every line a function wrote is
 * checked: JSON, with level, message, function and AWS request id, and the request as correlation id where the
 * invocation is about it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetExecutionHistoryCommand, ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort, listen, serveProvider, throughProvider as signIn } from '../fixtures/oidc';
import { api, eventually, postSlackClick, type RunningCountersign, startCountersign } from './harness';

const AGENT_KEY = 'logs-agent-key-7Qe2';
const AUDIT_KEY = 'logs-audit-key-9Zp4';
const SLACK_BOT_TOKEN = 'xoxb-logs-test-bot-token-51c0ffee';
const SLACK_SIGNING_SECRET = 'logs-slack-signing-secret-0f1e2d3c4b5a';
const CLIENT_ID = 'countersign-logs';
const OIDC_CLIENT_SECRET = 'logs-oidc-client-secret-a81b27';
const MASKED_BY_PATH = 'Path-Masked-Password-90417';
const MASKED_BY_DETECTOR = 'Url-Masked-Password-33120';

const ACCOUNTS: Record<string, { email: string; email_verified: boolean }> = {
  'alice@example.com': { email: 'alice@example.com', email_verified: true },
};

/** The cookies a browser keeps, by origin and name (enough for two servers on 127.0.0.1 and Countersign's paths). */
class Browser {
  readonly jar = new Map<string, Map<string, string>>();

  async fetch(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url);
    const cookies = this.jar.get(target.origin) ?? new Map<string, string>();
    const cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const res = await fetch(target, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: { ...(cookie ? { cookie } : {}), ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0]!;
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      if (/max-age=0/i.test(line) || value === '') cookies.delete(name);
      else cookies.set(name, value);
    }
    this.jar.set(target.origin, cookies);
    return res;
  }
}

interface InboxMessage {
  channel: string;
  actionId: string;
  to: string;
  reviewUrl?: string;
}

type LogLine = Record<string, unknown>;

describe('the logs of a whole approval', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-logs-'));
  const providerServer = createServer();
  const callbackServer = createServer();
  const callbacks: string[] = [];
  /** Every secret value the run used, by what it is. */
  const secrets = new Map<string, string>([
    ['local API key (agent)', AGENT_KEY],
    ['local API key (auditor)', AUDIT_KEY],
    ['Slack bot token', SLACK_BOT_TOKEN],
    ['Slack signing secret', SLACK_SIGNING_SECRET],
    ['OIDC client secret', OIDC_CLIENT_SECRET],
    ['parameter masked by path', MASKED_BY_PATH],
    ['parameter masked by a detector', MASKED_BY_DETECTOR],
  ]);
  let cs: RunningCountersign;
  let output = '';
  let id = '';

  beforeAll(async () => {
    const port = await freePort();
    const csUrl = `http://127.0.0.1:${port}`;
    const issuer = `http://127.0.0.1:${await listen(providerServer)}`;
    await serveProvider(providerServer, issuer, {
      clientId: CLIENT_ID,
      clientSecret: OIDC_CLIENT_SECRET,
      redirectUri: `${csUrl}/v1/auth/callback`,
      accounts: ACCOUNTS,
      cookieKey: 'a-cookie-signing-key-for-the-logs-test',
    });
    callbackServer.on('request', (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => (callbacks.push(body), res.writeHead(204).end()));
    });
    const callbackUrl = `http://127.0.0.1:${await listen(callbackServer)}/hook`;

    const configFile = join(dir, 'countersign.yaml');
    writeFileSync(
      configFile,
      stringify({
        version: 1,
        groups: {
          owners: {
            members: [
              { id: 'alice@example.com', email: 'alice@example.com', slackUserId: 'U0ALICE' },
              { id: 'bob@example.com', email: 'bob@example.com', slackUserId: 'U0BOB' },
            ],
          },
        },
        rules: [{ name: 'rotate-pair', match: { action: 'db.rotate' }, effect: 'require_approval', approvers: ['owners'], minApprovals: 2, timeout: '1h' }],
        default: { effect: 'deny', reason: 'not covered' },
        auditors: ['audit@example.com'],
        mask: ['parameters.dbPassword'],
        channels: {
          email: { from: 'countersign@example.com' },
          slack: { botToken: 'env:SLACK_BOT_TOKEN', signingSecret: 'env:SLACK_SIGNING_SECRET', channel: 'C0APPROVALS' },
        },
        auth: { oidc: { issuer, clientId: CLIENT_ID, clientSecret: 'env:OIDC_CLIENT_SECRET' } },
        local: { apiKeys: { [AGENT_KEY]: 'arn:aws:iam::000000000000:role/agent', [AUDIT_KEY]: 'audit@example.com' } },
      }),
    );
    cs = await startCountersign({
      dataDir: join(dir, 'data'),
      configFile,
      port,
      env: {
        SLACK_BOT_TOKEN,
        SLACK_SIGNING_SECRET,
        OIDC_CLIENT_SECRET,
        // Every debug line too: they must leak nothing either.
        COUNTERSIGN_LOG_LEVEL: 'DEBUG',
      },
    });

    // The agent asks, with a password at a masked path, one inside a connection string, and a callback.
    const asked = await api(cs.url, 'POST', '/v1/actions', AGENT_KEY, {
      action: 'db.rotate',
      resource: 'arn:aws:rds:eu-west-1:123456789012:db:orders',
      parameters: { dbPassword: MASKED_BY_PATH, dsn: `postgres://app:${MASKED_BY_DETECTOR}@db.internal:5432/orders` },
      justification: 'rotate after the incident',
      callbackUrl,
    });
    expect(asked.status).toBe(202);
    id = asked.body.id;
    expect(JSON.stringify(asked.body)).not.toContain(MASKED_BY_PATH);
    expect(JSON.stringify(asked.body)).not.toContain(MASKED_BY_DETECTOR);
    const mails = await eventually(async () => {
      const mine = ((await api(cs.url, 'GET', '/_local/inbox.json')).body as InboxMessage[]).filter((m) => m.actionId === id && m.channel === 'email');
      return mine.length === 2 ? mine : undefined;
    });
    for (const mail of mails) {
      secrets.set(`review link (${mail.to})`, mail.reviewUrl!);
      secrets.set(`review token (${mail.to})`, mail.reviewUrl!.split('/v1/review/')[1]!);
    }

    // The step function's task token, as the local Step Functions engine recorded it.
    const sfn = new SFNClient({ endpoint: cs.endpoints.sfn, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    const [machine] = (await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? [];
    const execution = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine!.stateMachineArn }))).executions?.find((e) => e.name === id);
    const history = JSON.stringify((await sfn.send(new GetExecutionHistoryCommand({ executionArn: execution!.executionArn }))).events);
    const taskToken = /taskToken\\":\\"([^"\\]+)/.exec(history)?.[1];
    expect(taskToken).toMatch(/.{20,}/);
    secrets.set('task token', taskToken!);

    // A bad review link and a forged Slack click, refused.
    expect((await fetch(`${cs.url}/v1/review/not-a-token.${'A'.repeat(43)}`)).status).toBe(404);
    expect((await postSlackClick(cs.url, 'not-the-signing-secret', { user: 'U0BOB', requestId: id, actionId: 'countersign_approve' })).status).toBe(401);

    // Alice signs in with OIDC from the request, lands on her review page and approves there.
    const alice = new Browser();
    let location = (await alice.fetch(`${cs.url}/v1/auth/login?request=${id}`)).headers.get('location')!;
    location = await throughProvider(alice, location);
    const code = new URL(location).searchParams.get('code')!;
    secrets.set('OIDC authorization code', code);
    const landed = await alice.fetch(location);
    expect(landed.status).toBe(302);
    const reviewUrl = new URL(landed.headers.get('location')!, cs.url).href;
    secrets.set('review link (after sign-in)', reviewUrl);
    secrets.set('review token (after sign-in)', reviewUrl.split('/v1/review/')[1]!);
    const approved = await alice.fetch(reviewUrl, { method: 'POST', form: { decision: 'approve' } });
    expect(approved.status).toBe(200);
    expect(await approved.text()).toContain('Your decision (approve) is recorded');

    // Bob approves from Slack: the request settles.
    const clicked = await postSlackClick(cs.url, SLACK_SIGNING_SECRET, { user: 'U0BOB', requestId: id, actionId: 'countersign_approve' });
    expect(clicked.status).toBe(200);
    const sent = await eventually(async () => callbacks.find((body) => body.includes(id)));
    const receipt = JSON.parse(sent).receipt as string;
    expect(receipt).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    secrets.set('receipt', receipt);
    secrets.set('receipt signature', receipt.split('.')[2]!);
    expect((await api(cs.url, 'GET', `/v1/actions/${id}`, AGENT_KEY)).body).toMatchObject({ status: 'approved', receipt });

    // Alice signs in to the console, reads the request, and signs out (CSRF-checked).
    location = (await alice.fetch(`${cs.url}/v1/auth/login?to=console`)).headers.get('location')!;
    location = await throughProvider(alice, location);
    expect((await alice.fetch(location)).status).toBe(302);
    const page = await alice.fetch(`${cs.url}/console/requests/${id}`);
    const html = await page.text();
    expect(page.status, html).toBe(200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    secrets.set('CSRF token', csrf);
    for (const [name, value] of alice.jar.get(cs.url) ?? []) secrets.set(`cookie ${name}`, value);
    expect(secrets.has('cookie cs_console')).toBe(true);
    expect((await alice.fetch(`${cs.url}/console/sign-out`, { method: 'POST', form: { csrf } })).status).toBe(303);

    // Stopped, so everything the functions wrote is in.
    await cs.stop();
    output = cs.output();
    (await import('node:fs')).writeFileSync('/tmp/logs-output.txt', output);
  }, 120_000);

  afterAll(async () => {
    if (cs?.child.exitCode === null) await cs.stop();
    await new Promise((resolve) => providerServer.close(resolve));
    await new Promise((resolve) => callbackServer.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Through the provider's dev sign-in and consent as alice; answers the URL it sends the browser back to Countersign with. */
  const throughProvider = (browser: Browser, start: string): Promise<string> => signIn(browser, start, 'alice@example.com', `${cs.url}/v1/auth/callback`);

  /** The JSON lines local mode printed; the rest is its own text. */
  const jsonLines = (): LogLine[] =>
    output
      .split('\n')
      .filter((line) => line.trimStart().startsWith('{'))
      .map((line) => {
        try {
          return JSON.parse(line) as LogLine;
        } catch {
          throw new Error(`a line starting like JSON is not JSON: ${line}`);
        }
      });
  /** The functions' log lines (EMF metric lines, `_aws`, are not log lines). */
  const logLines = () => jsonLines().filter((line) => !('_aws' in line));

  it('holds no secret, token, review link, cookie, CSRF token, receipt or masked value', () => {
    expect(secrets.size).toBeGreaterThanOrEqual(17);
    for (const [what, value] of secrets) expect(output.includes(value), `${what} is in the output`).toBe(false);
  });

  it('is JSON from the one logger on every line a function wrote: level, message, function and AWS request id', () => {
    const lines = logLines();
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      expect(line, JSON.stringify(line)).toMatchObject({
        service: 'countersign',
        level: expect.stringMatching(/^(TRACE|DEBUG|INFO|WARN|ERROR|CRITICAL)$/),
        message: expect.any(String),
        timestamp: expect.any(String),
        function_name: expect.stringMatching(/^Countersign\w+/),
        function_request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(line).not.toHaveProperty('msg');
    }
  });

  it('carries the request as correlation id on every line of an invocation about it, across the functions', () => {
    const lines = logLines();
    const mine = lines.filter((line) => line.correlation_id === id);
    const fn = (line: LogLine) => String(line.function_name).replace(/^Countersign([A-Za-z]+?)[0-9A-F]{8}$/, '$1');
    expect(new Set(mine.map(fn))).toEqual(new Set(['Intake', 'Notifier', 'Decision', 'Finalizer', 'Console']));
    const said = mine.map((line) => [fn(line), line.message, line.via ?? line.status ?? '']);
    for (const expected of [
      ['Intake', 'action requested', 'pending'],
      ['Notifier', 'approvers notified', ''],
      ['Decision', 'vote recorded', 'review_link'],
      ['Decision', 'vote recorded', 'slack'],
      ['Finalizer', 'outcome recorded', 'approved'],
      ['Finalizer', 'requester told', 'approved'],
    ]) {
      expect(said).toContainEqual(expected);
    }
    // Every line of an invocation that was about the request carries it, not only some.
    const invocations = new Set(mine.map((line) => line.function_request_id));
    for (const line of lines.filter((l) => invocations.has(l.function_request_id))) expect(line.correlation_id, JSON.stringify(line)).toBe(id);
    // The workflow's tasks are always about one request; so is every API route with a request id in its path.
    for (const line of lines) {
      if (/Notifier|Finalizer/.test(String(line.function_name)) || /\{id\}/.test(String(line.route ?? ''))) {
        expect(line.correlation_id, JSON.stringify(line)).toMatch(/^act_/);
      }
    }
    // The refused Slack click and bad link: no request id to trust, so none.
    const refused = lines.filter((line) => line.message === 'review link refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).not.toHaveProperty('correlation_id');
  });
});
