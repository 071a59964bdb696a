/**
 * Signing certificates (docs/api.md "Signing certificates", docs/design.md "Record signing"): each function
 * environment signs its ledger records with an ephemeral EC P-256 key of its own, which the ledger's KMS key
 * certified for an hour at most. A certificate is an item of the ledger table, in a partition of its own
 * (`certificate#<certificateId>`, seq 1, written once by conditional put), holding the public key (DER SPKI), the
 * function, the validity window and the KMS key's signature. A record signed with such a key carries the
 * certificate's id as its `keyId`; a verifier checks record → certificate → KMS key, so the ledger still verifies
 * offline with the KMS public key alone.
 *
 * The certificate id is the SHA-256 fingerprint of the public key, so a record's `keyId` (hashed and signed with the
 * record) names the very key that signed it: a certificate for another key cannot stand in for it. The KMS signature
 * is over SHA-256 of a domain line and the canonical JSON, so it can pass neither for a record's, a checkpoint's, a
 * seal's or a receipt's, nor one of those for it; and a certified key signs ledger records only (`scope`), never
 * checkpoints, seals, cursors, receipts or callbacks, which stay with the KMS key.
 */
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import * as z from './zod';

export const CERTIFICATE_DOMAIN = 'countersign/signing-certificate/v1\n';
/** The ledger-table partition of certificate `id` is `certificate#<id>`. */
export const CERTIFICATE_PARTITION_PREFIX = 'certificate#';
export const CERTIFICATE_TYPE = 'signing_certificate';
/** The longest validity a certificate may claim: an environment renews its key well within it. */
export const MAX_CERTIFICATE_VALIDITY_MS = 60 * 60 * 1000;

