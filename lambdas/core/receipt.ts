/**
 * Approval receipts: a compact JWS (ES256) that an agent can hand to whatever performs the action, proving that
 * this exact action, on this resource in this environment, with these exact parameters, was approved (and by whom). Signed by the ledger's KMS key, so the same public
 * key (GET /v1/audit/public-key) verifies receipts and audit records.
 */
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import { type ApprovalState, redeemDeadline } from './approval';
import { opensCommitment } from './commitment';
import type { AuditRecord } from './ledger-record';
import type { LedgerSigner } from './ports';
import { canonicalText } from './text';
import * as z from './zod';

export const RECEIPT_ISSUER = 'countersign';

export const receiptClaimsSchema = z.object({
  iss: z.literal(RECEIPT_ISSUER),
  /** The request id. */
  sub: z.string().check(z.minLength(1)),
  action: z.string().check(z.minLength(1)),
  resource: z.optional(z.string()),
  environment: z.optional(z.string()),
  /**
   * The commitment to the request's parameters: hex HMAC-SHA256, keyed with `paramsSalt`, of the RFC 8785 canonical
   * JSON of the unmasked parameters (`{}` when absent). The salt is the requester's alone: the ledger, which approvers
   * and auditors read, holds only the commitment.
   */
  paramsHmac: z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters'))),
  /** base64url of the request's 32-byte parameters salt. */
  paramsSalt: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/, 'expected 32 bytes in base64url'))),
  /** Receipts issued before commitments: hex SHA-256 of the canonical JSON of the parameters. */
  paramsSha256: z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters'))),
  requester: z.string().check(z.minLength(1)),
  /** Who approved: empty when policy allowed the action at once. */
  approvers: z.array(z.string()),
  /**
   * What approved it: `policy` (a rule allowed it at once), `approvers` (people voted), or `grant` (people voted
   * earlier, for a while: `grant` names it). Absent from receipts issued before it was added; those read `approvers`
   * non-empty as approved by people.
   */
  decidedBy: z.optional(z.enum(['policy', 'approvers', 'grant'])),
  /** The grant that approved it, with `decidedBy: grant`. */
  grant: z.optional(z.string()),
  rule: z.string(),
  /** Seconds since the epoch. */
  iat: z.int().check(z.nonnegative()),
  exp: z.int().check(z.nonnegative()),
});
export type ReceiptClaims = z.infer<typeof receiptClaimsSchema>;

/**
 * How long a receipt proves an approval: a downstream service should act on it soon after. Under a rule's
 * `redeemWithin`, the receipt lives exactly as long as the approval does: it expires when the approval lapses.
 */
export const RECEIPT_LIFETIME_SECONDS = 3600;

/**
 * The claims of an approved request's receipt, from its chain: who approved (the `approved` record), what exactly
 * (action, resource, environment, and the commitment to the unmasked parameters recorded at intake with its salt:
 * the receipt goes to the requester only), and until when (an hour, or the approval's redeem deadline, rounded up to
 * the second, under a rule's `redeemWithin`). `salt` is the request's parameters salt; it is needed
 * only when the chain records a commitment (older chains record a plain hash).
 */
export function receiptClaimsFor(state: ApprovalState, approvedRecord: AuditRecord | undefined, now: Date, salt: Uint8Array | undefined): ReceiptClaims {
  const approvers = (approvedRecord?.data.approvers as string[] | undefined) ?? [];
  const iat = Math.floor(now.getTime() / 1000);
  const deadline = redeemDeadline(state);
  const parameters =
    state.parameters?.kind === 'commitment'
      ? { paramsHmac: state.parameters.value, paramsSalt: Buffer.from(requiredSalt(salt)).toString('base64url') }
      : { paramsSha256: state.parameters?.value ?? parametersHash(state.request.parameters ?? {}) };
  return {
    iss: RECEIPT_ISSUER,
    sub: state.id,
    action: state.request.action,
    ...(state.request.resource !== undefined ? { resource: state.request.resource } : {}),
    ...(state.request.environment !== undefined ? { environment: state.request.environment } : {}),
    ...parameters,
    requester: state.requester,
    approvers,
    // Explicit for downstream checks (`receipt verify --approved-by-humans`), beside the approvers list.
    ...(state.outcome?.decidedBy === 'policy' || state.outcome?.decidedBy === 'approvers' ? { decidedBy: state.outcome.decidedBy } : {}),
    ...(state.outcome?.decidedBy === 'grant' && state.policy?.grantedBy ? { decidedBy: 'grant' as const, grant: state.policy.grantedBy.grant } : {}),
    rule: state.policy?.rule ?? 'default',
    iat,
    exp: deadline === undefined ? iat + RECEIPT_LIFETIME_SECONDS : Math.ceil(deadline.getTime() / 1000),
  };
}

