/**
 * The use cases (lambdas/app/) with every port in memory: the ledger chains and signs for real (a P-256 key, as KMS
 * signs), the clock moves only when a test or a wait moves it, and nothing starts a process. What local mode checks
 * end to end through the deployed bundles, these check in milliseconds, edge by edge.
 */
import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type AskInput, askForAction } from '../../lambdas/app/ask';
import { writeCheckpoints } from '../../lambdas/app/checkpoint';
import { exportLedger } from '../../lambdas/app/export';
import { finalizeRequest, tellRequester } from '../../lambdas/app/finalize';
import { ITEM_WAITS_MS, notifyApprovers, wakeRequest } from '../../lambdas/app/notify';
import { receiptAlongside } from '../../lambdas/app/outcome';
import { cancelAction, readAction, readAuditTrail, WAIT_MAX_POLL_MS, WAIT_MIN_POLL_MS, waitPollCount, waitPollGap } from '../../lambdas/app/read';
import { repairPending, runRepair } from '../../lambdas/app/repair';
import { castVote, pendingFor } from '../../lambdas/app/vote';
import { decideVote, publicView, statusOf } from '../../lambdas/core/approval';
import type { CallbackBody } from '../../lambdas/core/callback';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { CountersignError } from '../../lambdas/core/errors';
import { type AuditRecord, verifyChain } from '../../lambdas/core/ledger-record';
import { receiptCoversParameters, verifyReceipt } from '../../lambdas/core/receipt';
import { AlreadySettledError } from '../../lambdas/core/workflow';
import { MemoryLeases, type MemoryPorts, memoryPorts, stampRecords } from '../fixtures/memory-ports';

const AGENT = 'arn:aws:iam::111122223333:role/agent';
const config = parseConfig(`
version: 1
groups:
  owners:
    members:
      - { id: alice@example.com, email: alice@example.com, slackUserId: U0ALICE }
      - { id: bob@example.com, email: bob@example.com }
  security:
    members:
      - { id: carol@example.com, email: carol@example.com }
rules:
  - { name: reads, match: { action: "*.read" }, effect: allow }
  - { name: drops, match: { action: "db.drop" }, effect: deny, reason: never }
  - { name: exports, match: { action: data.export }, effect: require_approval, approvers: [owners], minApprovals: 2, timeout: 1h, remindAfter: 10m }
  - { name: grants, match: { action: iam.grant }, effect: require_approval, require: [{ group: owners, min: 1 }, { group: security, min: 1 }], timeout: 30m }
default: { effect: require_approval, approvers: [owners], timeout: 1h }
auditors: [audit@example.com]
channels:
  email: { from: countersign@example.com }
  slack: { botToken: env:SLACK_BOT_TOKEN, signingSecret: env:SLACK_SIGNING_SECRET, channel: C0APPROVALS }
`);

const ask = (ports: MemoryPorts, request: AskInput['request'], more: Partial<AskInput> = {}) =>
  askForAction(ports, { requester: AGENT, request, callbackNetwork: 'public', ...more });
const vote = (ports: MemoryPorts, id: string, approver: string, decision: 'approve' | 'deny' = 'approve') =>
  castVote(ports, id, { approver, via: 'decision_api', signedIn: true }, { decision });
const publicKey = async (ports: MemoryPorts) => createPublicKey(await ports.signer.publicKeyPem());

