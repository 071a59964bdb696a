/**
 * Signing certificates (core/signing-certificate.ts, adapters/certified-signer.ts): an environment's ephemeral key,
 * certified by the ledger key, signs records; a verifier with the ledger key alone checks record → certificate →
 * ledger key, and refuses a forged certificate, a record outside its certificate's window, a record naming an absent
 * certificate, and a certificate whose public key was swapped. Records the ledger key signed itself still verify.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { certifiedRecordSigner } from '../../lambdas/adapters/certified-signer';
import { addExportItem, startExport } from '../../lambdas/core/export-seal';
import {
  type AuditEvent,
  type AuditRecord,
  auditRecordSchema,
  canonicalRecordJson,
  canonicalSignedJson,
  ledgerKeyRecordSigner,
  nextUnsignedRecord,
  recordHash,
  signatureValid,
  verifyChain,
  verifyRecord,
} from '../../lambdas/core/ledger-record';
import { verifyLedgerLines } from '../../lambdas/core/ledger-verify';
import type { RecordSigner } from '../../lambdas/core/ports';
import {
  CERTIFICATE_PARTITION_PREFIX,
  certificateDigest,
  certificateIdOf,
  certificateProblem,
  isCertificateId,
  type SigningCertificate,
  signingCertificateSchema,
  type UnsignedCertificate,
  unsignedCertificate,
} from '../../lambdas/core/signing-certificate';
import { sealedExportLines, testKey } from '../fixtures/ledger-key';

const KMS_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const LEDGER = testKey();
const T0 = Date.UTC(2026, 10, 1, 9, 0);
const minutes = (n: number) => new Date(T0 + n * 60_000);

/** The ledger key as KMS signs with it: ECDSA P-256 over the digest given (MessageType DIGEST). */
function ledgerKey(secretKey = LEDGER.secretKey) {
  let calls = 0;
  return {
    keyId: KMS_ARN,
    get calls() {
      return calls;
    },
    async signDigest(digest: Uint8Array) {
      calls += 1;
      return p256.sign(digest, secretKey, { prehash: false, format: 'der', lowS: false });
    },
  };
}

/** A certified signer over a clock the test moves, its certificates kept as the table would. */
function environment(options: { at?: () => Date; secretKey?: Uint8Array } = {}) {
  const stored: SigningCertificate[] = [];
  const kms = ledgerKey(options.secretKey);
  let now = minutes(0);
  const signer = certifiedRecordSigner({
    ledgerKey: kms,
    functionName: 'countersign-intake',
    clock: options.at ?? (() => now),
    store: async (certificate) => {
      if (stored.some((c) => c.requestId === certificate.requestId)) throw new Error('conditional check failed');
      stored.push(certificate);
    },
  });
  return {
    signer,
    kms,
    stored,
    setNow: (date: Date) => {
      now = date;
    },
  };
}

/** Appends `events` to `chain` as LedgerTable does: stamped now with the key's id, signed over the canonical JSON. */
async function append(chain: AuditRecord[], signer: RecordSigner, requestId: string, events: AuditEvent[], at: () => Date): Promise<AuditRecord[]> {
  for (const event of events) {
    const key = await signer.recordKey();
    const unsigned = nextUnsignedRecord(chain, requestId, event, at(), key.keyId);
    const signature = await key.sign(canonicalRecordJson(unsigned));
    chain.push(auditRecordSchema.parse({ ...unsigned, hash: recordHash(unsigned), signature: Buffer.from(signature).toString('base64') }));
  }
  return chain;
}

const EVENTS: AuditEvent[] = [
  { type: 'requested', actor: 'agent', data: { action: 'data.export' } },
  { type: 'policy_decided', actor: 'countersign', data: { rule: 'prod-exports' } },
  { type: 'voted', actor: 'alice@example.com', data: { decision: 'approve' } },
  { type: 'approved', actor: 'countersign', data: {} },
];

function signedWith(unsigned: UnsignedCertificate, secretKey = LEDGER.secretKey): SigningCertificate {
  const digest = certificateDigest(unsigned);
  const signature = p256.sign(digest, secretKey, { prehash: false, format: 'der', lowS: false });
  return signingCertificateSchema.parse({ ...unsigned, hash: digest.toString('hex'), signature: Buffer.from(signature).toString('base64') });
}

const spki = (key: KeyObject) => key.export({ format: 'der', type: 'spki' }).toString('base64');

