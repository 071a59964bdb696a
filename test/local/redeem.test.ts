/**
 * One-time redemption end to end against local mode (the run's shared instance, default policy): approve, take the
 * receipt as the requester, redeem it five times at once (exactly one 200, four 409 already_redeemed naming when and
 * by whom), refuse receipts for another request, altered receipts and other parameters, answer odd bodies with
 * clean 4xx, and the chain and a sealed export of the window still verify with the `executed` record in it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Countersign, CountersignApiError, parametersCommitmentFor } from '../../client/index';
import { verifyReceipt } from '../../lambdas/core/receipt';
import { runCliInProcess } from '../fixtures/cli';
import { api, sharedCountersign, verifiedChain } from './harness';

const countersign = sharedCountersign();
const AGENT = 'demo-agent-key';
const AGENT_ROLE = 'arn:aws:iam::000000000000:role/demo-agent';
const started = new Date(Date.now() - 1000).toISOString();
const run = Math.random().toString(36).slice(2, 10);
let publicKeyPem: string;
let work: string;

/** An `infra.*` request (rule infra-changes: one approval from platform or data-owners), approved by alice. */
async function approved(parameters: Record<string, unknown> = { change: 'add-subnet' }): Promise<{ id: string; receipt: string }> {
  const asked = await api(countersign.url, 'POST', '/v1/actions', AGENT, { action: 'infra.apply', resource: `vpc-${run}`, parameters });
  expect(asked.status).toBe(202);
  const id = asked.body.id as string;
  expect((await api(countersign.url, 'POST', `/v1/actions/${id}/decision`, 'alice-key', { decision: 'approve' })).status).toBe(200);
  const read = await api(countersign.url, 'GET', `/v1/actions/${id}`, AGENT);
  expect(read.body).toMatchObject({ status: 'approved' });
  return { id, receipt: read.body.receipt as string };
}