function requiredSalt(salt: Uint8Array | undefined): Uint8Array {
  if (!salt) throw new Error('the receipt of a request with a parameters commitment needs its salt');
  return salt;
}

/** Whether claims bind parameters at all: a commitment with its salt, or an old plain hash. */
const bindsParameters = (claims: ReceiptClaims) => (claims.paramsHmac !== undefined && claims.paramsSalt !== undefined) || claims.paramsSha256 !== undefined;

/** Whether `parameters` are the ones the receipt was issued for. */
export function receiptCoversParameters(claims: ReceiptClaims, parameters: unknown): boolean {
  if (claims.paramsHmac !== undefined && claims.paramsSalt !== undefined) {
    return opensCommitment(Buffer.from(claims.paramsSalt, 'base64url'), parameters ?? {}, claims.paramsHmac);
  }
  return claims.paramsSha256 !== undefined && parametersHash(parameters ?? {}) === claims.paramsSha256;
}

export const receiptHeaderSchema = z.object({
  alg: z.literal('ES256'),
  typ: z.literal('JWT'),
  /** The KMS key ARN that signed the receipt. */
  kid: z.string().check(z.minLength(1)),
});
export type ReceiptHeader = z.infer<typeof receiptHeaderSchema>;

export type ReceiptErrorCode =
  | 'malformed'
  | 'unsupported_algorithm'
  | 'bad_signature'
  | 'expired'
  | 'action_mismatch'
  | 'resource_mismatch'
  | 'environment_mismatch'
  | 'not_approved_by_humans'
  | 'parameters_mismatch';

export class ReceiptError extends Error {
  constructor(
    readonly code: ReceiptErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ReceiptError';
  }
}

/** ES256 signatures are r‖s, each 32 bytes. */
const P256_SCALAR_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function parametersHash(parameters: unknown): string {
  const json = canonicalize(parameters === undefined ? {} : parameters);
  if (json === undefined) throw new TypeError('parameters cannot be canonicalized');
  return createHash('sha256').update(json, 'utf8').digest('hex');
}

function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** `base64url(header).base64url(claims)`: the bytes ES256 signs. Both are validated, so nothing invalid is signed. */
export function receiptSigningInput(header: ReceiptHeader, claims: ReceiptClaims): string {
  return `${base64urlJson(z.parse(receiptHeaderSchema, header))}.${base64urlJson(z.parse(receiptClaimsSchema, claims))}`;
}

/**
 * DER ECDSA-Sig-Value (what KMS returns) to the raw 64-byte r‖s JWS needs. DER integers are minimal and signed, so
 * r and s may be shorter than 32 bytes (leading zeros dropped) or 33 (a 0x00 before a high bit): both are normalized.
 */
