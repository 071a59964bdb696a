/**
 * The audit ledger adapter against real dynalite and the real local KMS endpoint, through the SDK v3 clients the
 * Lambdas use: chains verify, concurrent writers never fork or duplicate a chain, and failures write nothing.
 */
import { createPublicKey } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsLedgerSigner } from '../../lambdas/adapters/kms-signer';
import { LedgerTable } from '../../lambdas/adapters/ledger-table';
import { slotKeys } from '../../lambdas/core/checkpoint';
import { type AuditEvent, type AuditRecord, GENESIS_HASH, verifyChain } from '../../lambdas/core/ledger-record';
import { parametersHash, signReceipt, verifyReceipt } from '../../lambdas/core/receipt';
import { createLedgerTable, type LedgerStores, startLedgerStores } from './ledger-table';

const TABLE = 'ledger';
const region = 'us-east-1';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const MISSING_KEY = 'arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555';

let dynamoUrl: string;
let rawDynamo: DynamoDBClient;
let dynamo: DynamoDBDocumentClient;
let kms: KMSClient;
let keyArn: string;
let requestCounter = 0;

const nextRequestId = () => `act_${++requestCounter}_${Date.now()}`;

/** The ledger table with its signer (the local KMS endpoint), as the functions wire it. */
function ledger(overrides: { keyId?: string; dynamo?: DynamoDBDocumentClient; clock?: () => Date } = {}): LedgerTable & { publicKeyPem(): Promise<string> } {
  const signer = kmsLedgerSigner(kms, overrides.keyId ?? keyArn);
  const table = new LedgerTable({ tableName: TABLE, dynamo: overrides.dynamo ?? dynamo, signer, ...(overrides.clock ? { clock: overrides.clock } : {}) });
  return Object.assign(table, { publicKeyPem: () => signer.publicKeyPem() });
}

async function publicKey(store: { publicKeyPem(): Promise<string> }) {
  return createPublicKey(await store.publicKeyPem());
}

/** "Append the events of `wanted` that the chain does not have yet", keyed by type and actor. */
function missing(wanted: AuditEvent[]) {
  return (chain: readonly AuditRecord[]) => wanted.filter((w) => !chain.some((r) => r.type === w.type && r.actor === w.actor));
}

let stores: LedgerStores;

beforeAll(async () => {
  stores = await startLedgerStores('cs-ledger-');
  ({ dynamoUrl, rawDynamo, dynamo, kms, keyId: keyArn } = stores);
  await createLedgerTable(rawDynamo, TABLE);
});

afterAll(() => stores?.close());

