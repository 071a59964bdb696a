/**
 * One checkpointer and one repair run at a time without reserved concurrency: the lease item in the requests table
 * (conditional PutItem), against dynalite. Of two concurrent runs one works and one skips; an expired lease is taken
 * over; a lease given back lets the next run in at once; and the scheduled handlers skip cleanly while it is held.
 */
import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../lambdas/adapters/config-file';
import { acquireLease, LEASE_SKEW_MS, LEASES, type LeaseOptions, withLease } from '../../lambdas/adapters/lease';
import { shippedConfig } from '../../lambdas/core/config';
import { createTable, REQUESTS_TABLE_SCHEMA } from '../fixtures/tables';
import { ROOT } from './harness';
import { createLedgerTable, type LedgerStores, startLedgerStores } from './ledger-table';

let stores: LedgerStores;
let tables = 0;

/** A requests table as the stack defines it. */
async function newRequestsTable(): Promise<string> {
  const TableName = `requests${++tables}`;
  await createTable(stores.rawDynamo, TableName, REQUESTS_TABLE_SCHEMA);
  return TableName;
}

const options = (tableName: string, extra: Partial<LeaseOptions> = {}): LeaseOptions => ({
  dynamo: stores.dynamo,
  tableName,
  name: 'checkpoint',
  durationMs: 240_000,
  ...extra,
});

beforeAll(async () => {
  stores = await startLedgerStores('cs-lease-');
});
afterAll(async () => {
  await stores?.close();
});

describe('the lease', () => {
  it('lets exactly one of two concurrent runs work; the other skips without running', async () => {
    const table = await newRequestsTable();
    for (let round = 0; round < 5; round++) {
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const ran: string[] = [];
      // Both works wait at the gate, so the winner still holds the lease while the other tries.
      const work = (who: string) => async () => {
        ran.push(who);
        await gate;
        return who;
      };
      const runs = [withLease(options(table), work('a')), withLease(options(table), work('b'))];
      const loser = await Promise.race(runs);
      expect(loser).toEqual({ ran: false });
      open();
      const results = await Promise.all(runs);
      expect(results.filter((r) => r.ran)).toHaveLength(1);
      expect(ran).toHaveLength(1);
      // Given back at the end: the next run is not kept waiting for the expiry.
      const item = (await stores.dynamo.send(new GetCommand({ TableName: table, Key: { id: LEASES.checkpoint }, ConsistentRead: true }))).Item;
      expect(item?.expiresAt).toBe(0);
    }
  });

  it('expires when the run must have ended, and is then taken over; a stale holder cannot give back the new one', async () => {
    const table = await newRequestsTable();
    let now = 1_000_000;
    const clock = () => now;
    const first = await acquireLease(options(table, { now: clock, durationMs: 50_000 }));
    // The run's time, and the allowance for another host's clock running ahead.
    expect(first?.expiresAt).toBe(1_050_000 + LEASE_SKEW_MS);
    now = 1_049_999 + LEASE_SKEW_MS;
    expect(await acquireLease(options(table, { now: clock }))).toBeUndefined();
    now = 1_050_000 + LEASE_SKEW_MS;
    const second = await acquireLease(options(table, { now: clock, durationMs: 50_000 }));
    expect(second).toBeDefined();
    expect(second!.holder).not.toBe(first!.holder);
    // The first run, late, gives back what is no longer its own: nothing changes.
    await first!.release();
    now = 1_060_000 + LEASE_SKEW_MS;
    expect(await acquireLease(options(table, { now: clock }))).toBeUndefined();
    await second!.release();
    expect(await acquireLease(options(table, { now: clock }))).toBeDefined();
  });

  it('keeps the checkpoint and repair leases apart', async () => {
    const table = await newRequestsTable();
    const checkpoint = await acquireLease(options(table, { name: 'checkpoint' }));
    const repair = await acquireLease(options(table, { name: 'repair' }));
    expect(checkpoint).toBeDefined();
    expect(repair).toBeDefined();
  });

  it('gives the lease back when the work throws', async () => {
    const table = await newRequestsTable();
    await expect(withLease(options(table), async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await withLease(options(table), async () => 'next')).toEqual({ ran: true, result: 'next' });
  });
});

describe('the scheduled handlers', () => {
  let requests: string;
  let ledgerTable: string;
  const context = (ms: number) => ({ getRemainingTimeInMillis: () => ms });

  beforeAll(async () => {
    requests = await newRequestsTable();
    ledgerTable = 'ledger';
    await createLedgerTable(stores.rawDynamo, ledgerTable);
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: stores.dynamoUrl,
      AWS_ENDPOINT_URL_KMS: stores.kmsUrl,
      LEDGER_TABLE: ledgerTable,
      LEDGER_KEY_ID: stores.keyId,
      REQUESTS_TABLE: requests,
      LEASE_TABLE: requests,
      CHECKPOINT_SETTLE_SECONDS: '1',
      // The policy the bundles inline (lib/bundling.ts): the repair job reads it to end grants a policy change ended.
      COUNTERSIGN_CONFIG_JSON: JSON.stringify(shippedConfig(loadConfigFile(join(ROOT, 'countersign.config.yaml')))),
    });
  });

  it('skip cleanly while another run holds their lease, and run once it expired', async () => {
    const checkpoint = (await import('../../lambdas/checkpoint/handler')).handler;
    const repair = (await import('../../lambdas/repair/handler')).handler;
    let now = Date.now();
    // Another run holds each lease, and will for a while.
    for (const name of ['checkpoint', 'repair'] as const)
      expect(await acquireLease(options(requests, { name, now: () => now, durationMs: 60_000 }))).toBeDefined();
    expect(await checkpoint({}, context(240_000))).toEqual({ checkpoints: [], skipped: true });
    expect(await repair({}, context(50_000))).toEqual({ completed: 0, started: 0, expired: 0, skipped: true });
    const ledgerItems = await stores.dynamo.send(new GetCommand({ TableName: ledgerTable, Key: { requestId: 'checkpoint', seq: 1 } }));
    expect(ledgerItems.Item).toBeUndefined();

    // Those runs ended without giving their leases back (a timeout): the leases expired with them.
    now -= 60_000;
    for (const name of ['checkpoint', 'repair'] as const) {
      await stores.dynamo.send(new PutCommand({ TableName: requests, Item: { id: LEASES[name], holder: 'crashed', expiresAt: now } }));
    }
    const written = await checkpoint({}, context(240_000));
    expect(written.skipped).toBeUndefined();
    expect(written.checkpoints.map((c) => c.seq)).toEqual([1]);
    expect(await repair({}, context(50_000))).toEqual({ completed: 0, started: 0, expired: 0 });
    // Given back when done: the next tick runs.
    expect((await checkpoint({}, context(240_000))).skipped).toBeUndefined();
  });
});