describe('a certified environment key', () => {
  it('signs records that verify through its certificate with the ledger key alone', async () => {
    const env = environment();
    const chain = await append([], env.signer, 'act_A', EVENTS, () => minutes(1));
    expect(env.stored).toHaveLength(1);
    const [certificate] = env.stored;
    expect(certificate).toMatchObject({
      requestId: `${CERTIFICATE_PARTITION_PREFIX}${certificate!.certificateId}`,
      seq: 1,
      type: 'signing_certificate',
      curve: 'P-256',
      scope: 'records',
      functionName: 'countersign-intake',
      notBefore: minutes(0).toISOString(),
      notAfter: minutes(60).toISOString(),
      keyId: KMS_ARN,
    });
    expect(certificateIdOf(createPublicKey({ key: Buffer.from(certificate!.publicKey, 'base64'), format: 'der', type: 'spki' }))).toBe(
      certificate!.certificateId,
    );
    expect(chain.every((r) => r.keyId === certificate!.certificateId && isCertificateId(r.keyId))).toBe(true);
    // The records keep their exact shape: only keyId's value differs.
    expect(Object.keys(chain[0]!).sort()).toEqual(['actor', 'at', 'data', 'hash', 'keyId', 'prevHash', 'requestId', 'seq', 'signature', 'type']);
    expect(certificateProblem(certificate!, LEDGER.publicKey)).toBeUndefined();
    expect(verifyChain(chain, LEDGER.publicKey, env.stored)).toEqual({ ok: true, problems: [] });
    expect(verifyRecord(chain[2]!, LEDGER.publicKey, env.stored)).toBe(true);
  });

  it('costs one ledger-key signature per certificate, not per record, and renews before its window ends', async () => {
    const env = environment();
    const chain: AuditRecord[] = [];
    for (let i = 0; i < 25; i++) await append(chain, env.signer, 'act_A', [EVENTS[2]!], () => minutes(0));
    expect(env.kms.calls).toBe(1);
    // 49 minutes in, 11 left: the same key. 51 minutes in, under 10 left: a new key and certificate.
    env.setNow(minutes(49));
    await append(chain, env.signer, 'act_A', [EVENTS[2]!], () => minutes(49));
    expect(env.kms.calls).toBe(1);
    env.setNow(minutes(51));
    await append(chain, env.signer, 'act_A', [EVENTS[2]!], () => minutes(51));
    expect(env.kms.calls).toBe(2);
    expect(env.signer.issued).toBe(2);
    expect(env.stored.map((c) => [c.notBefore, c.notAfter])).toEqual([
      [minutes(0).toISOString(), minutes(60).toISOString()],
      [minutes(51).toISOString(), minutes(111).toISOString()],
    ]);
    expect(new Set(chain.map((r) => r.keyId)).size).toBe(2);
    expect(verifyChain(chain, LEDGER.publicKey, env.stored).ok).toBe(true);
  });

  it('issues one certificate for concurrent first signatures, and tries again after a failed issue', async () => {
    let failing = true;
    const stored: SigningCertificate[] = [];
    const kms = ledgerKey();
    const signer = certifiedRecordSigner({
      ledgerKey: kms,
      functionName: 'f',
      clock: () => minutes(0),
      store: async (c) => {
        if (failing) throw new Error('ProvisionedThroughputExceededException');
        stored.push(c);
      },
    });
    await expect(signer.recordKey()).rejects.toThrow('ProvisionedThroughputExceededException');
    failing = false;
    const keys = await Promise.all(Array.from({ length: 8 }, () => signer.recordKey()));
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(1);
    expect(stored).toHaveLength(1);
    expect(kms.calls).toBe(2);
  });

  it('refuses a window longer than an hour, or one that leaves no room to renew', () => {
    const base = { ledgerKey: ledgerKey(), functionName: 'f', store: async () => undefined };
    expect(() => certifiedRecordSigner({ ...base, validityMs: 2 * 3_600_000 })).toThrow(RangeError);
    expect(() => certifiedRecordSigner({ ...base, validityMs: 5 * 60_000, renewBeforeMs: 10 * 60_000 })).toThrow(RangeError);
  });
});

