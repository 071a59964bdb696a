/**
 * Grants end to end in local mode. From the command line: an approver runs `countersign approve <id> --for 1h`, the
 * next matching request of the same requester is approved at once (naming the grant), `countersign grants --json`
 * lists the grant, `countersign grants revoke <id> --reason …` ends it, and the next matching request is asked again.
 * From the approval email: it says the review page can approve for a while, and the review page's form does. From
 * Slack: the message's "Approve for" button does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCliInProcess } from '../fixtures/cli';
import { GRANT_AGENT_KEY, grantPolicy } from '../fixtures/grant-policy';
import { api, eventually, postSlackClick, type RunningCountersign, startCountersign } from './harness';

const AGENT = GRANT_AGENT_KEY;
const SIGNING_SECRET = 'grants-signing-secret-0123456789abcdef';
const config = grantPolicy({
  email: { from: 'countersign@example.com' },
  slack: { botToken: 'env:SLACK_BOT_TOKEN', signingSecret: 'env:SLACK_SIGNING_SECRET', channel: 'C0APPROVALS' },
});

const dir = mkdtempSync(join(tmpdir(), 'cs-cli-grants-'));
let cs: RunningCountersign;

const countersign = async (args: readonly string[], apiKey = AGENT) => {
  const run = await runCliInProcess(args, { env: { COUNTERSIGN_URL: cs.url, COUNTERSIGN_API_KEY: apiKey } });
  return { ...run, json: () => JSON.parse(run.stdout) };
};
const ask = (resource: string) => countersign(['request', '--action', 'db.migrate', '--resource', resource, '--json']);

beforeAll(async () => {
  const configFile = join(dir, 'countersign.yaml');
  writeFileSync(configFile, stringify(config));
  cs = await startCountersign({ dataDir: join(dir, 'data'), configFile, env: { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: SIGNING_SECRET } });
});

afterAll(async () => {
  await cs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('approving for a while from the command line', () => {
  it('approve --for grants; matching requests are approved at once until the grant is revoked', async () => {
    const first = await ask('orders');
    expect(first.code).toBe(0);
    expect(first.json().status).toBe('pending');
    const firstId: string = first.json().id;

    // Longer than the rule's maxFor: the server refuses, and the CLI says so without a stack trace.
    const tooLong = await countersign(['approve', firstId, '--for', '1d'], 'alice-key');
    expect(tooLong.code).toBe(3);
    expect(tooLong.stderr).toMatch(/^countersign approve: invalid_request: rule migrations grants for at least 1 minute and at most 8 hours/);

    const approved = await countersign(['approve', firstId, '--for', '1h', '--reason', 'migration window', '--json'], 'alice-key');
    expect(approved.code).toBe(0);
    const grant = approved.json().request.grant as { id: string; until: string };
    expect(grant.id).toMatch(/^grt_/);
    expect(approved.json().status).toBe('approved');

    // The same requester, action and resource: approved at once, naming the grant.
    const second = await ask('orders');
    expect(second.json().status).toBe('approved');
    expect(second.json().request).toMatchObject({ decidedBy: 'grant', grantedBy: { grant: grant.id, request: firstId } });
    expect(second.json().receipt).toEqual(expect.any(String));
    const shown = await countersign(['status', second.json().id]);
    expect(shown.stdout).toContain(`by a grant (${grant.id}, made by the approval of ${firstId})`);

    // Another resource is outside the grant's scope: asked as usual.
    expect((await ask('customers')).json().status).toBe('pending');

    const listed = await countersign(['grants', '--json'], 'alice-key');
    expect(listed.code).toBe(0);
    expect(listed.json().grants).toEqual([
      expect.objectContaining({
        id: grant.id,
        status: 'active',
        rule: 'migrations',
        requestId: firstId,
        approvers: ['alice@example.com'],
        until: grant.until,
        scope: expect.objectContaining({ action: 'db.migrate', resource: 'orders' }),
      }),
    ]);
    const table = await countersign(['grants'], 'alice-key');
    expect(table.stdout).toContain(grant.id);

    const noReason = await countersign(['grants', 'revoke', grant.id], 'alice-key');
    expect(noReason.code).toBe(2);
    const revoked = await countersign(['grants', 'revoke', grant.id, '--reason', 'window closed early', '--json'], 'alice-key');
    expect(revoked.code).toBe(0);
    expect(revoked.json().grant).toMatchObject({ id: grant.id, status: 'revoked', revokedBy: 'alice@example.com', revokeReason: 'window closed early' });

    // Revoked: the next matching request is asked again, and the active list is empty.
    const third = await ask('orders');
    expect(third.json().status).toBe('pending');
    expect(third.json().request.grantedBy).toBeUndefined();
    expect((await countersign(['grants', '--json'], 'alice-key')).json().grants).toEqual([]);
    const all = await countersign(['grants', '--all', '--json'], 'alice-key');
    expect(all.json().grants).toEqual([expect.objectContaining({ id: grant.id, status: 'revoked' })]);
  });
});

describe('approving for a while from the approval email', () => {
  it("the email says so, and the review page's form with for=1h makes a grant that approves the next request at once", async () => {
    const first = (await ask('invoices')).json();
    const mail = await eventually(async () => {
      const inbox = (await api(cs.url, 'GET', '/_local/inbox.json')).body as Array<{ channel: string; actionId: string; text: string; reviewUrl?: string }>;
      return inbox.find((m) => m.channel === 'email' && m.actionId === first.id && m.reviewUrl);
    });
    expect(mail.text).toContain('On the review page you may approve for a while, up to 8 hours, instead of this call only');
    const page = await (await fetch(mail.reviewUrl!)).text();
    expect(page).toContain('<option value="" selected>this call only</option><option value="1h">1 hour</option><option value="8h">8 hours</option>');

    // A field sent twice (which length, which decision?) is refused, as the console refuses it, and records nothing.
    const post = (body: string) => fetch(mail.reviewUrl!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    for (const body of ['decision=approve&for=1h&for=8h', 'decision=deny&decision=approve', `decision=approve&reason=${'x'.repeat(17 * 1024)}`]) {
      const refused = await post(body);
      expect(refused.status, body.slice(0, 40)).toBe(body.length > 16 * 1024 ? 413 : 400);
      expect(await refused.text()).toContain('nothing was changed');
    }
    const trail = (await api(cs.url, 'GET', `/v1/actions/${first.id}/audit`, 'alice-key')).body as Array<{ type: string }>;
    expect(trail.some((r) => r.type === 'voted')).toBe(false);

    const posted = await post('decision=approve&for=1h&reason=invoice+run');
    expect(posted.status).toBe(200);
    const answer = await posted.text();
    expect(answer).toContain('Your decision (approve for 1h) is recorded. The request is approved.');
    expect(answer).toContain('data-testid="grant-made"');

    const second = (await ask('invoices')).json();
    expect(second.status).toBe('approved');
    expect(second.request.grantedBy).toEqual({ grant: expect.stringMatching(/^grt_/), request: first.id });
  });
});

describe('approving for a while from Slack', () => {
  it('the message offers Approve for 1 hour and 8 hours; pressing one makes a grant that approves the next request at once', async () => {
    const first = (await ask('ledgers')).json();
    const posted = await eventually(async () => {
      const inbox = (await api(cs.url, 'GET', '/_local/inbox.json')).body as Array<{ channel: string; actionId: string; payload?: any }>;
      return inbox.find((m) => m.channel === 'slack' && m.actionId === first.id);
    });
    const buttons = posted.payload.blocks.find((b: { type: string }) => b.type === 'actions').elements as Array<{
      action_id: string;
      value?: string;
      text: { text: string };
    }>;
    expect(buttons.map((b) => b.text.text)).toEqual(['Approve', 'Approve for 1 hour', 'Approve for 8 hours', 'Deny', 'Review']);
    const forEight = buttons.find((b) => b.text.text === 'Approve for 8 hours')!;
    const pressed = await postSlackClick(cs.url, SIGNING_SECRET, { user: 'U0ALICE', requestId: forEight.value!, actionId: forEight.action_id });
    expect(pressed.status).toBe(200);
    const approved = (await countersign(['status', first.id, '--json'])).json();
    expect(approved.status).toBe('approved');
    expect(approved.request.votes).toEqual([expect.objectContaining({ approver: 'alice@example.com', decision: 'approve' })]);
    const grant = approved.request.grant as { id: string; until: string };
    expect(Date.parse(grant.until) - Date.parse(approved.request.decidedAt)).toBe(8 * 3600 * 1000);

    const second = (await ask('ledgers')).json();
    expect(second.request).toMatchObject({ status: 'approved', decidedBy: 'grant', grantedBy: { grant: grant.id, request: first.id } });
  });
});
