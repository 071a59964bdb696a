/**
 * The requests table's adapters on dynalite (lambdas/adapters/request-store.ts, grant-index.ts): what their
 * conditional writes keep when callers race, and what the sparse grants index finds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantIndexTable } from '../../lambdas/adapters/grant-index';
import { requestsTable } from '../../lambdas/adapters/request-store';
import { createTable, REQUESTS_TABLE_SCHEMA } from '../fixtures/tables';
import { type LedgerStores, startLedgerStores } from './ledger-table';

let stores: LedgerStores;
const TABLE = 'requests';

beforeAll(async () => {
  stores = await startLedgerStores('cs-requests-');
  await createTable(stores.rawDynamo, TABLE, REQUESTS_TABLE_SCHEMA);
});
afterAll(() => stores.close());

describe('receipts in the requests table', () => {
  it('keeps the first receipt stored, and replaces an expired one once however many callers race to', async () => {
    const requests = requestsTable(stores.dynamo, () => TABLE);
    await requests.put({ id: 'act_r1', requester: 'agent', status: 'approved', createdAt: '2026-11-30T00:00:00.000Z' });
    expect((await requests.storeReceipt('act_r1', 'first'))?.receipt).toBe('first');
    expect((await requests.storeReceipt('act_r1', 'second'))?.receipt).toBe('first');
    const answers = await Promise.all(['a', 'b', 'c'].map((fresh) => requests.storeReceipt('act_r1', fresh, 'first')));
    const kept = (await requests.get('act_r1'))?.receipt;
    expect(['a', 'b', 'c']).toContain(kept);
    // Every caller answers the receipt that is stored, whoever replaced it.
    expect(answers.map((item) => item?.receipt)).toEqual([kept, kept, kept]);
    // Replacing a receipt that is no longer the stored one changes nothing.
    expect((await requests.storeReceipt('act_r1', 'late', 'first'))?.receipt).toBe(kept);
    expect(await requests.storeReceipt('act_none', 'x', 'first')).toBeUndefined();
  });
});

describe('the grants index', () => {
  it('finds live grants of a scope, longest-lived first, never a retired one, and lists both', async () => {
    const grants = grantIndexTable(stores.dynamo, () => TABLE);
    const put = (id: string, until: string) => grants.put({ id, requestId: `act_${id}`, until, rule: 'deploys', ruleDigest: 'd', scopeKey: 'scope-1' });
    await put('grt_a', '2026-12-01T01:00:00.000Z');
    await put('grt_b', '2026-12-01T03:00:00.000Z');
    await put('grt_c', '2026-12-01T02:00:00.000Z');
    await put('grt_old', '2026-11-01T00:00:00.000Z');
    const now = new Date('2026-12-01T00:00:00.000Z');
    expect((await grants.find('scope-1', now, 5)).map((g) => g.id)).toEqual(['grt_b', 'grt_c', 'grt_a']);
    expect((await grants.find('scope-1', now, 2)).map((g) => g.id)).toEqual(['grt_b', 'grt_c']);
    await grants.retire('grt_b');
    await grants.retire('grt_never');
    expect((await grants.find('scope-1', now, 5)).map((g) => g.id)).toEqual(['grt_c', 'grt_a']);
    const listed = await grants.list(now, 10);
    expect(listed.map((g) => [g.id, g.retired]).sort()).toEqual([
      ['grt_a', false],
      ['grt_b', true],
      ['grt_c', false],
    ]);
  });
});
