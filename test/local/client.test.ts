/**
 * The TypeScript client against local mode: outcomes of every kind, long-polling to a deadline, waiting again,
 * cancel, an approver's pending list, retries that never create a second request, Retry-After, typed errors and
 * AbortSignal. A small proxy in front of local mode loses answers and throttles on purpose.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalDeadlineError, Countersign, CountersignApiError } from '../../client/index';
import { verifyReceipt } from '../../lambdas/core/receipt';
import { closeServer, listenLoopback } from '../../local/aws-json';
import { sharedCountersign } from './harness';

// The run's shared local mode (default policy): this file's requests are told apart by their own resources.
const countersign = sharedCountersign();
const run = randomUUID().slice(0, 8);
let publicKeyPem: string;
const agent = () => new Countersign({ url: countersign.url, apiKey: 'demo-agent-key', retry: { baseDelayMs: 10 } });
const approver = (key: string) => new Countersign({ url: countersign.url, apiKey: key });

/** Waits until `probe` answers something. */
async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met');
}

beforeAll(async () => {
  publicKeyPem = await (await fetch(`${countersign.url}/v1/audit/public-key`, { headers: { authorization: 'Bearer demo-agent-key' } })).text();
}, 60_000);

describe('requestApproval', () => {
  it('answers at once when policy decides: approved with a receipt, or denied with the reason', async () => {
    const allowed = await agent().requestApproval({ action: 'reports.read', resource: 'warehouse', parameters: { rows: 10 } });
    expect(allowed).toMatchObject({ status: 'approved', view: { decidedBy: 'policy', rule: 'read-only' } });
    expect(verifyReceipt(allowed.receipt!, publicKeyPem, { parameters: { rows: 10 } })).toMatchObject({ sub: allowed.id, action: 'reports.read' });
    const denied = await agent().requestApproval({ action: 'db.drop_table', environment: 'production' });
    expect(denied).toMatchObject({ status: 'denied', reason: 'Dropping production databases is never automated.' });
    expect(denied.receipt).toBeUndefined();
  });

  it('long-polls until the approvers decide, and lists the request as waiting for each of them until they vote', async () => {
    const resource = `db:churn-${run}`;
    const asking = agent().requestApproval({ action: 'data.export', environment: 'production', resource, justification: 'churn' }, { timeoutMs: 60_000 });
    const waiting = await until(async () =>
      (await approver('alice-key').pending()).find((v) => v.action === 'data.export' && v.resource === resource && v.status === 'pending'),
    );
    expect(waiting).toMatchObject({ requester: 'arn:aws:iam::000000000000:role/demo-agent', missing: ['2 more approvals'] });
    expect((await approver('demo-agent-key').pending()).map((v) => v.id)).not.toContain(waiting.id);
    await approver('alice-key').decide(waiting.id, 'approve', 'fine');
    expect((await approver('alice-key').pending()).map((v) => v.id)).not.toContain(waiting.id);
    expect((await approver('bob-key').pending()).map((v) => v.id)).toContain(waiting.id);
    await approver('bob-key').decide(waiting.id, 'approve');
    const outcome = await asking;
    expect(outcome).toMatchObject({ status: 'approved', id: waiting.id, view: { decidedBy: 'approvers' } });
    expect(verifyReceipt(outcome.receipt!, publicKeyPem).approvers.sort()).toEqual(['alice@example.com', 'bob@example.com']);
  }, 60_000);

  it('gives up at the deadline with the request id, and wait() picks it up again; a deny carries its reason', async () => {
    const started = Date.now();
    const error = await agent()
      .requestApproval({ action: 'data.export', environment: 'staging' }, { timeoutMs: 1500 })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ApprovalDeadlineError);
    expect(Date.now() - started).toBeLessThan(10_000);
    const { id } = error as ApprovalDeadlineError;
    expect((error as ApprovalDeadlineError).view.status).toBe('pending');
    const again = agent().wait(id, { timeoutMs: 30_000 });
    await approver('alice-key').decide(id, 'deny', 'not this quarter');
    expect(await again).toMatchObject({ status: 'denied', id, reason: 'not this quarter' });
  }, 60_000);

  it('cancels a pending request; the outcome is cancelled', async () => {
    const created = await agent().createAction({ action: 'infra.apply', resource: 'vpc' });
    expect(created.status).toBe('pending');
    await agent().cancel(created.id);
    expect(await agent().wait(created.id)).toMatchObject({ status: 'cancelled', view: { decidedBy: 'requester' } });
  });

  it('stops waiting when the caller aborts', async () => {
    const controller = new AbortController();
    const asking = agent().requestApproval({ action: 'infra.apply', resource: 'subnet' }, { signal: controller.signal, timeoutMs: 60_000 });
    setTimeout(() => controller.abort(new Error('caller gave up')), 500);
    const started = Date.now();
    await expect(asking).rejects.toThrow('caller gave up');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses an invalid request before sending it, and maps API errors to typed errors', async () => {
    await expect(agent().requestApproval({ action: 'Not An Action' })).rejects.toThrow(/expected 1-128 characters/);
    const error = await new Countersign({ url: countersign.url, apiKey: 'no-such-key' }).getStatus('act_x').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CountersignApiError);
    expect(error).toMatchObject({ status: 401, code: 'unauthorized' });
    await expect(agent().decide('act_nothing', 'approve')).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });
});

