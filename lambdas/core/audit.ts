/**
 * The audit ledger's records (API.md "Audit"): hash-chained per request, each hash signed by the ledger's KMS
 * ECC_NIST_P256 key. hash = SHA-256 of the RFC 8785 canonical JSON of the record without `hash` and `signature`;
 * signature = DER ECDSA P-256 over that digest (KMS Sign, MessageType DIGEST), so anyone with the public key can
 * verify a chain offline.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import canonicalize from 'canonicalize';
import { z } from 'zod';

export const AUDIT_TYPES = ['requested', 'policy_decided', 'notified', 'reminded', 'escalated', 'voted', 'approved', 'denied', 'expired', 'cancelled'] as const;
export const auditTypeSchema = z.enum(AUDIT_TYPES);
export type AuditType = z.infer<typeof auditTypeSchema>;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');

// Strict: a field outside the hashed set would be unsigned data riding along with a signed record.
export const auditRecordSchema = z.strictObject({
  requestId: z.string().min(1),
  seq: z.int().min(1),
  type: auditTypeSchema,
  at: z.iso.datetime(),
  actor: z.string(),
  data: z.record(z.string(), z.unknown()),
  prevHash: sha256Hex,
  hash: sha256Hex,
  signature: z.base64(),
  keyId: z.string().min(1),
});
export type AuditRecord = z.infer<typeof auditRecordSchema>;
export type UnsignedRecord = Omit<AuditRecord, 'hash' | 'signature'>;

/** What a caller asks the ledger to append; the ledger adds the chain fields. */
export const auditEventSchema = z.strictObject({
  type: auditTypeSchema,
  actor: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type AuditEvent = z.infer<typeof auditEventSchema>;

/** prevHash of the first record (seq 1) of every chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** The bytes that are hashed: RFC 8785 canonical JSON, so key order and whitespace never change a hash. */
export function canonicalRecordJson(unsigned: UnsignedRecord): string {
  const { hash: _hash, signature: _signature, ...fields } = unsigned as UnsignedRecord & Partial<AuditRecord>;
  const json = canonicalize(fields);
  if (json === undefined) throw new TypeError('audit record cannot be canonicalized');
  return json;
}

/** SHA-256 of the canonical record without `hash` and `signature`: the digest KMS signs. */
export function recordDigest(unsigned: UnsignedRecord): Buffer {
  return createHash('sha256').update(canonicalRecordJson(unsigned), 'utf8').digest();
}

export function recordHash(unsigned: UnsignedRecord): string {
  return recordDigest(unsigned).toString('hex');
}

/**
 * The next record of `chain` for `event`, not yet signed. `data` is passed through JSON so what is hashed is
 * exactly what reads back from the table (undefined values dropped, no class instances).
 */
export function nextUnsignedRecord(
  chain: readonly AuditRecord[],
  requestId: string,
  event: AuditEvent,
  at: Date,
  keyId: string,
): UnsignedRecord {
  const { type, actor, data } = auditEventSchema.parse(event);
  const last = chain.at(-1);
  return {
    requestId,
    seq: last ? last.seq + 1 : 1,
    type,
    at: at.toISOString(),
    actor,
    data: JSON.parse(canonicalize(data) ?? '{}') as Record<string, unknown>,
    prevHash: last ? last.hash : GENESIS_HASH,
    keyId,
  };
}

/** The uncompressed SEC1 point of a P-256 public key, the form @noble/curves verifies against. */
export function p256PublicKeyPoint(publicKey: KeyObject): Uint8Array {
  if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TypeError('expected an EC P-256 public key');
  }
  const jwk = publicKey.export({ format: 'jwk' });
  if (!jwk.x || !jwk.y) throw new TypeError('expected an EC P-256 public key');
  return Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
}

function withoutSignature(record: AuditRecord): UnsignedRecord {
  const { hash: _hash, signature: _signature, ...unsigned } = record;
  return unsigned;
}

function signatureValid(record: AuditRecord, digest: Uint8Array, point: Uint8Array): boolean {
  try {
    // prehash: false: the digest is what KMS signed (MessageType DIGEST); lowS: false as KMS does not normalize S.
    return p256.verify(Buffer.from(record.signature, 'base64'), digest, point, { prehash: false, format: 'der', lowS: false });
  } catch {
    return false; // malformed DER
  }
}

/** One record's problem, or undefined when its hash matches its content and its signature verifies. */
function recordProblem(record: AuditRecord, point: Uint8Array): string | undefined {
  const digest = recordDigest(withoutSignature(record));
  if (digest.toString('hex') !== record.hash) return 'hash does not match the record content';
  if (!signatureValid(record, digest, point)) return 'signature does not verify';
  return undefined;
}

export function verifyRecord(record: AuditRecord, publicKey: KeyObject): boolean {
  return recordProblem(record, p256PublicKeyPoint(publicKey)) === undefined;
}

export interface ChainVerification {
  readonly ok: boolean;
  readonly problems: Array<{ seq: number; problem: string }>;
}

/**
 * Checks a request's whole chain, oldest first: one requestId, seq 1..n without gaps, each prevHash the previous
 * record's hash, and each record's hash and signature. An empty chain has nothing wrong with it.
 */
export function verifyChain(records: readonly AuditRecord[], publicKey: KeyObject): ChainVerification {
  const point = p256PublicKeyPoint(publicKey);
  const problems: Array<{ seq: number; problem: string }> = [];
  const requestId = records[0]?.requestId;
  records.forEach((record, index) => {
    const expectedSeq = index + 1;
    if (record.seq !== expectedSeq) problems.push({ seq: record.seq, problem: `expected seq ${expectedSeq}` });
    if (record.requestId !== requestId) {
      problems.push({ seq: record.seq, problem: `requestId ${record.requestId} differs from ${requestId}` });
    }
    const expectedPrev = index === 0 ? GENESIS_HASH : records[index - 1]!.hash;
    if (record.prevHash !== expectedPrev) {
      problems.push({ seq: record.seq, problem: "prevHash does not match the previous record's hash" });
    }
    const problem = recordProblem(record, point);
    if (problem) problems.push({ seq: record.seq, problem });
  });
  return { ok: problems.length === 0, problems };
}
