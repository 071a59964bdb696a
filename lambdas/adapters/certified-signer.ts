/**
 * Record signing without a KMS call per record (docs/design.md "Record signing"): the first time an execution
 * environment signs a record it makes an ephemeral EC P-256 key, has the ledger's KMS key sign a certificate for it
 * (core/signing-certificate.ts: the key, the function, an hour's window) and writes the certificate into the ledger
 * table by conditional put; then it signs its records with node:crypto. Before the window ends (10 minutes before,
 * so a record's `at` and its write window always fall inside it) it makes a new key and certificate: Lambda
 * environments live for hours. The private key never leaves the environment's memory.
 *
 * A compromised function could already call KMS Sign with its own role, so a key it holds for an hour widens nothing
 * it can sign; and the key signs records only, never checkpoints, seals, cursors, receipts or callbacks.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { LedgerSigner, RecordKey, RecordSigner } from '../core/ports';
import {
  certificateDigest,
  MAX_CERTIFICATE_VALIDITY_MS,
  type SigningCertificate,
  signingCertificateSchema,
  unsignedCertificate,
} from '../core/signing-certificate';
import * as z from '../core/zod';

export interface CertifiedSignerOptions {
  /** The ledger's KMS key: it signs each certificate. */
  readonly ledgerKey: Pick<LedgerSigner, 'keyId' | 'signDigest'>;
  /** Writes a certificate once (a conditional put); throws when it cannot. */
  readonly store: (certificate: SigningCertificate) => Promise<void>;
  /** The function whose environment this is, named in each certificate. */
  readonly functionName: string;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** @default one hour, the most a certificate may claim */
  readonly validityMs?: number;
  /** A new key is certified when the current one has less than this left. @default 10 minutes */
  readonly renewBeforeMs?: number;
}

export interface CertifiedSigner extends RecordSigner {
  /** Certificates this environment issued so far (each one KMS Sign). */
  readonly issued: number;
}

interface Issued {
  readonly certificate: SigningCertificate;
  readonly key: RecordKey;
  readonly notBefore: number;
  readonly notAfter: number;
}

const MINUTE_MS = 60_000;

export function certifiedRecordSigner(options: CertifiedSignerOptions): CertifiedSigner {
  const clock = options.clock ?? (() => new Date());
  const validityMs = options.validityMs ?? MAX_CERTIFICATE_VALIDITY_MS;
  const renewBeforeMs = options.renewBeforeMs ?? 10 * MINUTE_MS;
  if (validityMs > MAX_CERTIFICATE_VALIDITY_MS || renewBeforeMs < MINUTE_MS || validityMs <= renewBeforeMs) {
    throw new RangeError('a certificate lasts at most an hour, and longer than the renewal margin of at least a minute');
  }
  let issued = 0;
  let current: Promise<Issued> | undefined;

  const issue = async (): Promise<Issued> => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const now = clock();
    const unsigned = unsignedCertificate({
      publicKey,
      functionName: options.functionName,
      notBefore: now,
      notAfter: new Date(now.getTime() + validityMs),
      keyId: options.ledgerKey.keyId,
    });
    const digest = certificateDigest(unsigned);
    const signature = await options.ledgerKey.signDigest(digest);
    const certificate = z.parse(signingCertificateSchema, { ...unsigned, hash: digest.toString('hex'), signature: Buffer.from(signature).toString('base64') });
    await options.store(certificate);
    issued += 1;
    return { certificate, key: recordKey(certificate.certificateId, privateKey), notBefore: now.getTime(), notAfter: now.getTime() + validityMs };
  };

  return {
    get issued() {
      return issued;
    },
    async recordKey() {
      for (;;) {
        const pending = current ?? issue();
        current = pending;
        let held: Issued;
        try {
          held = await pending;
        } catch (err) {
          if (current === pending) current = undefined; // a failed issue must not poison the environment
          throw err;
        }
        const now = clock().getTime();
        if (now >= held.notBefore && now + renewBeforeMs <= held.notAfter) return held.key;
        // Expiring (or the clock stepped back before its window): one new certificate, shared by concurrent callers.
        if (current === pending) current = undefined;
      }
    },
  };
}

/** Signs as KMS signs a DIGEST: ECDSA P-256 over SHA-256 of the message, DER. */
function recordKey(keyId: string, privateKey: KeyObject): RecordKey {
  return {
    keyId,
    sign: async (message) => sign('sha256', Buffer.from(message, 'utf8'), privateKey),
  };
}
