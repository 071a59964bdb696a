/**
 * Review tokens: the credential in an approver's personal review link. Bound to one request and one approver,
 * expiring with the request, and MAC'd (by the KMS HMAC key on AWS) so nobody can mint or alter one. A token is
 * `<payload>.<mac>`, both base64url; the payload carries no secret, only what the MAC binds.
 */
import * as z from './zod';

/** The MAC port: KMS GenerateMac/VerifyMac with HMAC_SHA_256 in production. */
export interface MacPort {
  generate(message: Buffer): Promise<Buffer>;
  verify(message: Buffer, mac: Buffer): Promise<boolean>;
}

const payloadSchema = z.strictObject({
  v: z.literal(1),
  r: z.string().check(z.minLength(1), z.maxLength(64)),
  a: z.string().check(z.minLength(1), z.maxLength(256)),
  e: z.int().check(z.positive()),
});

export interface ReviewGrant {
  readonly requestId: string;
  readonly approver: string;
  readonly expiresAt: Date;
}

/** Domain separation: a MAC made for another purpose with the same key never validates as a review token. */
const CONTEXT = 'countersign.review-token.v1.';
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,1024}\.[A-Za-z0-9_-]{43}$/;

const macInput = (encodedPayload: string) => Buffer.from(CONTEXT + encodedPayload, 'utf8');

export async function issueReviewToken(mac: MacPort, grant: ReviewGrant): Promise<string> {
  const payload = { v: 1, r: grant.requestId, a: grant.approver, e: Math.floor(grant.expiresAt.getTime() / 1000) } satisfies z.infer<typeof payloadSchema>;
  const encoded = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${encoded}.${(await mac.generate(macInput(encoded))).toString('base64url')}`;
}

export type ReviewTokenCheck = { ok: true; grant: ReviewGrant } | { ok: false; reason: 'invalid' | 'expired'; requestId?: string };

/** Checks the MAC first, then the expiry; a token that fails the MAC says nothing about what it names. */
export async function checkReviewToken(mac: MacPort, token: string, now: Date): Promise<ReviewTokenCheck> {
  if (!TOKEN_PATTERN.test(token)) return { ok: false, reason: 'invalid' };
  const [encoded = '', tag = ''] = token.split('.');
  const macBytes = Buffer.from(tag, 'base64url');
  // Only the canonical encoding: base64url's unused trailing bits would otherwise let one token have many spellings.
  if (macBytes.toString('base64url') !== tag) return { ok: false, reason: 'invalid' };
  if (!(await mac.verify(macInput(encoded), macBytes))) return { ok: false, reason: 'invalid' };
  let payload: z.infer<typeof payloadSchema>;
  try {
    payload = z.parse(payloadSchema, JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')));
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (now.getTime() >= payload.e * 1000) return { ok: false, reason: 'expired', requestId: payload.r };
  return { ok: true, grant: { requestId: payload.r, approver: payload.a, expiresAt: new Date(payload.e * 1000) } };
}
