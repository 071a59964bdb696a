import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type AuditEvent,
  type AuditRecord,
  auditRecordSchema,
  canonicalRecordJson,
  GENESIS_HASH,
  nextUnsignedRecord,
  recordDigest,
  recordHash,
  type UnsignedRecord,
  verifyChain,
  verifyRecord,
} from '../../lambdas/core/ledger-record';
import { signEntry, testKey } from '../fixtures/ledger-key';

function signRecord(unsigned: UnsignedRecord, secretKey: Uint8Array): AuditRecord {
  return auditRecordSchema.parse(signEntry(unsigned, secretKey));
}

function buildChain(events: AuditEvent[], secretKey: Uint8Array, requestId = 'act_1'): AuditRecord[] {
  const chain: AuditRecord[] = [];
  events.forEach((event, index) => {
    chain.push(signRecord(nextUnsignedRecord(chain, requestId, event, new Date(Date.UTC(2025, 0, 1, 0, index)), 'k1'), secretKey));
  });
  return chain;
}

const events: AuditEvent[] = [
  { type: 'requested', actor: 'agent', data: { action: 'data.export' } },
  { type: 'policy_decided', actor: 'policy', data: { rule: 'prod-exports', effect: 'require_approval' } },
  { type: 'voted', actor: 'alice@example.com', data: { decision: 'approve' } },
  { type: 'approved', actor: 'countersign', data: {} },
];

describe('record hashing', () => {
  const known: UnsignedRecord = {
    requestId: 'act_1',
    seq: 1,
    type: 'voted',
    at: '2025-01-01T00:00:00.000Z',
    actor: 'alice@example.com',
    data: { n: 1e-7, b: [2, true, null], a: 'é' },
    prevHash: GENESIS_HASH,
    keyId: 'k1',
  };

  it('hashes the RFC 8785 canonical JSON, matching a hand-computed SHA-256', () => {
    const canonical =
      '{"actor":"alice@example.com","at":"2025-01-01T00:00:00.000Z","data":{"a":"é","b":[2,true,null],"n":1e-7},' +
      '"keyId":"k1","prevHash":"0000000000000000000000000000000000000000000000000000000000000000","requestId":"act_1","seq":1,"type":"voted"}';
    expect(canonicalRecordJson(known)).toBe(canonical);
    // printf '%s' "$canonical" | sha256sum
    expect(recordHash(known)).toBe('23ccd01329fe473d79a504c68ad9608df73e5e7977aaa8e15251215d6eda2d2f');
    expect(recordDigest(known)).toHaveLength(32);
  });

  it('is independent of key order, at the top level and inside data', () => {
    const reordered = {
      keyId: 'k1',
      data: { a: 'é', b: [2, true, null], n: 1e-7 },
      type: 'voted',
      seq: 1,
      prevHash: GENESIS_HASH,
      actor: 'alice@example.com',
      at: '2025-01-01T00:00:00.000Z',
      requestId: 'act_1',
    } as const;
    expect(recordHash(reordered)).toBe(recordHash(known));
    expect(recordHash({ ...known, data: { ...known.data, a: 'e' } })).not.toBe(recordHash(known));
  });

  it('ignores hash and signature when given a whole record', () => {
    const { secretKey } = testKey();
    const record = signRecord(known, secretKey);
    expect(recordHash(record)).toBe(record.hash);
    expect(recordHash({ ...record, hash: 'f'.repeat(64), signature: 'AAAA' } as AuditRecord)).toBe(record.hash);
  });

  it('builds the next record from the chain head, with data as it will read back', () => {
    const { secretKey } = testKey();
    const chain = buildChain(events.slice(0, 2), secretKey);
    const next = nextUnsignedRecord(chain, 'act_1', { type: 'voted', actor: 'bob', data: { reason: undefined, n: 1 } }, new Date(0), 'k1');
    // A clock behind the chain's head stamps the head's time, never earlier.
    expect(next).toMatchObject({ seq: 3, prevHash: chain[1]!.hash, at: chain[1]!.at, data: { n: 1 } });
    expect('reason' in next.data).toBe(false);
    expect(nextUnsignedRecord([], 'act_2', events[0]!, new Date(0), 'k1')).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(() => nextUnsignedRecord([], 'act_2', { type: 'bogus', actor: 'x', data: {} } as unknown as AuditEvent, new Date(0), 'k1')).toThrow();
  });
});