describe('asking', () => {
  it('allows at once with a receipt that binds the exact parameters, and starts no workflow', async () => {
    const ports = memoryPorts(config);
    const { state, receipt } = await ask(ports, { action: 'users.read', parameters: { table: 'users' } });
    expect(statusOf(state)).toBe('approved');
    const claims = verifyReceipt(receipt!, await ports.signer.publicKeyPem(), { now: ports.clock.now() });
    expect(claims).toMatchObject({ sub: state.id, action: 'users.read', decidedBy: 'policy', approvers: [] });
    expect(receiptCoversParameters(claims, { table: 'users' })).toBe(true);
    expect(receiptCoversParameters(claims, { table: 'orders' })).toBe(false);
    expect(ports.workflow.started.size).toBe(0);
    expect(verifyChain(await ports.ledger.read(state.id), await publicKey(ports)).ok).toBe(true);
    expect((await ports.requests.get(state.id))?.receipt).toBe(receipt);
  });

  it('denies at once, records why, and issues nothing', async () => {
    const ports = memoryPorts(config);
    const { state, receipt } = await ask(ports, { action: 'db.drop' });
    expect(publicView(state)).toMatchObject({ status: 'denied', decidedBy: 'policy', reason: 'never' });
    expect(receipt).toBeUndefined();
    expect((await ports.ledger.read(state.id)).map((r) => r.type)).toEqual(['requested', 'policy_decided', 'denied']);
  });

  it('asks for approval: records the rule, quorum and deadline, stores the item and starts the workflow once', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export', environment: 'production' });
    expect(statusOf(state)).toBe('pending');
    expect(state.policy).toMatchObject({
      rule: 'exports',
      requiredApprovals: 2,
      approvers: ['alice@example.com', 'bob@example.com'],
      timeoutSeconds: 3600,
      remindAfterSeconds: 600,
      channels: ['email', 'slack'],
    });
    expect(state.policy?.expiresAt).toBe(new Date(ports.clock.now().getTime() + 3_600_000).toISOString());
    expect(ports.workflow.started).toEqual(new Set([state.id]));
    expect((await ports.requests.pendingSummaries()).map((s) => s.id)).toEqual([state.id]);
  });

  it('sums a cross-team quorum for the record', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'iam.grant' });
    expect(state.policy).toMatchObject({
      requiredApprovals: 2,
      require: [
        { group: 'owners', min: 1 },
        { group: 'security', min: 1, members: ['carol@example.com'] },
      ],
    });
  });

  it('lands a retry with the same Idempotency-Key on the same request, and refuses the key with another body', async () => {
    const ports = memoryPorts(config);
    const first = await ask(ports, { action: 'data.export' }, { idempotencyKey: 'k-1' });
    const again = await ask(ports, { action: 'data.export' }, { idempotencyKey: 'k-1' });
    expect(again.state.id).toBe(first.state.id);
    expect(await ports.ledger.read(first.state.id)).toHaveLength(2);
    await expect(ask(ports, { action: 'data.export', parameters: { rows: 1 } }, { idempotencyKey: 'k-1' })).rejects.toMatchObject({
      code: 'idempotency_conflict',
    });
    // Another requester's key is another request.
    const other = await ask(ports, { action: 'data.export' }, { idempotencyKey: 'k-1', requester: 'arn:aws:iam::111122223333:role/other' });
    expect(other.state.id).not.toBe(first.state.id);
  });

  it('refuses a callback URL the network does not allow, and records nothing', async () => {
    const ports = memoryPorts(config);
    await expect(ask(ports, { action: 'data.export', callbackUrl: 'http://127.0.0.1:9000/cb' })).rejects.toMatchObject({ code: 'invalid_request' });
    expect(ports.ledger.chains.size).toBe(0);
    const { state } = await ask(ports, { action: 'data.export', callbackUrl: 'http://127.0.0.1:9000/cb' }, { callbackNetwork: 'loopback' });
    expect(state.request.callbackUrl).toBe('http://127.0.0.1:9000/cb');
  });

  it('keeps the ledger masked and the commitment to what policy saw', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export', parameters: { url: 'postgres://admin:hunter2@db.internal/prod' } });
    expect(JSON.stringify(await ports.ledger.read(state.id))).not.toContain('hunter2');
    expect(state.parameters?.kind).toBe('commitment');
  });

  it('leaves the request to the repair job when the workflow cannot start', async () => {
    const ports = memoryPorts(config);
    ports.workflow.failStart = new Error('throttled');
    await expect(ask(ports, { action: 'data.export' })).rejects.toThrow('throttled');
    ports.workflow.failStart = undefined;
    ports.clock.advance(120_000);
    const counts = await repairPending(ports, { stopAt: Number.MAX_SAFE_INTEGER, graceMs: 60_000, onFailure: () => {} });
    expect(counts).toEqual({ completed: 0, started: 1, expired: 0 });
  });
});

