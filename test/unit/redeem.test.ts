/**
 * One-time redemption: `decideRedemption` on chains (who may redeem, which receipt, at most once), the redeem body's
 * schema, and the use case with every port in memory, concurrent redemptions included.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { askForAction } from '../../lambdas/app/ask';
import { finalizeRequest, lapseApproval, RedeemWindowOpenError } from '../../lambdas/app/finalize';
import { readAction } from '../../lambdas/app/read';
import { redeemBodySchema, redeemReceipt } from '../../lambdas/app/redeem';
import { castVote } from '../../lambdas/app/vote';
import {
  decideIntake,
  decideLapse,
  decideRedemption,
  decideVote,
  deriveState,
  LAPSE_REASON,
  publicView,
  type RedemptionAsk,
  redeemDeadline,
  statusOf,
} from '../../lambdas/core/approval';
import type { Config } from '../../lambdas/core/config';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { CountersignError } from '../../lambdas/core/errors';
import { IdentityDirectory } from '../../lambdas/core/identity';
import { verifyChain } from '../../lambdas/core/ledger-record';
import { policyDecidedData } from '../../lambdas/core/policy';
import { type ReceiptClaims, signReceipt, verifyReceipt } from '../../lambdas/core/receipt';
import { executedDataSchema } from '../../lambdas/core/records';
import { type MemoryPorts, memoryPorts, memorySigner } from '../fixtures/memory-ports';
import { apply, CHAIN_AT, settle } from '../fixtures/unsigned-chain';

const NOW = new Date('2026-01-01T00:00:00Z');
const directory = new IdentityDirectory([]);
const COMMITMENT = 'c'.repeat(64);

const intake = {
  requester: 'arn:aws:iam::111122223333:role/agent',
  request: { action: 'data.export' },
  bodyCommitment: 'b1',
  parametersCommitment: COMMITMENT,
  masked: [],
  policy: { rule: 'exports', effect: 'require_approval' as const, requiredApprovals: 1, approvers: ['alice'], expiresAt: '2026-01-01T01:00:00Z' },
};
const pending = () => settle([], (c) => decideIntake(c, intake));
const approved = () =>
  settle(pending(), (c) => decideVote(c, { approver: 'alice', via: 'decision_api', signedIn: true }, { decision: 'approve' }, NOW, directory));
const claims = (over: Partial<ReceiptClaims> = {}): ReceiptClaims => ({
  iss: 'countersign',
  sub: 'act_1',
  action: 'data.export',
  paramsHmac: COMMITMENT,
  paramsSalt: 'A'.repeat(43),
  requester: intake.requester,
  approvers: ['alice'],
  decidedBy: 'approvers',
  rule: 'exports',
  iat: 1,
  exp: 2,
  ...over,
});
const ask = (over: Partial<RedemptionAsk> = {}): RedemptionAsk => ({
  redeemer: intake.requester,
  redemptionId: 'rdm_1',
  claims: claims(),
  receiptSha256: 'r'.repeat(64),
  ...over,
  now: over.now ?? NOW,
});
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof CountersignError) return { code: err.code, message: err.message, details: err.details };
    throw err;
  }
  return undefined;
};

describe('decideRedemption', () => {
  it('appends one executed record for the requester, and exposes the redemption in the state', () => {
    const events = decideRedemption(approved(), ask(), directory);
    expect(events).toEqual([
      {
        type: 'executed',
        actor: intake.requester,
        data: { redeemer: intake.requester, redemptionId: 'rdm_1', receiptSha256: 'r'.repeat(64), parametersCommitment: COMMITMENT },
      },
    ]);
    expect(executedDataSchema.safeParse(events[0]!.data).success).toBe(true);
    const state = deriveState(apply(approved(), events))!;
    expect(state.redemption).toEqual({
      id: 'rdm_1',
      at: NOW.toISOString(),
      by: intake.requester,
      receiptSha256: 'r'.repeat(64),
      parametersCommitment: COMMITMENT,
    });
    expect(state.outcome?.status).toBe('approved'); // redemption is no outcome
    expect(publicView(state)).toMatchObject({ status: 'approved', redeemedAt: NOW.toISOString(), redeemedBy: intake.requester });
    expect(publicView(deriveState(approved())!)).not.toHaveProperty('redeemedAt');
  });

  it('accepts a matching parametersCommitment and any session of the requesting role', () => {
    const role = 'arn:aws:iam::111122223333:role/agent';
    const chain = settle([], (c) => decideIntake(c, { ...intake, requester: `arn:aws:sts::111122223333:assumed-role/agent/run-1` }));
    const ok = settle(chain, (c) => decideVote(c, { approver: 'alice', via: 'decision_api', signedIn: true }, { decision: 'approve' }, NOW, directory));
    const other = 'arn:aws:sts::111122223333:assumed-role/agent/run-2';
    const c = claims({ requester: `arn:aws:sts::111122223333:assumed-role/agent/run-1` });
    expect(decideRedemption(ok, ask({ redeemer: other, claims: c, parametersCommitment: COMMITMENT }), directory)).toHaveLength(1);
    expect(refusal(() => decideRedemption(ok, ask({ redeemer: role, claims: c }), directory))).toBeUndefined();
  });

  it('refuses a second redemption, naming when and by whom, whoever asks and with whatever receipt', () => {
    const redeemed = settle(approved(), (c) => decideRedemption(c, ask(), directory));
    expect(redeemed.filter((r) => r.type === 'executed')).toHaveLength(1);
    const again = refusal(() => decideRedemption(redeemed, ask({ redemptionId: 'rdm_2' }), directory));
    expect(again).toEqual({
      code: 'already_redeemed',
      message: `the approval was already redeemed at ${NOW.toISOString()} by ${intake.requester}`,
      details: [
        { path: 'redeemedAt', message: NOW.toISOString() },
        { path: 'redeemedBy', message: intake.requester },
      ],
    });
    expect(refusal(() => decideRedemption(redeemed, ask({ redemptionId: 'rdm_3', receiptSha256: 'x'.repeat(64) }), directory))?.code).toBe('already_redeemed');
    // Its own record, planned or written, leaves nothing more to append (the ledger asks again after each planned record).
    expect(decideRedemption(redeemed, ask({ redemptionId: 'rdm_1' }), directory)).toEqual([]);
  });

  it('refuses in order: unreadable (404), not the requester (403), another request or action (409), not approved, other parameters', () => {
    const chain = approved();
    expect(refusal(() => decideRedemption([], ask(), directory))?.code).toBe('not_found');
    expect(refusal(() => decideRedemption(chain, ask({ redeemer: 'mallory' }), directory))?.code).toBe('not_found');
    expect(refusal(() => decideRedemption(chain, ask({ redeemer: 'alice' }), directory))?.code).toBe('forbidden');
    expect(refusal(() => decideRedemption(chain, ask({ claims: claims({ sub: 'act_2' }) }), directory))).toMatchObject({
      code: 'receipt_mismatch',
      message: 'the receipt is for request act_2, not act_1',
    });
    expect(refusal(() => decideRedemption(chain, ask({ claims: claims({ action: 'data.delete' }) }), directory))?.code).toBe('receipt_mismatch');
    expect(refusal(() => decideRedemption(chain, ask({ claims: claims({ paramsHmac: 'd'.repeat(64) }) }), directory))?.code).toBe('receipt_mismatch');
    expect(refusal(() => decideRedemption(pending(), ask(), directory))).toMatchObject({
      code: 'receipt_mismatch',
      message: 'the request is pending, not approved',
    });
    expect(refusal(() => decideRedemption(chain, ask({ parametersCommitment: 'e'.repeat(64) }), directory))).toMatchObject({
      code: 'parameters_mismatch',
      details: [{ path: 'parametersCommitment', message: 'does not match the receipt' }],
    });
    // A mismatch is refused before "already redeemed": a wrong receipt never learns who redeemed.
    const redeemed = settle(chain, (c) => decideRedemption(c, ask(), directory));
    expect(refusal(() => decideRedemption(redeemed, ask({ redemptionId: 'rdm_2', claims: claims({ sub: 'act_2' }) }), directory))?.code).toBe(
      'receipt_mismatch',
    );
  });
});

describe('the redeem body', () => {
  it('takes a receipt and an optional 64-hex commitment, nothing else', () => {
    expect(redeemBodySchema.safeParse({ receipt: 'a.b.c' }).success).toBe(true);
    expect(redeemBodySchema.safeParse({ receipt: 'a.b.c', parametersCommitment: COMMITMENT }).success).toBe(true);
    for (const bad of [
      {},
      { receipt: '' },
      { receipt: 42 },
      { receipt: 'x'.repeat(64 * 1024 + 1) },
      { receipt: 'a.b.c', parametersCommitment: 'C'.repeat(64) },
      { receipt: 'a.b.c', parametersCommitment: 'c'.repeat(63) },
      { receipt: 'a.b.c', extra: true },
      null,
      [],
    ]) {
      expect(redeemBodySchema.safeParse(bad).success, JSON.stringify(bad)?.slice(0, 80)).toBe(false);
    }
  });
});

const AGENT = 'arn:aws:iam::111122223333:role/agent';
const config = parseConfig(`
version: 1
groups:
  owners:
    members:
      - { id: alice@example.com, email: alice@example.com }
rules:
  - { name: reads, match: { action: "*.read" }, effect: allow }
  - { name: exports, match: { action: data.export }, effect: require_approval, approvers: [owners], timeout: 1h }
default: { effect: deny }
auditors: [audit@example.com]
channels:
  email: { from: countersign@example.com }
`);

async function approvedExport(ports: MemoryPorts, parameters: Record<string, unknown> = { table: 'customers' }) {
  const { state } = await askForAction(ports, { requester: AGENT, request: { action: 'data.export', parameters }, callbackNetwork: 'public' });
  await castVote(ports, state.id, { approver: 'alice@example.com', via: 'decision_api', signedIn: true }, { decision: 'approve' });
  const { receipt } = await readAction(ports, AGENT, state.id, 0);
  return { id: state.id, receipt: receipt! };
}
const code = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (err: unknown) => (err instanceof CountersignError ? err.code : String(err)),
  );

describe('redeemReceipt', () => {
  it('records the first redemption and refuses the four concurrent others; the chain still verifies', async () => {
    const ports = memoryPorts(config);
    const { id, receipt } = await approvedExport(ports);
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => redeemReceipt(ports, AGENT, id, { receipt })));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const answer = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof redeemReceipt>>>).value;
    expect(answer).toEqual({ id, redeemedAt: ports.clock.now().toISOString(), redeemedBy: AGENT });
    for (const lost of results.filter((r) => r.status === 'rejected')) {
      expect((lost as PromiseRejectedResult).reason).toMatchObject({ code: 'already_redeemed' });
    }
    const chain = await ports.ledger.read(id);
    const executed = chain.filter((r) => r.type === 'executed');
    expect(executed).toHaveLength(1);
    expect(executed[0]!.data).toEqual({
      redeemer: AGENT,
      redemptionId: expect.stringMatching(/^rdm_[A-Za-z0-9_-]{22}$/),
      receiptSha256: createHash('sha256').update(receipt).digest('hex'),
      parametersCommitment: deriveState(chain)!.parameters!.value,
    });
    expect(verifyChain(chain, createPublicKey(await ports.signer.publicKeyPem())).ok).toBe(true);
  });

  it('redeems a receipt policy issued at once', async () => {
    const ports = memoryPorts(config);
    const { state, receipt } = await askForAction(ports, { requester: AGENT, request: { action: 'users.read' }, callbackNetwork: 'public' });
    expect((await redeemReceipt(ports, AGENT, state.id, { receipt: receipt! })).redeemedBy).toBe(AGENT);
  });

  it('refuses approvers, auditors and strangers, bad and expired receipts, another request, other parameters; and records nothing', async () => {
    const ports = memoryPorts(config);
    const { id, receipt } = await approvedExport(ports);
    const other = await approvedExport(ports, { table: 'orders' });
    const length = (await ports.ledger.read(id)).length;
    expect(await code(redeemReceipt(ports, 'alice@example.com', id, { receipt }))).toBe('forbidden');
    expect(await code(redeemReceipt(ports, 'audit@example.com', id, { receipt }))).toBe('forbidden');
    expect(await code(redeemReceipt(ports, 'mallory@example.com', id, { receipt }))).toBe('not_found');
    expect(await code(redeemReceipt(ports, AGENT, 'act_missing', { receipt }))).toBe('not_found');
    expect(await code(redeemReceipt(ports, AGENT, '../etc', { receipt }))).toBe('not_found');
    expect(await code(redeemReceipt(ports, AGENT, id, { receipt: other.receipt }))).toBe('receipt_mismatch');
    const [h, c, s] = receipt.split('.') as [string, string, string];
    const forged = JSON.parse(Buffer.from(c, 'base64url').toString());
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...forged, sub: other.id })).toString('base64url')}.${s}`;
    const bad = await redeemReceipt(ports, AGENT, id, { receipt: tampered }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'invalid_request', details: [{ path: 'receipt', message: 'bad_signature' }] });
    expect(await code(redeemReceipt(ports, AGENT, id, { receipt: 'not-a-receipt' }))).toBe('invalid_request');
    // A receipt signed by another key (a forger's) does not verify either.
    const foreign = await signReceipt(memorySigner('forger'), JSON.parse(Buffer.from(c, 'base64url').toString()));
    expect(await code(redeemReceipt(ports, AGENT, id, { receipt: foreign }))).toBe('invalid_request');
    expect(await code(redeemReceipt(ports, AGENT, id, { receipt, parametersCommitment: 'f'.repeat(64) }))).toBe('parameters_mismatch');
    // The receipt is taken exactly as issued: padding or a hidden character is a malformed receipt, not another one.
    for (const respelt of [` ${receipt}`, `${receipt}\n`, `${h}.${c}\u200b.${s}`, `${h}.${c}.${s}\u00a0`]) {
      const refused = await redeemReceipt(ports, AGENT, id, { receipt: respelt }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'invalid_request', details: [{ path: 'receipt', message: 'malformed' }] });
    }
    ports.clock.advance(3601_000);
    const expired = await redeemReceipt(ports, AGENT, id, { receipt }).catch((e: unknown) => e);
    expect(expired).toMatchObject({ code: 'invalid_request', details: [{ path: 'receipt', message: 'expired' }] });
    expect((await ports.ledger.read(id)).length).toBe(length);
  });

  it('gives an approval not yet redeemed a fresh receipt once its stored one expired, which redeems; the old one stays refused', async () => {
    const ports = memoryPorts(config);
    const { id, receipt: first } = await approvedExport(ports);
    ports.clock.advance(2 * 3600_000);
    const { receipt: fresh } = await readAction(ports, AGENT, id, 0);
    expect(fresh).not.toBe(first);
    const claims = verifyReceipt(fresh!, await ports.signer.publicKeyPem(), { now: ports.clock.now() });
    expect(claims.sub).toBe(id);
    // Read again: the fresh one is kept, not signed anew.
    expect((await readAction(ports, AGENT, id, 0)).receipt).toBe(fresh);
    expect(await code(redeemReceipt(ports, AGENT, id, { receipt: first }))).toBe('invalid_request');
    expect(await code(redeemReceipt(ports, AGENT, id, { receipt: fresh! }))).toBe('ok');
    // Once redeemed, an expired receipt is not renewed: there is nothing left to redeem.
    ports.clock.advance(2 * 3600_000);
    expect((await readAction(ports, AGENT, id, 0)).receipt).toBe(fresh);
  });

  it('accepts the receipt’s own commitment as parametersCommitment', async () => {
    const ports = memoryPorts(config);
    const { id, receipt } = await approvedExport(ports);
    const paramsHmac = JSON.parse(Buffer.from(receipt.split('.')[1]!, 'base64url').toString()).paramsHmac as string;
    expect((await redeemReceipt(ports, AGENT, id, { receipt, parametersCommitment: paramsHmac })).id).toBe(id);
  });
});

describe('redeemWithin', () => {
  const windowed = { ...intake, policy: { ...intake.policy, redeemWithinSeconds: 900 } };
  const approvedWithin = () =>
    settle(
      settle([], (c) => decideIntake(c, windowed)),
      (c) => decideVote(c, { approver: 'alice', via: 'decision_api', signedIn: true }, { decision: 'approve' }, NOW, directory),
    );
  const DEADLINE = new Date(NOW.getTime() + 900_000);
  const at = (ms: number) => new Date(NOW.getTime() + ms);

  it('is recorded in policy_decided as redeemWithinSeconds', () => {
    const rules = parseConfig(`
version: 1
groups: { owners: { members: [{ id: alice@example.com }] } }
rules:
  - { name: windowed, match: { action: data.export }, effect: require_approval, approvers: [owners], redeemWithin: 15m }
  - { name: open, match: { action: data.read }, effect: require_approval, approvers: [owners] }
channels: { email: { from: countersign@example.com } }
`);
    const outcome = (name: string) => rules.rules.find((r) => r.name === name)!;
    expect(policyDecidedData(rules, { rule: 'windowed', outcome: outcome('windowed') }, 'v', NOW).redeemWithinSeconds).toBe(900);
    expect(policyDecidedData(rules, { rule: 'open', outcome: outcome('open') }, 'v', NOW)).not.toHaveProperty('redeemWithinSeconds');
  });

  it('gives an approval a redeem deadline, shown as redeemBy until it is redeemed', () => {
    const state = deriveState(approvedWithin())!;
    expect(redeemDeadline(state)).toEqual(DEADLINE);
    expect(publicView(state)).toMatchObject({ status: 'approved', redeemBy: DEADLINE.toISOString() });
    expect(redeemDeadline(deriveState(approved())!)).toBeUndefined();
    expect(redeemDeadline(deriveState(settle([], (c) => decideIntake(c, windowed)))!)).toBeUndefined(); // pending
    const redeemed = settle(approvedWithin(), (c) => decideRedemption(c, ask(), directory));
    expect(publicView(deriveState(redeemed)!)).not.toHaveProperty('redeemBy');
  });

  it('lapses an approval nobody redeemed, from its deadline on: expired, not redeemed; the status reads expired', () => {
    expect(decideLapse(approvedWithin(), at(899_999))).toEqual([]);
    const events = decideLapse(approvedWithin(), DEADLINE);
    expect(events).toEqual([{ type: 'expired', actor: 'countersign', data: { decidedBy: 'timeout', reason: LAPSE_REASON } }]);
    expect(LAPSE_REASON).toBe('not redeemed');
    const lapsed = settle(approvedWithin(), (c) => decideLapse(c, DEADLINE));
    expect(lapsed.map((r) => r.type)).toEqual(['requested', 'policy_decided', 'voted', 'approved', 'expired']);
    const state = deriveState(lapsed)!;
    expect(state.outcome).toMatchObject({ status: 'approved', decidedBy: 'approvers' });
    expect(state.lapse).toEqual({ at: CHAIN_AT.toISOString(), reason: 'not redeemed' });
    expect(statusOf(state)).toBe('expired');
    const view = publicView(state, 'h.p.s');
    expect(view).toMatchObject({ status: 'expired', decidedBy: 'approvers', reason: 'not redeemed', lapsedAt: CHAIN_AT.toISOString() });
    expect(view).not.toHaveProperty('receipt');
    expect(view).not.toHaveProperty('redeemBy');
    // Once: a second look appends nothing. Nothing lapses without redeemWithin, or once redeemed.
    expect(decideLapse(lapsed, at(10_000_000))).toEqual([]);
    expect(decideLapse(approved(), at(10_000_000))).toEqual([]);
    expect(
      decideLapse(
        settle(approvedWithin(), (c) => decideRedemption(c, ask(), directory)),
        at(10_000_000),
      ),
    ).toEqual([]);
  });

  it('refuses a redemption once lapsed, or past the deadline before the lapse is recorded: redemption_lapsed', () => {
    const lapsed = settle(approvedWithin(), (c) => decideLapse(c, DEADLINE));
    expect(refusal(() => decideRedemption(lapsed, ask(), directory))).toEqual({
      code: 'redemption_lapsed',
      message: `the approval lapsed unredeemed at ${CHAIN_AT.toISOString()}: ask again`,
      details: [{ path: 'lapsedAt', message: CHAIN_AT.toISOString() }],
    });
    expect(refusal(() => decideRedemption(approvedWithin(), ask({ now: DEADLINE }), directory))).toMatchObject({
      code: 'redemption_lapsed',
      details: [{ path: 'lapsedAt', message: DEADLINE.toISOString() }],
    });
    expect(decideRedemption(approvedWithin(), ask({ now: at(899_999) }), directory)).toHaveLength(1);
    // A wrong receipt still learns nothing: it is refused as a mismatch first.
    expect(refusal(() => decideRedemption(lapsed, ask({ claims: claims({ sub: 'act_2' }) }), directory))?.code).toBe('receipt_mismatch');
  });

  it('a redemption and the lapse racing: whichever lands first, the chain holds exactly one of them', () => {
    for (const first of ['redeem', 'lapse'] as const) {
      // Both decided on the same chain at the deadline's edge; the ledger serializes them, the loser decides again.
      let chain = approvedWithin();
      const redeem = (c: typeof chain) => decideRedemption(c, ask({ now: at(899_999) }), directory);
      const lapse = (c: typeof chain) => decideLapse(c, DEADLINE);
      const order = first === 'redeem' ? [redeem, lapse] : [lapse, redeem];
      for (const decide of order) {
        try {
          chain = settle(chain, decide);
        } catch (err) {
          expect(err).toMatchObject({ code: 'redemption_lapsed' });
        }
      }
      const types = chain.map((r) => r.type).slice(4);
      expect(types).toEqual(first === 'redeem' ? ['executed'] : ['expired']);
      expect(statusOf(deriveState(chain)!)).toBe(first === 'redeem' ? 'approved' : 'expired');
    }
  });
});

describe('redeemWithin end to end in memory: receipt, Finalize, Lapse', () => {
  // The same policy, its exports rule under a 10-minute redeem window.
  const windowedConfig: Config = {
    ...config,
    rules: config.rules.map((rule) => (rule.name === 'exports' ? { ...rule, redeemWithin: '10m' } : rule)),
  };

  it('the receipt expires at the deadline; Finalize answers redeemBy; Lapse waits for it, then lapses and caches expired', async () => {
    const ports = memoryPorts(windowedConfig);
    const { id, receipt } = await approvedExport(ports);
    const claimsOfReceipt = JSON.parse(Buffer.from(receipt.split('.')[1]!, 'base64url').toString());
    const approvedAt = Date.parse(deriveState(await ports.ledger.read(id))!.outcome!.at);
    expect(claimsOfReceipt.exp).toBe(Math.ceil((approvedAt + 600_000) / 1000));
    const finalized = await finalizeRequest(ports, id, undefined);
    expect(finalized).toEqual({ status: 'approved', redeemBy: new Date(Math.ceil((approvedAt + 600_000) / 1000) * 1000).toISOString().replace('.000Z', 'Z') });
    // Woken early (clocks differ): nothing recorded, and an error Step Functions retries.
    await expect(lapseApproval(ports, id)).rejects.toBeInstanceOf(RedeemWindowOpenError);
    ports.clock.advance(600_000);
    // Past the deadline, before the lapse is recorded: the genuine (now expired) receipt is told the approval lapsed.
    expect(await code(redeemReceipt(ports, AGENT, id, { receipt }))).toBe('redemption_lapsed');
    expect(await lapseApproval(ports, id)).toEqual({ status: 'expired' });
    expect(await lapseApproval(ports, id)).toEqual({ status: 'expired' }); // a retried step appends nothing more
    const chain = await ports.ledger.read(id);
    expect(chain.filter((r) => r.type === 'expired')).toHaveLength(1);
    expect(chain.at(-1)).toMatchObject({ type: 'expired', data: { decidedBy: 'timeout', reason: 'not redeemed' } });
    expect((await ports.requests.get(id))?.status).toBe('expired');
    expect(await code(redeemReceipt(ports, AGENT, id, { receipt }))).toBe('redemption_lapsed');
    expect(verifyChain(chain, createPublicKey(await ports.signer.publicKeyPem())).ok).toBe(true);
    expect(ports.metrics.total('redemptions', { Result: 'lapsed' })).toBe(1);
    expect(ports.metrics.total('redemptions', { Result: 'refused' })).toBe(2);
    expect(ports.metrics.total('decisions', { Outcome: 'expired' })).toBe(0); // a lapse is no second decision
  });

  it('a redeemed approval does not lapse, and Finalize gives it no redeem window', async () => {
    const ports = memoryPorts(windowedConfig);
    const { id, receipt } = await approvedExport(ports);
    await redeemReceipt(ports, AGENT, id, { receipt });
    expect(await finalizeRequest(ports, id, undefined)).toEqual({ status: 'approved' });
    ports.clock.advance(600_000);
    expect(await lapseApproval(ports, id)).toEqual({ status: 'approved' });
    expect((await ports.ledger.read(id)).map((r) => r.type).slice(-1)).toEqual(['executed']);
    expect(ports.metrics.total('redemptions', { Result: 'redeemed' })).toBe(1);
    expect(await code(redeemReceipt(ports, AGENT, id, { receipt }))).toBe('already_redeemed');
    expect(ports.metrics.total('redemptions', { Result: 'already_redeemed' })).toBe(1);
  });
});