describe('AuditLedgerStore', () => {
  it('appends a hash-chained, KMS-signed chain that verifies with the public key', async () => {
    const requestId = nextRequestId();
    const at = new Date('2025-06-01T12:00:00.000Z');
    const store = ledger({ clock: () => at });
    const wanted: AuditEvent[] = [
      { type: 'requested', actor: 'arn:aws:iam::000000000000:role/demo-agent', data: { action: 'data.export', parameters: { table: 'customers' } } },
      { type: 'policy_decided', actor: 'policy', data: { rule: 'prod-exports', effect: 'require_approval', reason: undefined } },
      { type: 'notified', actor: 'notifier', data: { channels: ['email'], count: 2 } },
    ];
    const { chain, appended } = await store.append(requestId, missing(wanted));
    expect(appended.map((r) => [r.seq, r.type])).toEqual([
      [1, 'requested'],
      [2, 'policy_decided'],
      [3, 'notified'],
    ]);
    expect(chain).toEqual(appended);
    expect(chain[0]!.prevHash).toBe(GENESIS_HASH);
    expect(chain[1]!.prevHash).toBe(chain[0]!.hash);
    expect(chain.every((r) => r.keyId === keyArn && r.at === at.toISOString())).toBe(true);

    const pem = await store.publicKeyPem();
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(await store.publicKeyPem()).toBe(pem);
    const read = await store.read(requestId);
    expect(read).toEqual(chain);
    expect(verifyChain(read, createPublicKey(pem))).toEqual({ ok: true, problems: [] });

    // Nothing missing: nothing written.
    const again = await store.append(requestId, missing(wanted));
    expect(again.appended).toEqual([]);
    expect(again.chain).toEqual(chain);
    expect(await store.read(nextRequestId())).toEqual([]);
  });

  it('stores the record itself as the item, with data as a map and the slot-index keys beside it', async () => {
    const requestId = nextRequestId();
    const { appended } = await ledger().append(requestId, missing([{ type: 'requested', actor: 'agent', data: { nested: { a: 1 } } }]));
    const { Item } = await rawDynamo.send(
      new GetItemCommand({ TableName: TABLE, Key: { requestId: { S: requestId }, seq: { N: '1' } }, ConsistentRead: true }),
    );
    expect(Object.keys(Item!).sort()).toEqual(['actor', 'at', 'data', 'hash', 'keyId', 'prevHash', 'requestId', 'rk', 'seq', 'signature', 'slot', 'type']);
    const { slot, rk } = slotKeys(appended[0]!);
    expect([Item!.slot, Item!.rk]).toEqual([{ S: slot }, { S: rk }]);
    // Read back, the record is exactly what was signed: the index keys are not part of it.
    expect((await ledger().read(requestId))[0]).toEqual(appended[0]);
    expect(Item!.data).toEqual({ M: { nested: { M: { a: { N: '1' } } } } });
    expect(Item!.hash).toEqual({ S: appended[0]!.hash });
  });

  it('read returns the records oldest first, across calls', async () => {
    const requestId = nextRequestId();
    const store = ledger();
    for (const type of ['requested', 'policy_decided', 'notified', 'voted', 'approved'] as const) {
      await store.append(requestId, missing([{ type, actor: 'x', data: {} }]));
    }
    const read = await store.read(requestId);
    expect(read.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(read.map((r) => r.type)).toEqual(['requested', 'policy_decided', 'notified', 'voted', 'approved']);
  });

  it('20 concurrent writers voting for 5 approvers end with exactly 5 votes, seq 1..5, and a verifying chain', async () => {
    const requestId = nextRequestId();
    const approvers = ['a', 'b', 'c', 'd', 'e'].map((name) => `${name}@example.com`);
    // Separate stores, as separate Lambda invocations would have.
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const approver = approvers[i % approvers.length]!;
        return ledger().append(requestId, missing([{ type: 'voted', actor: approver, data: { decision: 'approve' } }]));
      }),
    );
    const chain = await ledger().read(requestId);
    expect(chain.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(chain.every((r) => r.type === 'voted')).toBe(true);
    expect(chain.map((r) => r.actor).sort()).toEqual(approvers);
    expect(results.reduce((n, r) => n + r.appended.length, 0)).toBe(5);
    expect(verifyChain(chain, await publicKey(ledger()))).toEqual({ ok: true, problems: [] });
  });

  it('12 concurrent writers add the approved record exactly once when two votes exist', async () => {
    const requestId = nextRequestId();
    const store = ledger();
    const votes: AuditEvent[] = [
      { type: 'voted', actor: 'alice@example.com', data: { decision: 'approve' } },
      { type: 'voted', actor: 'bob@example.com', data: { decision: 'approve' } },
    ];
    const approveOnQuorum = (chain: readonly AuditRecord[]): AuditEvent[] => {
      const approvals = chain.filter((r) => r.type === 'voted').length;
      const settled = chain.some((r) => r.type === 'approved');
      return approvals >= 2 && !settled ? [{ type: 'approved', actor: 'countersign', data: { approvals } }] : [];
    };
    // Before quorum, nothing is decided.
    await store.append(requestId, missing(votes.slice(0, 1)));
    expect((await store.append(requestId, approveOnQuorum)).appended).toEqual([]);
    await store.append(requestId, missing(votes));

    const results = await Promise.all(Array.from({ length: 12 }, () => ledger().append(requestId, approveOnQuorum)));
    const chain = await store.read(requestId);
    expect(chain.map((r) => r.type)).toEqual(['voted', 'voted', 'approved']);
    // Exactly one writer appended it; every other one saw it in its final chain.
    expect(results.filter((r) => r.appended.length === 1)).toHaveLength(1);
    expect(results.every((r) => r.chain.at(-1)?.hash === chain[2]!.hash)).toBe(true);
    expect(verifyChain(chain, await publicKey(store)).ok).toBe(true);
  });

  it('a decide that throws aborts with that error and writes nothing', async () => {
    const requestId = nextRequestId();
    const refusal = new Error('request is already closed');
    await expect(
      ledger().append(requestId, () => {
        throw refusal;
      }),
    ).rejects.toBe(refusal);
    expect(await ledger().read(requestId)).toEqual([]);
  });

  it('a KMS failure propagates and writes nothing', async () => {
    const requestId = nextRequestId();
    const broken = ledger({ keyId: MISSING_KEY });
    await expect(broken.append(requestId, missing([{ type: 'requested', actor: 'agent', data: {} }]))).rejects.toMatchObject({
      name: 'NotFoundException',
    });
    await expect(broken.publicKeyPem()).rejects.toMatchObject({ name: 'NotFoundException' });
    expect(await ledger().read(requestId)).toEqual([]);
  });

  it('writes what decide asks for at once: one TransactWriteItems, the signatures in parallel, no read for a known chain', async () => {
    const requestId = nextRequestId();
    const sent: string[] = [];
    const counting = { send: (command: { constructor: { name: string } }) => (sent.push(command.constructor.name), dynamo.send(command as never)) };
    const store = ledger({ dynamo: counting as unknown as DynamoDBDocumentClient });
    const wanted: AuditEvent[] = ['requested', 'policy_decided', 'approved'].map((type) => ({ type: type as AuditEvent['type'], actor: 'x', data: {} }));
    const seen: number[] = [];
    const { chain, appended, alongside } = await store.append(requestId, missing(wanted), {
      known: [],
      alongside: async (planned) => {
        seen.push(planned.length);
        return planned.map((r) => r.hash).join();
      },
    });
    expect(appended.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(sent).toEqual(['TransactWriteCommand']);
    expect(alongside).toBe(chain.map((r) => r.hash).join());
    expect(seen).toEqual([3]);
    expect(verifyChain(await store.read(requestId), await publicKey(store)).ok).toBe(true);
    // A stale known chain loses the write, reads what is there, and decides again: nothing is missing.
    sent.length = 0;
    const again = await store.append(requestId, missing(wanted), { known: [] });
    expect(again.appended).toEqual([]);
    expect(sent).toEqual(['TransactWriteCommand', 'QueryCommand']);
  });

  it('concurrent writers of three records each never interleave: each batch lands whole, in one chain that verifies', async () => {
    const requestId = nextRequestId();
    const writers = Array.from({ length: 8 }, (_, i) => `writer-${i}`);
    const batchOf = (me: string) => (chain: readonly AuditRecord[]) => {
      const mine = chain.filter((r) => r.actor === me).length;
      return mine >= 3 ? [] : [{ type: 'voted' as const, actor: me, data: { n: mine } }];
    };
    await Promise.all(writers.map((me) => ledger().append(requestId, batchOf(me))));
    const chain = await ledger().read(requestId);
    expect(chain.map((r) => r.seq)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    for (let i = 0; i < 24; i += 3) {
      expect(new Set(chain.slice(i, i + 3).map((r) => r.actor)).size).toBe(1);
      expect(chain.slice(i, i + 3).map((r) => r.data.n)).toEqual([0, 1, 2]);
    }
    expect(verifyChain(chain, await publicKey(ledger())).ok).toBe(true);
  });

  it('gives up after 50 conflicting writes', async () => {
    // A client whose conditional puts always lose, as under endless contention.
    let puts = 0;
    // Its own DynamoDBClient: a document client shares the middleware stack of the client it wraps.
    const losingRaw = new DynamoDBClient({ endpoint: dynamoUrl, region, credentials });
    const losing = DynamoDBDocumentClient.from(losingRaw);
    losing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutItemCommand') {
          puts += 1;
          throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const requestId = nextRequestId();
    await expect(ledger({ dynamo: losing }).append(requestId, missing([{ type: 'requested', actor: 'agent', data: {} }]))).rejects.toThrow(
      /after 50 conflicting writes/,
    );
    expect(puts).toBe(50);
    expect(await ledger().read(requestId)).toEqual([]);
    losingRaw.destroy();
  });
});

describe('receipts signed by the ledger key through KMS', () => {
  it('verify with verifyReceipt and the ledger public key PEM', async () => {
    const parameters = { table: 'customers', format: 'csv' };
    const iat = Math.floor(Date.now() / 1000);
    const jws = await signReceipt(kmsLedgerSigner(kms, keyArn), {
      iss: 'countersign',
      sub: 'act_receipt',
      action: 'data.export',
      environment: 'production',
      paramsSha256: parametersHash(parameters),
      requester: 'arn:aws:iam::000000000000:role/demo-agent',
      approvers: ['alice@example.com', 'bob@example.com'],
      rule: 'prod-exports',
      iat,
      exp: iat + 900,
    });
    expect(JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString())).toEqual({ alg: 'ES256', typ: 'JWT', kid: keyArn });
    const pem = await ledger().publicKeyPem();
    const claims = verifyReceipt(jws, pem, { parameters: { format: 'csv', table: 'customers' } });
    expect(claims).toMatchObject({ sub: 'act_receipt', approvers: ['alice@example.com', 'bob@example.com'] });
    expect(() => verifyReceipt(jws, pem, { parameters: { ...parameters, format: 'json' } })).toThrow(/different parameters/);
  });

  it('signs receipts larger than KMS Sign accepts as a message', async () => {
    const iat = Math.floor(Date.now() / 1000);
    const approvers = Array.from({ length: 120 }, (_, i) => `approver-${i}@example.com`);
    const jws = await signReceipt(kmsLedgerSigner(kms, keyArn), {
      iss: 'countersign',
      sub: 'act_big',
      action: 'data.export',
      resource: `arn:aws:s3:::${'b'.repeat(2000)}`,
      paramsSha256: parametersHash(undefined),
      requester: 'agent',
      approvers,
      rule: 'default',
      iat,
      exp: iat + 60,
    });
    expect(jws.lastIndexOf('.')).toBeGreaterThan(4096);
    expect(verifyReceipt(jws, await ledger().publicKeyPem()).approvers).toHaveLength(120);
  });
});