describe('reading and waiting', () => {
  it('answers 404 alike for a missing request and one the caller may not see', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    const missing = await readAction(ports, AGENT, 'act_missing', 0).catch((e: unknown) => e);
    const hidden = await readAction(ports, 'arn:aws:iam::111122223333:role/stranger', state.id, 0).catch((e: unknown) => e);
    for (const err of [missing, hidden]) expect(err).toMatchObject({ code: 'not_found', message: 'no such request' });
    expect((await readAction(ports, 'alice@example.com', state.id, 0)).state.id).toBe(state.id);
    expect((await readAction(ports, 'audit@example.com', state.id, 0)).state.id).toBe(state.id);
  });

  it('waits on the clock until the deadline it was given, watching the status with backoff, and answers pending', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    const start = ports.clock.now().getTime();
    const reads = ports.ledger.calls.reads;
    const answer = await readAction(ports, AGENT, state.id, start + 20_000);
    expect(statusOf(answer.state)).toBe('pending');
    expect(ports.clock.now().getTime() - start).toBe(20_000);
    // The chain twice (at the start and at the end), the item's status once per poll: a request just made is polled
    // from WAIT_MIN_POLL_MS apart, each gap a fraction of its age, backing off to a second.
    expect(ports.ledger.calls.reads - reads).toBe(2);
    const { sleeps } = ports.clock;
    expect(sleeps[0]).toBe(WAIT_MIN_POLL_MS);
    expect(sleeps.slice(0, -1).every((gap, i) => i === 0 || gap >= sleeps[i - 1]!)).toBe(true);
    expect(Math.max(...sleeps)).toBe(WAIT_MAX_POLL_MS);
    expect(ports.requests.calls.status).toBe(sleeps.length);
    expect(sleeps.length).toBe(waitPollCount(0, 20_000));
  });

  it("polls by the request's age, not the wait call's: an old request is polled once a second from the start", async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    ports.clock.advance(10 * 60_000);
    const start = ports.clock.now().getTime();
    const answer = await readAction(ports, AGENT, state.id, start + 20_000);
    expect(statusOf(answer.state)).toBe('pending');
    expect(ports.clock.sleeps).toEqual(Array.from({ length: 20 }, () => WAIT_MAX_POLL_MS));
    expect(ports.requests.calls.status).toBe(20);
    expect(waitPollCount(10 * 60_000, 20_000)).toBe(20);
  });

  it("sees an outcome cached soon after the request was made within a quarter of the request's age", async () => {
    for (const landsAfter of [60, 300, 1_500]) {
      const ports = memoryPorts(config);
      const { state } = await ask(ports, { action: 'data.export' });
      const created = Date.parse(state.createdAt);
      // The item's status turns approved `landsAfter` ms after the request was made (the wait's end reads the chain).
      const status = ports.requests.status.bind(ports.requests);
      ports.requests.status = async (id) => (ports.clock.now().getTime() - created >= landsAfter ? 'approved' : status(id));
      await readAction(ports, AGENT, state.id, created + 20_000);
      const seenAfter = ports.clock.now().getTime() - created;
      expect(seenAfter).toBeGreaterThanOrEqual(landsAfter);
      expect(seenAfter - landsAfter).toBeLessThanOrEqual(waitPollGap(landsAfter));
      expect(waitPollGap(landsAfter)).toBe(Math.max(WAIT_MIN_POLL_MS, landsAfter / 4));
    }
  });

  it('sees a settle the item has not cached yet at the end of the wait, from the chain', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    await vote(ports, state.id, 'alice@example.com');
    const start = ports.clock.now().getTime();
    const waiting = readAction(ports, AGENT, state.id, start + 5_000);
    while (ports.clock.now().getTime() - start < 2_000) await new Promise((resolve) => setImmediate(resolve));
    // The vote that settles crashes after its ledger write, before it caches the status (the repair job would).
    ports.requests.cacheOutcome = () => Promise.reject(new Error('crashed'));
    await expect(vote(ports, state.id, 'bob@example.com')).rejects.toThrow('crashed');
    expect((await ports.requests.get(state.id))?.status).toBe('pending');
    const answer = await waiting;
    expect(statusOf(answer.state)).toBe('approved');
    expect(answer.receipt).toEqual(expect.any(String));
    expect(ports.clock.now().getTime() - start).toBe(5_000);
  });

  it('returns as soon as the request settles while waiting, with the receipt for the requester only', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    await vote(ports, state.id, 'alice@example.com');
    const start = ports.clock.now().getTime();
    const reads = ports.ledger.calls.reads;
    const waiting = readAction(ports, AGENT, state.id, start + 20_000);
    // The vote comes 5 s into the wait.
    while (ports.clock.now().getTime() - start < 5_000) await new Promise((resolve) => setImmediate(resolve));
    await vote(ports, state.id, 'bob@example.com');
    const voteReads = 1;
    const answer = await waiting;
    expect(statusOf(answer.state)).toBe('approved');
    // Within a poll of the vote; the chain read at the start and once when the status changed.
    expect(ports.clock.now().getTime() - start).toBeLessThanOrEqual(5_000 + WAIT_MAX_POLL_MS);
    expect(ports.ledger.calls.reads - reads - voteReads).toBe(2);
    expect(verifyReceipt(answer.receipt!, await ports.signer.publicKeyPem(), { now: ports.clock.now() })).toMatchObject({
      decidedBy: 'approvers',
      approvers: ['alice@example.com', 'bob@example.com'],
    });
    expect((await readAction(ports, 'alice@example.com', state.id, 0)).receipt).toBeUndefined();
    expect((await readAction(ports, 'audit@example.com', state.id, 0)).receipt).toBeUndefined();
  });

  it('shows the audit trail to those who may read it', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    expect((await readAuditTrail(ports, 'bob@example.com', state.id)).map((r) => r.seq)).toEqual([1, 2]);
    await expect(readAuditTrail(ports, 'carol@example.com', state.id)).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('cancelling', () => {
  it('lets the requester cancel once, tells the workflow, and nobody else', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    await ports.requests.storeTaskToken(state.id, 'token-1');
    await expect(cancelAction(ports, 'alice@example.com', state.id)).rejects.toMatchObject({ code: 'forbidden' });
    const cancelled = await cancelAction(ports, AGENT, state.id);
    expect(statusOf(cancelled)).toBe('cancelled');
    expect(statusOf(await cancelAction(ports, AGENT, state.id))).toBe('cancelled');
    // The workflow is told (again on a repeat, which Step Functions answers as a used token).
    expect(new Set(ports.workflow.told.map((t) => `${t.taskToken}:${t.status}`))).toEqual(new Set(['token-1:cancelled']));
    expect((await ports.requests.get(state.id))?.status).toBe('cancelled');
    await expect(vote(ports, state.id, 'alice@example.com')).rejects.toMatchObject({ code: 'already_decided' });
  });
});