const redeem = (id: string, body: unknown, key = AGENT) => api(countersign.url, 'POST', `/v1/actions/${id}/redeem`, key, body);
const claimsOf = (receipt: string) => JSON.parse(Buffer.from(receipt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

beforeAll(async () => {
  publicKeyPem = await (await fetch(`${countersign.url}/v1/audit/public-key`, { headers: { authorization: `Bearer ${AGENT}` } })).text();
  work = mkdtempSync(join(tmpdir(), 'cs-redeem-'));
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('POST /v1/actions/{id}/redeem', () => {
  it('lets exactly one of five concurrent redemptions through; the others are 409 already_redeemed, naming when and by whom', async () => {
    const { id, receipt } = await approved();
    const { paramsHmac } = claimsOf(receipt);
    const answers = await Promise.all(Array.from({ length: 5 }, () => redeem(id, { receipt, parametersCommitment: paramsHmac })));
    const won = answers.filter((a) => a.status === 200);
    expect(won, JSON.stringify(answers)).toHaveLength(1);
    const { redeemedAt, redeemedBy } = won[0]!.body;
    expect(won[0]!.body).toEqual({ id, redeemedAt: expect.any(String), redeemedBy: AGENT_ROLE });
    const lost = answers.filter((a) => a.status !== 200);
    expect(lost.map((a) => a.status)).toEqual([409, 409, 409, 409]);
    for (const answer of lost) {
      expect(answer.body.error).toEqual({
        code: 'already_redeemed',
        message: `the approval was already redeemed at ${redeemedAt} by ${redeemedBy}`,
        details: [
          { path: 'redeemedAt', message: redeemedAt },
          { path: 'redeemedBy', message: redeemedBy },
        ],
      });
    }
    // Later, too: at most once means every further redemption is refused.
    expect((await redeem(id, { receipt })).body.error.code).toBe('already_redeemed');

    const trail = await api(countersign.url, 'GET', `/v1/actions/${id}/audit`, AGENT);
    const executed = (trail.body as Array<{ type: string; at: string; actor: string; data: Record<string, unknown> }>).filter((r) => r.type === 'executed');
    expect(executed).toHaveLength(1);
    expect(executed[0]).toMatchObject({ at: redeemedAt, actor: AGENT_ROLE, data: { redeemer: AGENT_ROLE, parametersCommitment: paramsHmac } });
    // Every reader sees that it was redeemed, and when and by whom.
    for (const key of [AGENT, 'alice-key', 'audit-key']) {
      expect((await api(countersign.url, 'GET', `/v1/actions/${id}`, key)).body).toMatchObject({ status: 'approved', redeemedAt, redeemedBy });
    }
    const verification = await verifiedChain(countersign.url, id, AGENT, publicKeyPem);
    expect(verification.ok, JSON.stringify(verification)).toBe(true);
  });

  it('refuses a receipt for another request, an altered one, one with other parameters, and anyone but the requester; recording nothing', async () => {
    const { id, receipt } = await approved({ change: 'one' });
    const other = await approved({ change: 'two' });
    const length = async () => (await api(countersign.url, 'GET', `/v1/actions/${id}/audit`, AGENT)).body.length as number;
    const before = await length();

    const foreign = await redeem(id, { receipt: other.receipt });
    expect(foreign).toMatchObject({ status: 409, body: { error: { code: 'receipt_mismatch' } } });
    expect(foreign.body.error.message).toBe(`the receipt is for request ${other.id}, not ${id}`);

    // The other request's claims under this receipt's signature: it no longer verifies.
    const [header, , signature] = receipt.split('.');
    const altered = `${header}.${Buffer.from(JSON.stringify({ ...claimsOf(receipt), sub: other.id })).toString('base64url')}.${signature}`;
    expect(await redeem(other.id, { receipt: altered })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', details: [{ path: 'receipt', message: 'bad_signature' }] } },
    });
    const flipped = `${receipt.slice(0, -2)}${receipt.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await redeem(id, { receipt: flipped })).status).toBe(400);

    expect(await redeem(id, { receipt, parametersCommitment: claimsOf(other.receipt).paramsHmac })).toMatchObject({
      status: 409,
      body: { error: { code: 'parameters_mismatch', details: [{ path: 'parametersCommitment', message: 'does not match the receipt' }] } },
    });
    expect((await redeem(id, { receipt }, 'alice-key')).body.error.code).toBe('forbidden');
    expect((await redeem(id, { receipt }, 'audit-key')).body.error.code).toBe('forbidden');
    expect((await redeem(id, { receipt }, 'dave-key')).status).toBe(403); // dave approves infra.*: an approver, not the requester
    expect((await redeem('act_doesnotexist', { receipt })).body.error.code).toBe('not_found');
    expect(await length()).toBe(before);

    // Still redeemable by its requester after every refusal, once.
    expect((await redeem(id, { receipt })).status).toBe(200);
    expect(verifyReceipt(receipt, publicKeyPem).sub).toBe(id);
  });

  it('redeems a receipt policy issued at once', async () => {
    const asked = await api(countersign.url, 'POST', '/v1/actions', AGENT, { action: 'reports.read', resource: `warehouse-${run}` });
    expect(asked.body).toMatchObject({ status: 'approved', decidedBy: 'policy' });
    expect((await redeem(asked.body.id, { receipt: asked.body.receipt })).status).toBe(200);
    expect((await redeem(asked.body.id, { receipt: asked.body.receipt })).status).toBe(409);
  });

  it('answers odd bodies with clean 4xx in the error envelope, never a 5xx', async () => {
    const { id, receipt } = await approved({ change: 'odd' });
    const raw = (body: string, contentType = 'application/json') =>
      fetch(`${countersign.url}/v1/actions/${id}/redeem`, {
        method: 'POST',
        headers: { authorization: `Bearer ${AGENT}`, 'content-type': contentType },
        body,
      });
    const cases: Array<[string, string, number, string?]> = [
      ['not json', '{', 400],
      ['empty', '', 400],
      ['array', '[]', 400],
      ['null', 'null', 400],
      ['no receipt', '{}', 400],
      ['number receipt', '{"receipt": 1}', 400],
      ['unknown field', `{"receipt": ${JSON.stringify(receipt)}, "extra": 1}`, 400],
      ['repeated key', `{"receipt": "x", "receipt": ${JSON.stringify(receipt)}}`, 400],
      ['unpaired surrogate', '{"receipt": "\\ud835"}', 400],
      ['upper-case commitment', `{"receipt": ${JSON.stringify(receipt)}, "parametersCommitment": "${'A'.repeat(64)}"}`, 400],
      ['two dots only', '{"receipt": ".."}', 400],
      ['a JWS with alg none', `{"receipt": "${Buffer.from('{"alg":"none"}').toString('base64url')}.e30."}`, 400],
      ['huge receipt', JSON.stringify({ receipt: 'a'.repeat(70_000) }), 400],
      ['over 256 KiB', JSON.stringify({ receipt: 'a'.repeat(300 * 1024) }), 413],
      ['form body', 'receipt=x', 415, 'application/x-www-form-urlencoded'],
    ];
    for (const [name, body, status, contentType] of cases) {
      const res = await raw(body, contentType);
      const json = (await res.json()) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
      expect(res.status, name).toBe(status);
      expect(typeof json.error?.code, name).toBe('string');
      expect(Array.isArray(json.error?.details), name).toBe(true);
    }
    expect((await fetch(`${countersign.url}/v1/actions/${id}/redeem`, { method: 'POST', body: '{}' })).status).toBe(401);
    // None of that redeemed anything.
    expect((await redeem(id, { receipt })).status).toBe(200);
  });

  it('the TypeScript client redeems once, binding the parameters it is about to run', async () => {
    const parameters = { change: 'client', subnets: [1, 2] };
    const { id, receipt } = await approved(parameters);
    expect(parametersCommitmentFor(receipt, parameters)).toBe(claimsOf(receipt).paramsHmac);
    const agent = new Countersign({ url: countersign.url, apiKey: AGENT });
    const wrong = await agent.redeem(id, receipt, { parameters: { ...parameters, subnets: [1, 2, 3] } }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(CountersignApiError);
    expect(wrong).toMatchObject({ status: 409, code: 'parameters_mismatch' });
    const settled = await Promise.allSettled([1, 2, 3].map(() => agent.redeem(id, receipt, { parameters })));
    const won = settled.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect((won[0] as PromiseFulfilledResult<{ redeemedBy: string }>).value).toMatchObject({ id, redeemedBy: AGENT_ROLE });
    for (const lost of settled.filter((r) => r.status === 'rejected')) {
      expect((lost as PromiseRejectedResult).reason).toMatchObject({ status: 409, code: 'already_redeemed' });
    }
  });

  it('`countersign receipt verify --redeem` exits 0 for the first redemption only, and 1 after, naming who redeemed', async () => {
    const parameters = { change: 'cli' };
    const { id, receipt } = await approved(parameters);
    const params = join(work, 'params.json');
    writeFileSync(params, JSON.stringify(parameters));
    const other = join(work, 'other.json');
    writeFileSync(other, JSON.stringify({ change: 'something else' }));
    const env = { COUNTERSIGN_URL: countersign.url, COUNTERSIGN_API_KEY: AGENT };
    const cli = (...args: string[]) => runCliInProcess(['receipt', 'verify', receipt, '--action', 'infra.apply', ...args], { env });
    // Other parameters fail offline, before anything is redeemed.
    expect((await cli('--parameters', other, '--redeem')).code).toBe(1);
    const first = await cli('--parameters', params, '--redeem');
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`redeemed +.* by ${AGENT_ROLE.replace(/[/:]/g, '.')} \\(its first redemption\\)`));
    const again = await cli('--parameters', params, '--redeem', '--json');
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: false, claims: { sub: id }, error: { code: 'already_redeemed' } });
    expect(JSON.parse(again.stdout).error.message).toContain(`by ${AGENT_ROLE}`);
    // Without --redeem it still only verifies.
    expect((await cli('--parameters', params)).code).toBe(0);
    // Someone else's key: the API refuses (403), which is exit 3, not "redeemed".
    const approver = await runCliInProcess(['receipt', 'verify', receipt, '--redeem'], { env: { ...env, COUNTERSIGN_API_KEY: 'alice-key' } });
    expect(approver.code).toBe(3);
  });

  it('`countersign run` redeems by default: the command runs for the first redemption only, a rerun with the same key exits 8 and runs nothing', async () => {
    const env = { COUNTERSIGN_URL: countersign.url, COUNTERSIGN_API_KEY: AGENT };
    const key = `redeem-run-${run}`;
    const runOnce = (file: string, ...flags: string[]) =>
      runCliInProcess(
        [
          'run',
          '--action',
          'reports.read',
          '--resource',
          `warehouse-run-${run}`,
          '--parameters',
          '{"rows": 10}',
          '--idempotency-key',
          key,
          ...flags,
          '--',
          process.execPath,
          '-e',
          `require('fs').writeFileSync(${JSON.stringify(file)}, 'ran')`,
        ],
        { env },
      );
    const first = join(work, 'first');
    const ran = await runOnce(first);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).toMatch(/approved by policy \(rule read-only\), redeemed; running/);
    expect(existsSync(first)).toBe(true);
    const id = /(act_[A-Za-z0-9_-]+) approved/.exec(ran.stderr)![1]!;
    const trail = (await api(countersign.url, 'GET', `/v1/actions/${id}/audit`, AGENT)).body as Array<{ type: string; data: Record<string, unknown> }>;
    // Bound to the parameters it ran with.
    expect(trail.find((r) => r.type === 'executed')?.data.parametersCommitment).toBe(trail.find((r) => r.type === 'requested')?.data.parametersCommitment);
    const second = join(work, 'second');
    const again = await runOnce(second);
    expect(again.code, again.stderr).toBe(8);
    expect(again.stderr).toMatch(
      /was not redeemed \(already_redeemed: the approval was already redeemed at .* by arn:aws:iam::000000000000:role\/demo-agent\); \S*node did not run/,
    );
    expect(existsSync(second)).toBe(false);
    // --redeem, the old opt-in, is still accepted.
    const json = await runOnce(join(work, 'third'), '--redeem', '--json');
    expect(json.code).toBe(8);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, status: 'approved', error: { code: 'already_redeemed' } });
    // --no-redeem runs on the approval alone, and says so.
    const unredeemed = join(work, 'unredeemed');
    const opted = await runOnce(unredeemed, '--no-redeem');
    expect(opted.code, opted.stderr).toBe(0);
    expect(opted.stderr).toContain(`${id} approved by policy (rule read-only), not redeemed (--no-redeem); running`);
    expect(existsSync(unredeemed)).toBe(true);
    expect((await runOnce(join(work, 'both'), '--redeem', '--no-redeem')).code).toBe(2);
  });

  it("the client's runIfApproved redeems before running: of two copies holding one approval, exactly one runs", async () => {
    const agent = new Countersign({ url: countersign.url, apiKey: AGENT });
    const request = { action: 'reports.read', resource: `warehouse-helper-${run}`, parameters: { rows: 5 } };
    const ran: number[] = [];
    const copies = await Promise.all(
      [1, 2].map((copy) => agent.runIfApproved(request, () => ran.push(copy), { idempotencyKey: `helper-${run}`, timeoutMs: 20_000 })),
    );
    expect(ran).toHaveLength(1);
    const [won] = copies.filter((c) => c.ran);
    const [lost] = copies.filter((c) => !c.ran);
    expect(won).toMatchObject({ ran: true, outcome: { status: 'approved' }, redemption: { redeemedBy: AGENT_ROLE }, result: 1 });
    expect(lost).toMatchObject({ ran: false, outcome: { status: 'approved' }, refused: { status: 409, code: 'already_redeemed' } });
    // Not approved: not run, nothing redeemed.
    const denied = await agent.runIfApproved({ action: 'db.drop_table', environment: 'production', resource: `t-${run}` }, () => ran.push(3));
    expect(denied).toMatchObject({ ran: false, outcome: { status: 'denied' } });
    expect(ran).toHaveLength(1);
    // redeem: false runs on the approval alone.
    const unredeemed = await agent.runIfApproved(request, () => 'ran again', { idempotencyKey: `helper-${run}`, redeem: false });
    expect(unredeemed).toEqual({ ran: true, outcome: expect.objectContaining({ status: 'approved' }), result: 'ran again' });
  });

  it('leaves a sealed export of the window that `countersign audit verify` accepts, executed records and all', async () => {
    const file = join(work, 'ledger.jsonl');
    const pem = join(work, 'ledger.pem');
    writeFileSync(pem, publicKeyPem);
    const env = { COUNTERSIGN_URL: countersign.url, COUNTERSIGN_API_KEY: 'audit-key' };
    const exported = await runCliInProcess(['audit', 'export', '--since', started, '--out', file], { env });
    expect(exported.code, exported.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('"type":"executed"');
    const verified = await runCliInProcess(['audit', 'verify', '--file', file, '--public-key', pem], { env });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });
});