describe('verifying records signed by a certified key', () => {
  it('refuses a forged certificate: one the ledger key did not sign', async () => {
    const forger = testKey();
    const env = environment({ secretKey: forger.secretKey });
    const chain = await append([], env.signer, 'act_A', EVENTS, () => minutes(1));
    expect(certificateProblem(env.stored[0]!, LEDGER.publicKey)).toBe("the signature is not the ledger key's");
    const result = verifyChain(chain, LEDGER.publicKey, env.stored);
    expect(result.ok).toBe(false);
    expect(result.problems).toHaveLength(4);
    expect(result.problems[0]!.problem).toBe(`its certificate ${env.stored[0]!.certificateId} is not valid: the signature is not the ledger key's`);
  });

  it("refuses a record whose at lies outside its certificate's window", async () => {
    const env = environment();
    const key = await env.signer.recordKey();
    const certificate = env.stored[0]!;
    const sign = async (at: Date) => {
      const unsigned = nextUnsignedRecord([], 'act_A', EVENTS[0]!, at, key.keyId);
      const signature = await key.sign(canonicalRecordJson(unsigned));
      return auditRecordSchema.parse({ ...unsigned, hash: recordHash(unsigned), signature: Buffer.from(signature).toString('base64') });
    };
    for (const at of [new Date(T0 - 1), minutes(60.001)]) {
      const { problems } = verifyChain([await sign(at)], LEDGER.publicKey, env.stored);
      expect(problems).toEqual([
        { seq: 1, problem: `written at ${at.toISOString()}, outside its certificate's window (${certificate.notBefore} to ${certificate.notAfter})` },
      ]);
    }
    for (const at of [minutes(0), minutes(60)]) expect(verifyChain([await sign(at)], LEDGER.publicKey, env.stored).ok).toBe(true);
  });

  it('refuses a record that names a certificate the data does not hold', async () => {
    const env = environment();
    const chain = await append([], env.signer, 'act_A', EVENTS, () => minutes(1));
    const { problems } = verifyChain(chain, LEDGER.publicKey);
    expect(problems).toEqual(chain.map((r) => ({ seq: r.seq, problem: `signed under certificate ${r.keyId}, which is absent` })));
    // Another environment's certificate does not stand in for it.
    const other = environment();
    await other.signer.recordKey();
    expect(verifyChain(chain, LEDGER.publicKey, other.stored).ok).toBe(false);
  });

  it('refuses a certificate whose public key was swapped', async () => {
    const env = environment();
    const chain = await append([], env.signer, 'act_A', EVENTS, () => minutes(1));
    const original = env.stored[0]!;
    const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // Swapped in place: the content no longer matches the hash the ledger key signed.
    const swapped = { ...original, publicKey: spki(attacker.publicKey) };
    expect(certificateProblem(swapped, LEDGER.publicKey)).toBe('its content does not match its hash');
    expect(verifyChain(chain, LEDGER.publicKey, [swapped]).problems[0]!.problem).toContain('is not valid: its content does not match its hash');
    // Hash recomputed too: the signature is not the ledger key's over it.
    const rehashed = { ...swapped, hash: certificateDigest(swapped).toString('hex') };
    expect(certificateProblem(rehashed, LEDGER.publicKey)).toBe("the signature is not the ledger key's");
    // Even a certificate the ledger key signed (a bug, or a stolen Sign) cannot name a key that is not its id's.
    const misnamed = signedWith({
      ...unsignedCertificate({ publicKey: attacker.publicKey, functionName: 'f', notBefore: minutes(0), notAfter: minutes(60), keyId: KMS_ARN }),
      certificateId: original.certificateId,
      requestId: original.requestId,
    });
    expect(certificateProblem(misnamed, LEDGER.publicKey)).toBe("its id is not its public key's fingerprint");
  });

  it('refuses a certificate for another curve, outside its partition, or longer than an hour', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    const base = unsignedCertificate({ publicKey: p384, functionName: 'f', notBefore: minutes(0), notAfter: minutes(60), keyId: KMS_ARN });
    expect(certificateProblem(signedWith(base), LEDGER.publicKey)).toBe('its public key is not an EC P-256 key');
    const good = unsignedCertificate({
      publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
      functionName: 'f',
      notBefore: minutes(0),
      notAfter: minutes(60),
      keyId: KMS_ARN,
    });
    expect(certificateProblem(signedWith({ ...good, requestId: 'certificate#elsewhere' }), LEDGER.publicKey)).toBe('it is stored outside its own partition');
    expect(certificateProblem(signedWith({ ...good, notAfter: minutes(61).toISOString() }), LEDGER.publicKey)).toBe(
      'its validity window is empty or longer than an hour',
    );
    expect(certificateProblem(signedWith({ ...good, notAfter: good.notBefore }), LEDGER.publicKey)).toBe('its validity window is empty or longer than an hour');
    expect(certificateProblem(signedWith(good), LEDGER.publicKey)).toBeUndefined();
  });

  it('still verifies records the ledger key signed itself, alone or in one chain with certified ones', async () => {
    const env = environment();
    const chain = await append([], ledgerKeyRecordSigner(ledgerKey()), 'act_A', EVENTS.slice(0, 2), () => minutes(1));
    expect(chain.every((r) => r.keyId === KMS_ARN)).toBe(true);
    expect(verifyChain(chain, LEDGER.publicKey).ok).toBe(true);
    await append(chain, env.signer, 'act_A', EVENTS.slice(2), () => minutes(2));
    expect(verifyChain(chain, LEDGER.publicKey, env.stored).ok).toBe(true);
    // A record the ledger key signed cannot be passed off as a certified one, nor the reverse.
    const relabelled = { ...chain[0]!, keyId: chain[3]!.keyId };
    expect(verifyChain([relabelled], LEDGER.publicKey, env.stored).problems[0]!.problem).toBe('hash does not match the record content');
  });

  it("a certificate's signature cannot pass for a record's: it is over a domain line, then the canonical JSON", async () => {
    const env = environment();
    await env.signer.recordKey();
    const certificate = env.stored[0]!;
    expect(certificateDigest(certificate).toString('hex')).toBe(certificate.hash);
    expect(signatureValid(certificate.signature, canonicalSignedJson(certificate), LEDGER.publicKey)).toBe(false);
    expect(auditRecordSchema.safeParse(certificate).success).toBe(false);
  });
});