describe('voting', () => {
  it('settles a two-approval rule once under racing votes, and signs one receipt', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    await ports.requests.storeTaskToken(state.id, 'token-v');
    const votes = await Promise.allSettled([...Array(6)].map((_, i) => vote(ports, state.id, i % 2 ? 'alice@example.com' : 'bob@example.com')));
    expect(votes.filter((v) => v.status === 'fulfilled').length).toBeGreaterThanOrEqual(2);
    const chain = await ports.ledger.read(state.id);
    expect(chain.filter((r) => r.type === 'approved')).toHaveLength(1);
    expect(verifyChain(chain, await publicKey(ports)).ok).toBe(true);
    const receipts = new Set(votes.flatMap((v) => (v.status === 'fulfilled' && v.value.receipt ? [v.value.receipt] : [])));
    expect(receipts.size).toBe(1);
    // The vote that settled it also told the waiting workflow and cached the status, in the same call.
    expect(ports.workflow.told).toContainEqual({ taskToken: 'token-v', status: 'approved' });
    expect(await ports.requests.get(state.id)).toMatchObject({ status: 'approved', receipt: [...receipts][0] });
  });

  it('refuses self-approval and strangers, and one deny settles', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export', onBehalfOf: 'Alice@Example.com' });
    await expect(vote(ports, state.id, 'alice@example.com')).rejects.toMatchObject({ code: 'self_approval' });
    await expect(vote(ports, state.id, 'carol@example.com')).rejects.toBeInstanceOf(CountersignError);
    const { state: denied } = await vote(ports, state.id, 'bob@example.com', 'deny');
    expect(statusOf(denied)).toBe('denied');
  });

  it('needs one from each team for a cross-team quorum', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'iam.grant' });
    expect(statusOf((await vote(ports, state.id, 'alice@example.com')).state)).toBe('pending');
    expect(publicView((await vote(ports, state.id, 'bob@example.com')).state).missing).toEqual(['1 more from security']);
    expect(statusOf((await vote(ports, state.id, 'carol@example.com')).state)).toBe('approved');
  });

  it('lists what waits for an approver, not what they decided or asked', async () => {
    const ports = memoryPorts(config);
    const a = await ask(ports, { action: 'data.export' });
    ports.clock.advance(1000);
    const b = await ask(ports, { action: 'iam.grant' });
    await vote(ports, a.state.id, 'alice@example.com');
    expect((await pendingFor(ports, 'alice@example.com')).map((s) => s.id)).toEqual([b.state.id]);
    expect((await pendingFor(ports, 'bob@example.com')).map((s) => s.id)).toEqual([a.state.id, b.state.id]);
    expect(await pendingFor(ports, 'carol@example.com')).toHaveLength(1);
  });

  it('reads the chains of its candidates only, and a summary that lags a vote never changes the answer', async () => {
    const ports = memoryPorts(config);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await ask(ports, { action: 'data.export' })).state.id);
      ports.clock.advance(1000);
    }
    const grant = await ask(ports, { action: 'iam.grant' });
    const reads: string[] = [];
    const read = ports.ledger.read.bind(ports.ledger);
    ports.ledger.read = (id) => (reads.push(id), read(id));
    // Carol approves only grants: one candidate, one chain read.
    expect((await pendingFor(ports, 'carol@example.com')).map((s) => s.id)).toEqual([grant.state.id]);
    expect(reads).toEqual([grant.state.id]);
    // An auditor, or anyone else, is no one's approver: no chain is read.
    reads.length = 0;
    expect(await pendingFor(ports, 'audit@example.com')).toEqual([]);
    expect(reads).toEqual([]);
    // Alice's vote lands in the ledger but the item never hears of it (a crash right after the append).
    const schedule = ports.requests.scheduleRepair.bind(ports.requests);
    ports.requests.scheduleRepair = (id, at, options) => (options?.addVoter ? Promise.reject(new Error('crashed')) : schedule(id, at, options));
    await expect(vote(ports, ids[0]!, 'alice@example.com')).rejects.toThrow('crashed');
    ports.requests.scheduleRepair = schedule;
    expect((await pendingFor(ports, 'alice@example.com')).map((s) => s.id)).toEqual([...ids.slice(1), grant.state.id]);
    // Noted on the item, a vote spares the chain read.
    await vote(ports, ids[1]!, 'alice@example.com');
    reads.length = 0;
    expect((await pendingFor(ports, 'alice@example.com')).map((s) => s.id)).toEqual([...ids.slice(2), grant.state.id]);
    expect(reads).not.toContain(ids[1]);
    // Past the deadline, nothing waits, and nothing is read.
    ports.clock.advance(3_600_000);
    reads.length = 0;
    expect(await pendingFor(ports, 'bob@example.com')).toEqual([]);
    expect(reads).toEqual([]);
  });
});