export function derToJose(der: Uint8Array): Buffer {
  const bytes = Buffer.from(der);
  const fail = (why: string): never => {
    throw new TypeError(`not a DER ECDSA P-256 signature: ${why}`);
  };
  let offset = 0;
  const readLength = (): number => {
    const first = bytes[offset++] ?? fail('truncated');
    if (first < 0x80) return first;
    // Long form with one length byte is legal DER for lengths 128..255; P-256 signatures never need more.
    if (first !== 0x81) return fail('unsupported length encoding');
    const length = bytes[offset++] ?? fail('truncated');
    if (length < 0x80) fail('non-minimal length');
    return length;
  };
  const readInteger = (): Buffer => {
    if (bytes[offset++] !== 0x02) fail('expected an INTEGER');
    const length = readLength();
    if (length === 0 || offset + length > bytes.length) fail('bad INTEGER length');
    const value = bytes.subarray(offset, offset + length);
    offset += length;
    if (value[0]! & 0x80) fail('negative INTEGER');
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    const magnitude = value.subarray(start);
    if (magnitude.length > P256_SCALAR_BYTES) fail('INTEGER longer than 32 bytes');
    return Buffer.concat([Buffer.alloc(P256_SCALAR_BYTES - magnitude.length), magnitude]);
  };
  if (bytes[offset++] !== 0x30) fail('expected a SEQUENCE');
  const sequenceLength = readLength();
  if (offset + sequenceLength !== bytes.length) fail('SEQUENCE length does not match');
  const r = readInteger();
  const s = readInteger();
  if (offset !== bytes.length) fail('trailing bytes');
  return Buffer.concat([r, s]);
}

export function assembleReceipt(signingInput: string, rawSignature: Uint8Array): string {
  if (rawSignature.length !== 2 * P256_SCALAR_BYTES) throw new TypeError('an ES256 signature is 64 bytes (r‖s)');
  return `${signingInput}.${Buffer.from(rawSignature).toString('base64url')}`;
}

function decodeJsonPart(part: string, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new ReceiptError('malformed', `receipt ${what} is not base64url JSON`);
  }
}

export interface VerifyReceiptOptions {
  /** The time to check `exp` against. @default now */
  readonly now?: Date;
  /** The receipt must be for exactly this action (compared as is: actions are identifiers). */
  readonly action?: string;
  /**
   * The receipt must be for this resource, compared in the canonical form policy uses (`canonicalText`: case, width,
   * hidden characters and spacing do not count). A receipt without a resource matches only `''` (an action on no
   * resource); a receipt with one never matches `''`.
   */
  readonly resource?: string;
  /** The receipt must be for this environment, compared as `resource` is (`Production ` matches `production`). */
  readonly environment?: string;
  /** The receipt must record people's approval: one that policy issued on its own (`allow`) is refused. */
  readonly approvedByHumans?: boolean;
  /** When present (even as undefined, meaning "no parameters"), the receipt must be for exactly these parameters. */
  readonly parameters?: unknown;
}

/**
 * Whether a receipt this deployment issued has expired at `now`, read from its claims without checking the signature:
 * for deciding to issue a fresh one, never for trusting one. A receipt that cannot be read counts as expired.
 */