describe('an export holding certificates', () => {
  const exportedAt = minutes(5).toISOString();
  async function ledger() {
    const env = environment();
    const a = await append([], env.signer, 'act_A', EVENTS, () => minutes(1));
    const b = await append([], ledgerKeyRecordSigner(ledgerKey()), 'act_B', EVENTS, () => minutes(2));
    return { env, records: [...a, ...b] };
  }
  const kinds = (report: ReturnType<typeof verifyLedgerLines>) => report.findings.map((f) => [f.kind, f.requestId, f.seq]);

  it('verifies, counting certificates as items, not records', async () => {
    const { env, records } = await ledger();
    const report = verifyLedgerLines(sealedExportLines([...env.stored, ...records], { exportedAt }, LEDGER.secretKey), LEDGER.publicKey);
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ ok: true, sealed: true, records: 8, requests: 2, certificates: 1 });
    const progress = addExportItem(startExport({ exportedAt, head: null }), env.stored[0]);
    expect(progress).toMatchObject({ items: 1, records: 0, checkpoints: 0, tail: 0 });
  });

  it('names the records of a certificate the export does not hold, and a forged or repeated certificate', async () => {
    const { env, records } = await ledger();
    const absent = verifyLedgerLines(sealedExportLines(records, { exportedAt }, LEDGER.secretKey), LEDGER.publicKey);
    expect(kinds(absent)).toEqual([1, 2, 3, 4].map((seq) => ['bad_signature', 'act_A', seq]));
    expect(absent.findings[0]!.message).toBe(`act_A seq 1: signed under certificate ${env.stored[0]!.certificateId}, which is absent`);

    const forged = { ...env.stored[0]!, functionName: 'someone-else' };
    const report = verifyLedgerLines(sealedExportLines([forged, ...records], { exportedAt }, LEDGER.secretKey), LEDGER.publicKey);
    expect(kinds(report)).toEqual([['certificate_forged', env.stored[0]!.requestId, 1], ...[1, 2, 3, 4].map((seq) => ['bad_signature', 'act_A', seq])]);

    const twice = verifyLedgerLines(sealedExportLines([env.stored[0]!, env.stored[0]!, ...records], { exportedAt }, LEDGER.secretKey), LEDGER.publicKey);
    expect(kinds(twice)).toEqual([['duplicate', env.stored[0]!.requestId, 1]]);
  });

  it('finds a record re-signed by a certified key over altered content', async () => {
    const { env, records } = await ledger();
    const victim = records.find((r) => r.requestId === 'act_B' && r.seq === 3)!;
    const key = await env.signer.recordKey();
    // Someone holding the environment's key rewrites a record the ledger key signed: the chain still links, but the
    // new record names the certificate, and its content differs from what the ledger key signed.
    const unsigned = { ...victim, data: { decision: 'deny' } } as Omit<AuditRecord, 'hash' | 'signature'> & { hash?: string; signature?: string };
    delete unsigned.hash;
    delete unsigned.signature;
    const signature = await key.sign(canonicalRecordJson({ ...unsigned, keyId: key.keyId }));
    const rewritten = {
      ...unsigned,
      keyId: key.keyId,
      hash: recordHash({ ...unsigned, keyId: key.keyId }),
      signature: Buffer.from(signature).toString('base64'),
    };
    const altered = records.map((r) => (r === victim ? rewritten : r));
    const report = verifyLedgerLines(sealedExportLines([...env.stored, ...altered], { exportedAt }, LEDGER.secretKey), LEDGER.publicKey);
    expect(kinds(report)).toEqual([['broken_link', 'act_B', 4]]);
  });
});