describe('retries', () => {
  let proxy: Server;
  let proxyUrl: string;
  /** What the proxy does to the next answers, oldest first: lose the answer after forwarding, or throttle. */
  const plan: Array<'lose' | 'throttle'> = [];
  const seen: Array<{ method: string; path: string; key?: string }> = [];

  beforeAll(async () => {
    proxy = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const key = req.headers['idempotency-key'];
      seen.push({ method: req.method!, path: req.url!, ...(typeof key === 'string' ? { key } : {}) });
      const step = plan.shift();
      if (step === 'throttle') {
        res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"error":{"code":"rate_limited","message":"slow down"}}');
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name !== 'host' && name !== 'content-length')) as Record<
        string,
        string
      >;
      const upstream = await fetch(`${countersign.url}${req.url}`, { method: req.method!, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
      const body = await upstream.text();
      // The request reached the API, but its answer is lost on the way back.
      if (step === 'lose') res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
      else res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(body);
    });
    proxyUrl = await listenLoopback(proxy);
  });
  afterAll(() => closeServer(proxy));

  it('retries a lost answer with the same Idempotency-Key, so one request exists', async () => {
    seen.length = 0;
    plan.push('lose', 'lose');
    const client = new Countersign({ url: proxyUrl, apiKey: 'demo-agent-key', retry: { baseDelayMs: 10 } });
    const outcome = await client.requestApproval({ action: 'reports.read', resource: 'lost-answer' });
    const posts = seen.filter((s) => s.method === 'POST');
    expect(posts).toHaveLength(3);
    expect(new Set(posts.map((p) => p.key)).size).toBe(1);
    expect(outcome.status).toBe('approved');
    // The three deliveries of the one POST landed on one request: its ledger has one `requested` record.
    const audit = await fetch(`${countersign.url}/v1/actions/${outcome.id}/audit`, { headers: { authorization: 'Bearer audit-key' } });
    expect(((await audit.json()) as Array<{ type: string }>).filter((r) => r.type === 'requested')).toHaveLength(1);
  });

  it('honours Retry-After on 429, and gives up after its attempts with the last error', async () => {
    seen.length = 0;
    plan.push('throttle');
    const started = Date.now();
    const client = new Countersign({ url: proxyUrl, apiKey: 'demo-agent-key', retry: { baseDelayMs: 10 } });
    expect((await client.requestApproval({ action: 'reports.read' })).status).toBe('approved');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    plan.push('throttle', 'throttle', 'throttle');
    seen.length = 0;
    const error = await new Countersign({ url: proxyUrl, apiKey: 'demo-agent-key', retry: { attempts: 2, baseDelayMs: 10 } })
      .requestApproval({ action: 'reports.read' })
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(seen).toHaveLength(2);
    plan.length = 0;
  }, 30_000);

  it('does not retry a client error', async () => {
    seen.length = 0;
    await expect(new Countersign({ url: proxyUrl, apiKey: 'demo-agent-key' }).getStatus('act_missing')).rejects.toMatchObject({ code: 'not_found' });
    expect(seen).toHaveLength(1);
  });
});
