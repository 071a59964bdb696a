/**
 * The audit ledger's records (docs/api.md "Audit"): hash-chained per request, each hash signed by the ledger's KMS
 * ECC_NIST_P256 key, or by a function environment's key that the KMS key certified (core/signing-certificate.ts).
 * hash = SHA-256 of the RFC 8785 canonical JSON of the record without `hash` and `signature`; signature = DER ECDSA
 * P-256 over that digest (ECDSA_SHA_256 over the canonical JSON), so anyone with the KMS public key (and the
 * certificates the records name) can verify a chain offline.
 */
import { createHash, type KeyObject, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { LedgerSigner, RecordKey, RecordSigner } from './ports';
import { auditTypeSchema } from './records';
import { type RecordKeyLookup, recordKeys, type SigningCertificate } from './signing-certificate';
import * as z from './zod';

const sha256Hex = z.string().check(z.regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters'));

// Strict: a field outside the hashed set would be unsigned data riding along with a signed record.
export const auditRecordSchema = z.strictObject({
  requestId: z.string().check(z.minLength(1)),
  seq: z.int().check(z.gte(1)),
  type: auditTypeSchema,
  at: z.iso.datetime(),
  actor: z.string(),
  data: z.record(z.string(), z.unknown()),
  prevHash: sha256Hex,
  hash: sha256Hex,
  signature: z.base64(),
  keyId: z.string().check(z.minLength(1)),
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

/**
 * The bytes that are hashed: RFC 8785 canonical JSON without `hash` and `signature`, so key order and whitespace
 * never change a hash. Records and checkpoints are hashed alike.
 */
export function canonicalSignedJson(signed: object): string {
  const { hash: _hash, signature: _signature, ...fields } = signed as Record<string, unknown>;
  const json = canonicalize(fields);
  if (json === undefined) throw new TypeError('ledger entry cannot be canonicalized');
  return json;
}

/** The fields `recordCanonicalJson` spells out. */
type RecordField = 'actor' | 'at' | 'data' | 'hash' | 'keyId' | 'prevHash' | 'requestId' | 'seq' | 'signature' | 'type';
/** An AuditRecord while the schema's fields are exactly those (else never: a field added there must be spelled too). */
type SpelledRecord = [RecordField] extends [keyof AuditRecord] ? ([keyof AuditRecord] extends [RecordField] ? AuditRecord : never) : never;

/**
 * A record's canonical JSON without `hash` and `signature` (what is hashed and signed: `canonicalSignedJson`) and
 * with them (`canonicalize` of the whole record: what an export's seal digests), built together. A record's keys
 * are fixed, so they are spelled here in sorted order and only `data` goes through the canonicalizer: a verifier
 * reads every record of a ledger, and canonicalizing it twice whole cost more than hashing it.
 */
export function recordCanonicalJson(record: SpelledRecord): { signed: string; full: string } {
  const text = JSON.stringify;
  const data = canonicalize(record.data);
  if (data === undefined) throw new TypeError('ledger entry cannot be canonicalized');
  const head = `{"actor":${text(record.actor)},"at":${text(record.at)},"data":${data}`;
  const middle = `,"keyId":${text(record.keyId)},"prevHash":${text(record.prevHash)},"requestId":${text(record.requestId)},"seq":${text(record.seq)}`;
  const tail = `,"type":${text(record.type)}}`;
  return {
    signed: head + middle + tail,
    full: `${head},"hash":${text(record.hash)}${middle},"signature":${text(record.signature)}${tail}`,
  };
}

export function canonicalRecordJson(unsigned: UnsignedRecord): string {
  return canonicalSignedJson(unsigned);
}

/** SHA-256 of the canonical entry without `hash` and `signature`: the digest KMS signs (MessageType DIGEST). */
export function signedDigest(signed: object): Buffer {
  return createHash('sha256').update(canonicalSignedJson(signed), 'utf8').digest();
}

export function recordDigest(unsigned: UnsignedRecord): Buffer {
  return signedDigest(unsigned);
}

export function recordHash(unsigned: UnsignedRecord): string {
  return recordDigest(unsigned).toString('hex');
}

/**
 * The next record of `chain` for `event`, not yet signed. `data` is passed through JSON so what is hashed is
 * exactly what reads back from the table (undefined values dropped, no class instances). Its `at` is never before the
 * last record's, whatever the writer's clock says, so a chain read by time (a windowed export) is in seq order.
 */
export function nextUnsignedRecord(chain: readonly AuditRecord[], requestId: string, event: AuditEvent, at: Date, keyId: string): UnsignedRecord {
  const { type, actor, data } = z.parse(auditEventSchema, event);
  const last = chain.at(-1);
  return {
    requestId,
    seq: last ? last.seq + 1 : 1,
    type,
    at: last && Date.parse(last.at) > at.getTime() ? last.at : at.toISOString(),
    actor,
    data: JSON.parse(canonicalize(data) ?? '{}') as Record<string, unknown>,
    prevHash: last ? last.hash : GENESIS_HASH,
    keyId,
  };
}

/** The key, checked to be an EC P-256 public key: anything else cannot have signed a ledger entry. */
export function assertP256PublicKey(publicKey: KeyObject): KeyObject {
  if (publicKey.type !== 'public' || publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TypeError('expected an EC P-256 public key');
  }
  return publicKey;
}

export function withoutSignature(record: AuditRecord): UnsignedRecord {
  const { hash: _hash, signature: _signature, ...unsigned } = record;
  return unsigned;
}

/**
 * Whether `signature` (base64 DER) is the ledger key's signature over the entry whose canonical JSON (or its UTF-8
 * bytes) is given.
 * KMS signed SHA-256(canonical JSON) as a DIGEST, which is exactly ECDSA_SHA_256 over the canonical JSON itself,
 * so OpenSSL verifies it natively (about 40 times the rate of a pure-JS verify). OpenSSL, like KMS, accepts high S.
 */
export function signatureValid(signature: string, canonicalJson: string | Uint8Array, publicKey: KeyObject): boolean {
  try {
    const message = typeof canonicalJson === 'string' ? Buffer.from(canonicalJson, 'utf8') : canonicalJson;
    return verify('sha256', message, publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false; // malformed DER
  }
}

/**
 * Records signed with the ledger key itself, one KMS Sign each: the record signer where no certified one is wired
 * (adapters/certified-signer.ts is, on AWS and in local mode).
 */
export function ledgerKeyRecordSigner(signer: Pick<LedgerSigner, 'keyId' | 'signDigest'>): RecordSigner {
  const key: RecordKey = {
    keyId: signer.keyId,
    sign: (message) => signer.signDigest(createHash('sha256').update(message, 'utf8').digest()),
  };
  return { recordKey: async () => key };
}

/**
 * One record's problem, or undefined when its hash matches its content and its signature verifies: with the ledger
 * key, or with the key of the certificate it names (`keys`, from `recordKeys`; without it, certificates are absent).
 */
export function recordProblem(record: AuditRecord, publicKey: KeyObject, keys: RecordKeyLookup = recordKeys(publicKey, [])): string | undefined {
  const canonical = canonicalSignedJson(record);
  if (createHash('sha256').update(canonical, 'utf8').digest('hex') !== record.hash) return 'hash does not match the record content';
  const key = keys(record);
  if ('problem' in key) return key.problem;
  if (!signatureValid(record.signature, canonical, key)) return 'signature does not verify';
  return undefined;
}

export function verifyRecord(record: AuditRecord, publicKey: KeyObject, certificates: readonly SigningCertificate[] = []): boolean {
  return recordProblem(record, assertP256PublicKey(publicKey), recordKeys(publicKey, certificates)) === undefined;
}

export interface ChainVerification {
  readonly ok: boolean;
  readonly problems: Array<{ seq: number; problem: string }>;
}

/**
 * Checks a request's whole chain, oldest first: one requestId, seq 1..n without gaps, each prevHash the previous
 * record's hash, and each record's hash and signature, by the ledger key or by a key it certified (`certificates`
 * must hold every certificate the records name). An empty chain has nothing wrong with it.
 */
export function verifyChain(records: readonly AuditRecord[], publicKey: KeyObject, certificates: readonly SigningCertificate[] = []): ChainVerification {
  assertP256PublicKey(publicKey);
  const keys = recordKeys(publicKey, certificates);
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
    const problem = recordProblem(record, publicKey, keys);
    if (problem) problems.push({ seq: record.seq, problem });
  });
  return { ok: problems.length === 0, problems };
}