export function receiptExpired(jws: string, now: Date): boolean {
  try {
    const exp = (JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp !== 'number' || exp * 1000 <= now.getTime();
  } catch {
    return true;
  }
}

/** Whether the receipt records an approval by people, not by policy alone. Old receipts lack `decidedBy`. */
export function approvedByHumans(claims: ReceiptClaims): boolean {
  const by = claims.decidedBy ?? 'approvers';
  return (by === 'approvers' || by === 'grant') && claims.approvers.length > 0;
}

function describeValue(value: string | undefined, field: string): string {
  return value === undefined ? `no ${field}` : `${field} ${JSON.stringify(value)}`;
}

/** The bindings `options` asks for, in the order they are checked; throws the first that does not hold. */
function checkBindings(claims: ReceiptClaims, options: VerifyReceiptOptions): void {
  if (options.action !== undefined && claims.action !== options.action) {
    throw new ReceiptError('action_mismatch', `receipt is for action ${JSON.stringify(claims.action)}; expected action ${JSON.stringify(options.action)}`);
  }
  for (const field of ['resource', 'environment'] as const) {
    const expected = options[field];
    if (expected === undefined) continue;
    if (canonicalText(claims[field] ?? '') !== canonicalText(expected)) {
      const wanted = canonicalText(expected) === '' ? `no ${field}` : `${field} ${JSON.stringify(expected)}`;
      throw new ReceiptError(`${field}_mismatch`, `receipt is for ${describeValue(claims[field], field)}; expected ${wanted}`);
    }
  }
  if (options.approvedByHumans && !approvedByHumans(claims)) {
    throw new ReceiptError(
      'not_approved_by_humans',
      `receipt is from policy alone (rule ${JSON.stringify(claims.rule)} allowed it); expected approval by people`,
    );
  }
  if (Object.hasOwn(options, 'parameters') && !receiptCoversParameters(claims, options.parameters)) {
    throw new ReceiptError('parameters_mismatch', 'receipt was issued for different parameters');
  }
}

/**
 * Verifies a receipt and returns its claims; throws a ReceiptError saying what is wrong otherwise. Beyond the
 * signature, the claims and the expiry, it checks each binding `options` names (action, resource, environment,
 * approval by people, parameters), in that order, and names the first that does not hold.
 */
export function verifyReceipt(jws: string, publicKey: KeyObject | string, options: VerifyReceiptOptions = {}): ReceiptClaims {
  const parts = jws.split('.');
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) {
    throw new ReceiptError('malformed', 'receipt is not a compact JWS (three base64url parts)');
  }
  const [encodedHeader, encodedClaims, encodedSignature] = parts as [string, string, string];

  const header = decodeJsonPart(encodedHeader, 'header');
  const alg = typeof header === 'object' && header !== null ? (header as { alg?: unknown }).alg : undefined;
  // Checked before anything else is trusted: an attacker picks the header, and only ES256 is ever issued.
  if (alg !== 'ES256') throw new ReceiptError('unsupported_algorithm', `receipt algorithm ${JSON.stringify(alg)} is not ES256`);
  if (!receiptHeaderSchema.safeParse(header).success) throw new ReceiptError('malformed', 'receipt header is invalid');

  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TypeError('receipts are verified with an EC P-256 public key');
  }
  const signature = Buffer.from(encodedSignature, 'base64url');
  const valid =
    signature.length === 2 * P256_SCALAR_BYTES &&
    verify('sha256', Buffer.from(`${encodedHeader}.${encodedClaims}`, 'utf8'), { key, dsaEncoding: 'ieee-p1363' }, signature);
  if (!valid) throw new ReceiptError('bad_signature', 'receipt signature does not verify with this key');

  const parsed = receiptClaimsSchema.safeParse(decodeJsonPart(encodedClaims, 'claims'));
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new ReceiptError('malformed', `receipt claims are invalid: ${fields}`);
  }
  const claims = parsed.data;

  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (nowSeconds >= claims.exp) {
    throw new ReceiptError('expired', `receipt expired at ${new Date(claims.exp * 1000).toISOString()}`);
  }
  if (!bindsParameters(claims)) throw new ReceiptError('malformed', 'receipt claims bind no parameters');
  checkBindings(claims, options);
  return claims;
}

/**
 * Signs a JWS signing input (`base64url(header).base64url(payload)`) as ES256 with the ledger key: ECDSA P-256 over
 * SHA-256 of the input, which is what KMS ECDSA_SHA_256 computes. The input is hashed here and signed as a digest,
 * so a receipt with a long resource or many approvers never hits KMS Sign's 4096-byte message limit. The key answers
 * DER; JWS wants raw r‖s. Returns the compact JWS.
 */
export async function signCompactJws(signer: Pick<LedgerSigner, 'signDigest'>, signingInput: string): Promise<string> {
  const digest = createHash('sha256').update(signingInput, 'utf8').digest();
  return assembleReceipt(signingInput, derToJose(await signer.signDigest(digest)));
}

/** An approval receipt: the claims as a compact JWS signed with the ledger key. */
export function signReceipt(signer: Pick<LedgerSigner, 'signDigest' | 'keyId'>, claims: ReceiptClaims): Promise<string> {
  return signCompactJws(signer, receiptSigningInput({ alg: 'ES256', typ: 'JWT', kid: signer.keyId }, claims));
}