describe('verifyRecord and verifyChain', () => {
  const { secretKey, publicKey } = testKey();
  const chain = buildChain(events, secretKey);

  it('accepts an intact chain', () => {
    expect(chain.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(chain.every((r) => verifyRecord(r, publicKey))).toBe(true);
    expect(verifyChain(chain, publicKey)).toEqual({ ok: true, problems: [] });
  });

  it('verifies the signature over the digest itself, not a hash of it', () => {
    const { privateKey, publicKey: nodePublic } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const unsigned = nextUnsignedRecord([], 'act_9', events[0]!, new Date(0), 'k1');
    const digest = recordDigest(unsigned);
    const withSignature = (signature: Buffer): AuditRecord => ({ ...unsigned, hash: digest.toString('hex'), signature: signature.toString('base64') });
    // node:crypto hashes what it signs: over the canonical JSON it produces the signature KMS makes over the digest.
    expect(verifyRecord(withSignature(nodeSign('sha256', Buffer.from(canonicalRecordJson(unsigned)), privateKey)), nodePublic)).toBe(true);
    expect(verifyRecord(withSignature(nodeSign('sha256', digest, privateKey)), nodePublic)).toBe(false);
  });

  it('catches an edited field', () => {
    const edited = chain.map((r) => (r.seq === 3 ? { ...r, data: { decision: 'deny' } } : r));
    expect(verifyRecord(edited[2]!, publicKey)).toBe(false);
    const result = verifyChain(edited, publicKey);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([{ seq: 3, problem: 'hash does not match the record content' }]);
  });

  it('catches an edited field whose hash was recomputed (the signature no longer matches)', () => {
    const forged = chain.map((r) => {
      if (r.seq !== 3) return r;
      const { hash: _h, signature, ...unsigned } = r;
      const changed = { ...unsigned, actor: 'mallory@example.com' };
      return { ...changed, hash: recordHash(changed), signature };
    });
    expect(verifyRecord(forged[2]!, publicKey)).toBe(false);
    expect(verifyChain(forged, publicKey).problems).toContainEqual({ seq: 3, problem: 'signature does not verify' });
  });

  it('catches a broken prevHash link', () => {
    // Re-signed with the right key, so only the link is wrong.
    const relinked = [...chain];
    const { hash: _h, signature: _s, ...unsigned } = chain[2]!;
    relinked[2] = signRecord({ ...unsigned, prevHash: chain[0]!.hash }, secretKey);
    expect(verifyRecord(relinked[2]!, publicKey)).toBe(true);
    const result = verifyChain(relinked, publicKey);
    expect(result.ok).toBe(false);
    // Record 4 still points at the original record 3, so its link breaks too.
    expect(result.problems).toEqual([
      { seq: 3, problem: "prevHash does not match the previous record's hash" },
      { seq: 4, problem: "prevHash does not match the previous record's hash" },
    ]);
  });

  it('catches a signature taken from another record', () => {
    const swapped = chain.map((r) => (r.seq === 2 ? { ...r, signature: chain[0]!.signature } : r));
    expect(verifyRecord(swapped[1]!, publicKey)).toBe(false);
    expect(verifyChain(swapped, publicKey).problems).toEqual([{ seq: 2, problem: 'signature does not verify' }]);
  });

  it('rejects a signature from another key and malformed DER', () => {
    const other = testKey();
    expect(verifyChain(chain, other.publicKey).problems).toHaveLength(4);
    expect(verifyRecord({ ...chain[0]!, signature: Buffer.from('not der').toString('base64') }, publicKey)).toBe(false);
  });

  it('catches a gap in seq', () => {
    const gapped = [chain[0]!, chain[1]!, chain[3]!];
    const result = verifyChain(gapped, publicKey);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      { seq: 4, problem: 'expected seq 3' },
      { seq: 4, problem: "prevHash does not match the previous record's hash" },
    ]);
    // A chain that starts late is a gap too.
    expect(verifyChain(chain.slice(1), publicKey).problems[0]).toEqual({ seq: 2, problem: 'expected seq 1' });
  });

  it('catches records of another request mixed in', () => {
    const foreign = buildChain(events, secretKey, 'act_2');
    const mixed = [chain[0]!, foreign[1]!];
    expect(verifyChain(mixed, publicKey).problems).toContainEqual({ seq: 2, problem: 'requestId act_2 differs from act_1' });
  });

  it('refuses a public key that is not P-256', () => {
    const { publicKey: ed } = generateKeyPairSync('ed25519');
    expect(() => verifyChain(chain, ed)).toThrow(/P-256/);
  });
});

describe('record times', () => {
  it('never go back along a chain, whatever the writer clock says', async () => {
    const { nextUnsignedRecord } = await import('../../lambdas/core/ledger-record');
    const first = {
      ...nextUnsignedRecord([], 'act_t', { type: 'requested', actor: 'a', data: {} }, new Date('2026-11-30T10:00:05.000Z'), 'k'),
      hash: 'a'.repeat(64),
      signature: '',
    };
    const behind = nextUnsignedRecord([first], 'act_t', { type: 'notified', actor: 'countersign', data: {} }, new Date('2026-11-30T10:00:03.000Z'), 'k');
    expect(behind.at).toBe('2026-11-30T10:00:05.000Z');
    const ahead = nextUnsignedRecord([first], 'act_t', { type: 'notified', actor: 'countersign', data: {} }, new Date('2026-11-30T10:00:07.000Z'), 'k');
    expect(ahead.at).toBe('2026-11-30T10:00:07.000Z');
  });
});