describe('receipts signed alongside a vote', () => {
  it('are signed once when the write loses a race and plans again with the same approval', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'db.schema' });
    const chain = await ports.ledger.read(state.id);
    const settle = (base: AuditRecord[]) => {
      let planned = base;
      for (
        let [event] = decideVote(
          planned,
          { approver: 'alice@example.com', via: 'decision_api', signedIn: true },
          { decision: 'approve' },
          ports.clock.now(),
          ports.policy.directory(),
        );
        event;
        [event] = decideVote(
          planned,
          { approver: 'alice@example.com', via: 'decision_api', signedIn: true },
          { decision: 'approve' },
          ports.clock.now(),
          ports.policy.directory(),
        )
      ) {
        planned = stampRecords(planned, [event], state.id, ports.clock.now());
      }
      return planned;
    };
    const alongside = receiptAlongside(ports);
    const before = ports.signer.calls;
    const first = await alongside(settle(chain));
    // Another writer's `notified` landed first: the vote plans again on top of it.
    const raced = stampRecords(chain, [{ type: 'notified', actor: 'countersign', data: { channels: {}, approvers: [] } }], state.id, ports.clock.now());
    const second = await alongside(settle(raced));
    expect(second).toBe(first);
    expect(ports.signer.calls - before).toBe(1);
    expect(verifyReceipt(second!, await ports.signer.publicKeyPem(), { now: ports.clock.now() })).toMatchObject({
      sub: state.id,
      approvers: ['alice@example.com'],
    });
  });
});