/** `cert-` and the base64url SHA-256 of the public key's DER SPKI. */
const CERTIFICATE_ID = /^cert-[A-Za-z0-9_-]{43}$/;
const sha256Hex = z.string().check(z.regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters'));

// Strict, as records are: a field outside the hashed set would be unsigned data riding along with a signed item.
export const signingCertificateSchema = z.strictObject({
  requestId: z.string().check(z.startsWith(CERTIFICATE_PARTITION_PREFIX)),
  seq: z.literal(1),
  type: z.literal(CERTIFICATE_TYPE),
  certificateId: z.string().check(z.regex(CERTIFICATE_ID, 'expected cert- and 43 base64url characters')),
  /** The certified key: base64 DER SubjectPublicKeyInfo. */
  publicKey: z.base64().check(z.maxLength(1024)),
  curve: z.literal('P-256'),
  /** What the key may sign: ledger records only. */
  scope: z.literal('records'),
  /** The function whose environment holds the key (its Lambda name; its logical id in local mode). */
  functionName: z.string().check(z.minLength(1), z.maxLength(256)),
  notBefore: z.iso.datetime(),
  notAfter: z.iso.datetime(),
  /** The KMS key that signed the certificate (its ARN on AWS). */
  keyId: z.string().check(z.minLength(1)),
  hash: sha256Hex,
  signature: z.base64(),
});
export type SigningCertificate = z.infer<typeof signingCertificateSchema>;
export type UnsignedCertificate = Omit<SigningCertificate, 'hash' | 'signature'>;

/** Whether a `keyId` names a certificate (else it names the KMS key itself: records signed before certificates). */
export function isCertificateId(keyId: string): boolean {
  return CERTIFICATE_ID.test(keyId);
}

/** The id of the certificate for `publicKey`: its SHA-256 fingerprint. */
export function certificateIdOf(publicKey: KeyObject): string {
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return `cert-${createHash('sha256').update(spki).digest('base64url')}`;
}

/** The certificate for an environment's key, not yet signed by the KMS key. */
export function unsignedCertificate(input: {
  readonly publicKey: KeyObject;
  readonly functionName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly keyId: string;
}): UnsignedCertificate {
  const certificateId = certificateIdOf(input.publicKey);
  return {
    requestId: `${CERTIFICATE_PARTITION_PREFIX}${certificateId}`,
    seq: 1,
    type: CERTIFICATE_TYPE,
    certificateId,
    publicKey: input.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    curve: 'P-256',
    scope: 'records',
    functionName: input.functionName,
    notBefore: input.notBefore.toISOString(),
    notAfter: input.notAfter.toISOString(),
    keyId: input.keyId,
  };
}

/** The bytes the KMS signature is over: the domain line, then the canonical JSON without `hash` and `signature`. */
export function certificateMessage(certificate: UnsignedCertificate | SigningCertificate): string {
  const { hash: _hash, signature: _signature, ...fields } = certificate as SigningCertificate;
  const json = canonicalize(fields);
  if (json === undefined) throw new TypeError('certificate cannot be canonicalized');
  return CERTIFICATE_DOMAIN + json;
}

/** The digest KMS signs (MessageType DIGEST), and the certificate's `hash`. */
export function certificateDigest(certificate: UnsignedCertificate | SigningCertificate): Buffer {
  return createHash('sha256').update(certificateMessage(certificate), 'utf8').digest();
}

/** The certified key, when it is an EC P-256 public key in DER SPKI. */
function certifiedKey(certificate: SigningCertificate): KeyObject | undefined {
  try {
    const key = createPublicKey({ key: Buffer.from(certificate.publicKey, 'base64'), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What is wrong with a certificate, or undefined when the KMS key signed it as it is and it is well-formed: its own
 * partition, an id that is its key's fingerprint, a P-256 key, a window of at most an hour.
 */
export function certificateProblem(certificate: SigningCertificate, ledgerKey: KeyObject): string | undefined {
  const message = certificateMessage(certificate);
  if (createHash('sha256').update(message, 'utf8').digest('hex') !== certificate.hash) return 'its content does not match its hash';
  let signed = false;
  try {
    signed = verify('sha256', Buffer.from(message, 'utf8'), ledgerKey, Buffer.from(certificate.signature, 'base64'));
  } catch {
    // malformed DER
  }
  if (!signed) return "the signature is not the ledger key's";
  if (certificate.requestId !== `${CERTIFICATE_PARTITION_PREFIX}${certificate.certificateId}`) return 'it is stored outside its own partition';
  const key = certifiedKey(certificate);
  if (!key) return 'its public key is not an EC P-256 key';
  if (certificateIdOf(key) !== certificate.certificateId) return "its id is not its public key's fingerprint";
  const notBefore = Date.parse(certificate.notBefore);
  const notAfter = Date.parse(certificate.notAfter);
  if (!(notBefore < notAfter) || notAfter - notBefore > MAX_CERTIFICATE_VALIDITY_MS) return 'its validity window is empty or longer than an hour';
  return undefined;
}

/** The key a record's signature is checked with, or why the record cannot verify. */
export type RecordKeyLookup = (record: { readonly keyId: string; readonly at: string }) => KeyObject | { readonly problem: string };

/**
 * Finds each record's key: the ledger key for a record it signed itself (a `keyId` that is not a certificate id,
 * the form of records written before certificates), else the key of the certificate the record names, when that
 * certificate is among `certificates`, verifies, and its window holds the record's `at`.
 */
export function recordKeys(ledgerKey: KeyObject, certificates: readonly SigningCertificate[]): RecordKeyLookup {
  const byId = new Map<string, SigningCertificate[]>();
  for (const certificate of certificates) byId.set(certificate.certificateId, [...(byId.get(certificate.certificateId) ?? []), certificate]);
  const judged = new Map<string, KeyObject | { problem: string }>();
  const judge = (id: string): KeyObject | { problem: string } => {
    const found = byId.get(id);
    if (!found) return { problem: `signed under certificate ${id}, which is absent` };
    if (new Set(found.map((c) => c.hash)).size > 1) return { problem: `certificate ${id} appears with different contents` };
    const problem = certificateProblem(found[0]!, ledgerKey);
    if (problem) return { problem: `its certificate ${id} is not valid: ${problem}` };
    return certifiedKey(found[0]!)!;
  };
  return (record) => {
    if (!isCertificateId(record.keyId)) return ledgerKey;
    let key = judged.get(record.keyId);
    if (!key) {
      key = judge(record.keyId);
      judged.set(record.keyId, key);
    }
    if ('problem' in key) return key;
    const certificate = byId.get(record.keyId)![0]!;
    const at = Date.parse(record.at);
    if (at < Date.parse(certificate.notBefore) || at > Date.parse(certificate.notAfter)) {
      return { problem: `written at ${record.at}, outside its certificate's window (${certificate.notBefore} to ${certificate.notAfter})` };
    }
    return key;
  };
}

/**
 * Where a certificate is listed in the ledger's slot index: a slot of its own per hour of `notBefore`
 * (`certificates#<hour>`), apart from the records' slots (`<hour>#<shard>`), so checkpoints, which read only the
 * records' slots, never count it, and a windowed export finds the certificates its records need without a Scan.
 */
export const CERTIFICATE_SLOT_PREFIX = 'certificates#';

export function certificateSlotKeys(certificate: Pick<SigningCertificate, 'notBefore' | 'certificateId'>): { slot: string; rk: string } {
  return { slot: `${CERTIFICATE_SLOT_PREFIX}${certificate.notBefore.slice(0, 13)}`, rk: `${certificate.notBefore}#${certificate.certificateId}` };
}