describe('notifying', () => {
  it('asks each approver on each channel once, ledgers what was sent, and a retried Notify sends nothing', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    expect(await notifyApprovers(ports, state.id, 'token-1', Number.MAX_SAFE_INTEGER)).toEqual({ notified: 4 });
    expect(ports.outbox.sent.map((m) => `${m.channel}:${m.to}`).sort()).toEqual([
      'email:alice@example.com',
      'email:bob@example.com',
      'slack:C0APPROVALS',
      'slack:U0ALICE',
    ]);
    for (const m of ports.outbox.sent.filter((m) => m.to !== 'C0APPROVALS')) expect(m.reviewUrl).toMatch(/^https:\/\/countersign\.example\.com\/v1\/review\//);
    expect(await notifyApprovers(ports, state.id, 'token-2', Number.MAX_SAFE_INTEGER)).toEqual({ notified: 0 });
    expect(ports.outbox.sent).toHaveLength(4);
    expect((await ports.requests.get(state.id))?.taskToken).toBe('token-2');
    const notified = (await ports.ledger.read(state.id)).find((r) => r.type === 'notified')!;
    expect(notified.data).toMatchObject({ channels: { email: { sent: ['alice@example.com', 'bob@example.com'], failed: [] } } });
  });

  it('records a failing channel and fails only when nobody could be asked', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    ports.outbox.fail = (m) => (m.channel === 'slack' ? new Error('invalid_auth') : undefined);
    await notifyApprovers(ports, state.id, 't', Number.MAX_SAFE_INTEGER);
    const data = (await ports.ledger.read(state.id)).find((r) => r.type === 'notified')!.data as { channels: { slack: { failed: Array<{ error: string }> } } };
    expect(data.channels.slack.failed.map((f) => f.error)).toEqual(['Error: invalid_auth', 'Error: invalid_auth']);

    const down = memoryPorts(config);
    const other = await ask(down, { action: 'data.export' });
    down.outbox.fail = () => new Error('down');
    await expect(notifyApprovers(down, other.state.id, 't', Number.MAX_SAFE_INTEGER)).rejects.toThrow(/no notification could be sent/);
    expect((await down.ledger.read(other.state.id)).some((r) => r.type === 'notified')).toBe(false);
  });

  it("waits a little for an item intake is still writing, and fails to the workflow's retry when it never comes", async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    // Intake's PutItem lands after Notify's first two tries (it runs beside StartExecution).
    const item = ports.requests.items.get(state.id)!;
    ports.requests.items.delete(state.id);
    const store = ports.requests.storeTaskToken.bind(ports.requests);
    let tries = 0;
    ports.requests.storeTaskToken = (id, token) => {
      if (++tries === 3) ports.requests.items.set(id, item);
      return store(id, token);
    };
    expect(await notifyApprovers(ports, state.id, 'token-1', Number.MAX_SAFE_INTEGER)).toEqual({ notified: 4 });
    expect(ports.clock.sleeps).toEqual(ITEM_WAITS_MS.slice(0, 2));
    expect((await ports.requests.get(state.id))?.taskToken).toBe('token-1');

    const never = memoryPorts(config);
    const other = await ask(never, { action: 'data.export' });
    never.requests.items.delete(other.state.id);
    await expect(notifyApprovers(never, other.state.id, 't', Number.MAX_SAFE_INTEGER)).rejects.toThrow(/has no item/);
    expect(never.clock.sleeps).toEqual(ITEM_WAITS_MS);
    expect(never.outbox.sent).toHaveLength(0);
  });

  it('tells the workflow a request settled before Notify, so it closes', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    await cancelAction(ports, AGENT, state.id);
    await expect(notifyApprovers(ports, state.id, 't', Number.MAX_SAFE_INTEGER)).rejects.toBeInstanceOf(AlreadySettledError);
  });

  it('reminds those who have not voted when due, once a round, and says when to wake next', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    await notifyApprovers(ports, state.id, 't', Number.MAX_SAFE_INTEGER);
    await vote(ports, state.id, 'alice@example.com');
    const sent = ports.outbox.sent.length;
    expect(await wakeRequest(ports, state.id, Number.MAX_SAFE_INTEGER)).toEqual({ expired: false, seconds: 600 });
    expect(ports.outbox.sent.length).toBe(sent);
    ports.clock.advance(600_000);
    await wakeRequest(ports, state.id, Number.MAX_SAFE_INTEGER);
    expect(ports.outbox.sent.slice(sent).map((m) => `${m.channel}:${m.to}:${m.subject.startsWith('Reminder: ')}`)).toEqual(['email:bob@example.com:true']);
    expect((await ports.ledger.read(state.id)).filter((r) => r.type === 'reminded')).toHaveLength(1);
    ports.clock.advance(3_000_000);
    expect(await wakeRequest(ports, state.id, Number.MAX_SAFE_INTEGER)).toEqual({ expired: true, seconds: 0 });
  });
});

describe('finalizing', () => {
  it('expires on the workflow timeout (fail closed) and completes once', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    expect(await finalizeRequest(ports, state.id, { Error: 'States.Timeout' })).toEqual({ status: 'expired' });
    expect(await finalizeRequest(ports, state.id, { Error: 'States.Timeout' })).toEqual({ status: 'expired' });
    const chain = await ports.ledger.read(state.id);
    expect(chain.filter((r) => r.type === 'expired').map((r) => r.data.reason)).toEqual(['No decision before the timeout.']);
    expect((await ports.requests.get(state.id))?.status).toBe('expired');
  });

  it('keeps a vote that came first, and fails closed when nobody could be notified', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'db.schema' });
    await vote(ports, state.id, 'alice@example.com');
    expect(await finalizeRequest(ports, state.id, { Error: 'States.Timeout' })).toEqual({ status: 'approved' });
    const other = await ask(ports, { action: 'db.schema' });
    expect(await finalizeRequest(ports, other.state.id, { Error: 'States.TaskFailed' })).toEqual({ status: 'expired' });
    expect((await ports.ledger.read(other.state.id)).at(-1)?.data.reason).toBe('The approvers could not be notified.');
  });

  it('tells the requester by Slack DM and signed callback, and refuses a callback the network does not allow', async () => {
    const ports = memoryPorts(config);
    const calls: Array<{ url: string; body: CallbackBody }> = [];
    const callbacks = { send: async (url: string, body: CallbackBody) => (calls.push({ url, body }), 200) };
    const { state } = await ask(ports, { action: 'users.read', onBehalfOf: 'alice@example.com', callbackUrl: 'https://hooks.example.com/cs' });
    await tellRequester(ports, { sender: callbacks, network: 'public' }, state.id, () => {});
    expect(ports.outbox.sent.map((m) => `${m.channel}:${m.to}:${m.text}`)).toEqual([`slack:U0ALICE:Your request users.read (${state.id}) is approved.`]);
    expect(calls).toEqual([
      {
        url: 'https://hooks.example.com/cs',
        body: expect.objectContaining({ id: state.id, status: 'approved', decidedBy: 'policy', receipt: expect.any(String) }),
      },
    ]);

    const local = await ask(ports, { action: 'users.read', callbackUrl: 'http://127.0.0.1:9/cb' }, { callbackNetwork: 'loopback' });
    await expect(tellRequester(ports, { sender: callbacks, network: 'public' }, local.state.id, () => {})).rejects.toMatchObject({
      name: 'Countersign.CallbackRefused',
    });
    expect(calls).toHaveLength(1);
  });

  it('reports a failing DM without failing the callback', async () => {
    const ports = memoryPorts(config);
    ports.outbox.fail = () => new Error('slack down');
    const failures: unknown[] = [];
    const { state } = await ask(ports, { action: 'users.read', onBehalfOf: 'alice@example.com' });
    expect(await tellRequester(ports, { sender: { send: async () => 200 }, network: 'public' }, state.id, (e) => failures.push(e))).toEqual({
      status: 'approved',
    });
    expect(failures).toHaveLength(1);
  });
});

describe('repairing', () => {
  it('completes, starts and expires what a failure left, leaving young requests to the call in flight', async () => {
    const ports = memoryPorts(config);
    const settled = await ask(ports, { action: 'data.export' });
    await ports.requests.storeTaskToken(settled.state.id, 'token-s');
    // A vote whose completion was cut short: the ledger says approved, the item is still pending, no receipt.
    await vote(ports, settled.state.id, 'alice@example.com');
    const storeReceipt = ports.requests.storeReceipt.bind(ports.requests);
    ports.requests.storeReceipt = () => Promise.reject(new Error('crashed'));
    await expect(vote(ports, settled.state.id, 'bob@example.com')).rejects.toThrow('crashed');
    ports.requests.storeReceipt = storeReceipt;
    expect((await ports.requests.get(settled.state.id))?.status).toBe('pending');
    const overdue = await ask(ports, { action: 'data.export' });
    ports.clock.advance(30_000);
    const young = await ask(ports, { action: 'data.export' });
    expect(await repairPending(ports, { stopAt: Number.MAX_SAFE_INTEGER, graceMs: 60_000, onFailure: () => {} })).toEqual({
      completed: 0,
      started: 0,
      expired: 0,
    });
    ports.clock.advance(3_700_000);
    const counts = await repairPending(ports, { stopAt: Number.MAX_SAFE_INTEGER, graceMs: 60_000, onFailure: () => {} });
    expect(counts).toEqual({ completed: 1, started: 0, expired: 2 });
    expect(await ports.requests.get(settled.state.id)).toMatchObject({ status: 'approved', receipt: expect.any(String) });
    expect(ports.workflow.told).toContainEqual({ taskToken: 'token-s', status: 'approved' });
    for (const id of [overdue.state.id, young.state.id]) expect((await ports.requests.get(id))?.status).toBe('expired');
    expect(await ports.requests.pendingSummaries()).toEqual([]);
  });

  it('reads only the requests that might be stuck: each fine one once after intake, then not until its deadline', async () => {
    const ports = memoryPorts(config);
    for (let i = 0; i < 20; i++) await ask(ports, { action: 'data.export' });
    const reads: string[] = [];
    const read = ports.ledger.read.bind(ports.ledger);
    ports.ledger.read = (id) => (reads.push(id), read(id));
    const run = () => repairPending(ports, { stopAt: Number.MAX_SAFE_INTEGER, graceMs: 60_000, onFailure: () => {} });
    ports.clock.advance(61_000);
    expect(await run()).toEqual({ completed: 0, started: 0, expired: 0 });
    expect(reads).toHaveLength(20); // the first look: the workflow runs
    for (let minute = 0; minute < 10; minute++) {
      reads.length = 0;
      ports.clock.advance(60_000);
      await run();
      expect(reads).toEqual([]);
    }
    // At the deadline (plus the grace) they are due again: the workflow did not expire them, so the job does.
    ports.clock.advance(3_600_000);
    expect(await run()).toEqual({ completed: 0, started: 0, expired: 20 });
    expect(await ports.requests.pendingSummaries()).toEqual([]);
  });

  it('finds a vote that settled the ledger but not the item, without waiting for the deadline', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    ports.clock.advance(61_000);
    await repairPending(ports, { stopAt: Number.MAX_SAFE_INTEGER, graceMs: 60_000, onFailure: () => {} });
    await vote(ports, state.id, 'alice@example.com');
    const cache = ports.requests.cacheOutcome.bind(ports.requests);
    ports.requests.cacheOutcome = () => Promise.reject(new Error('crashed'));
    await expect(vote(ports, state.id, 'bob@example.com')).rejects.toThrow('crashed');
    ports.requests.cacheOutcome = cache;
    ports.clock.advance(61_000);
    expect(await repairPending(ports, { stopAt: Number.MAX_SAFE_INTEGER, graceMs: 60_000, onFailure: () => {} })).toEqual({
      completed: 1,
      started: 0,
      expired: 0,
    });
    expect(await ports.requests.get(state.id)).toMatchObject({ status: 'approved', receipt: expect.any(String) });
  });

  it('goes on where the last run stopped, oldest first, so no request is left unseen', async () => {
    const ports = memoryPorts(config);
    const ids: string[] = [];
    ports.workflow.failStart = new Error('sfn down');
    for (let i = 0; i < 30; i++) {
      ids.push((await ask(ports, { action: 'data.export' }).catch(() => undefined), [...ports.requests.items.keys()].at(-1)!));
      ports.clock.advance(10);
    }
    ports.workflow.failStart = undefined;
    ports.clock.advance(61_000);
    const started: string[] = [];
    const start = ports.workflow.start.bind(ports.workflow);
    ports.workflow.start = async (state) => {
      const ok = await start(state);
      if (ok) started.push(state.id);
      // Each start takes a second of the run.
      ports.clock.advance(1000);
      return ok;
    };
    for (let run = 0; run < 3; run++) {
      await repairPending(ports, { stopAt: ports.clock.now().getTime() + 10_000, graceMs: 60_000, onFailure: () => {} });
      expect(started).toEqual(ids.slice(0, Math.min(30, (run + 1) * 10)));
    }
  });

  it('runs one at a time under the lease, and stops taking requests at its deadline', async () => {
    const ports = memoryPorts(config);
    await ask(ports, { action: 'data.export' });
    const leases = new MemoryLeases();
    leases.held.add('repair');
    expect(await runRepair(ports, leases, { remainingMs: 60_000, graceMs: 0, onFailure: () => {} })).toEqual({
      completed: 0,
      started: 0,
      expired: 0,
      skipped: true,
    });
    leases.held.clear();
    expect(await runRepair(ports, leases, { remainingMs: 5_000, graceMs: 0, onFailure: () => {} })).toEqual({ completed: 0, started: 0, expired: 0 });
  });

  it('goes on past a request whose repair fails', async () => {
    const ports = memoryPorts(config);
    const a = await ask(ports, { action: 'data.export' });
    ports.clock.advance(1000);
    const b = await ask(ports, { action: 'data.export' });
    ports.clock.advance(3_700_000);
    const real = ports.ledger.append.bind(ports.ledger);
    ports.ledger.append = (async (id: string, decide: Parameters<typeof real>[1]) =>
      id === a.state.id ? Promise.reject(new Error('throttled')) : real(id, decide)) as typeof real;
    const failed: string[] = [];
    expect(await repairPending(ports, { stopAt: Number.MAX_SAFE_INTEGER, graceMs: 60_000, onFailure: (id) => failed.push(id) })).toEqual({
      completed: 0,
      started: 0,
      expired: 1,
    });
    expect(failed).toEqual([a.state.id]);
    expect((await ports.requests.get(b.state.id))?.status).toBe('expired');
  });
});

describe('checkpoints and export', () => {
  it('writes checkpoints under the lease, and skips while another run holds it', async () => {
    const ports = memoryPorts(config);
    const runs: Array<{ settleSeconds: number; deadline: number }> = [];
    const checkpoints = { run: async (input: { settleSeconds: number; deadline: number }) => (runs.push(input), []) };
    const leases = new MemoryLeases();
    expect(await writeCheckpoints({ clock: ports.clock, metrics: ports.metrics, checkpoints, leases }, { settleSeconds: 60, remainingMs: 60_000 })).toEqual({
      checkpoints: [],
    });
    expect(runs).toEqual([{ settleSeconds: 60, deadline: ports.clock.now().getTime() + 45_000, onWritten: expect.any(Function) }]);
    leases.held.add('checkpoint');
    expect(await writeCheckpoints({ clock: ports.clock, metrics: ports.metrics, checkpoints, leases }, { settleSeconds: 60, remainingMs: 60_000 })).toEqual({
      checkpoints: [],
      skipped: true,
    });
  });

  it('exports to auditors only, sealed, and refuses a window backwards or a cursor it did not sign', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    const items = await ports.ledger.read(state.id);
    const exportSource = { page: async () => ({ items: items as unknown as Array<Record<string, unknown>> }), latestCheckpoint: async () => undefined };
    await expect(exportLedger(ports, exportSource, AGENT, {})).rejects.toMatchObject({ code: 'forbidden' });
    await expect(
      exportLedger(ports, exportSource, 'audit@example.com', { since: '2026-12-01T00:00:00.000Z', until: '2026-11-01T00:00:00.000Z' }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    const page = await exportLedger(ports, exportSource, 'Audit@Example.com', {});
    expect(page.cursor).toBeNull();
    expect(page.seal).toMatchObject({ records: 2 });
    await expect(exportLedger(ports, exportSource, 'audit@example.com', { cursor: 'forged' })).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
