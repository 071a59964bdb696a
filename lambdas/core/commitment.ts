/**
 * Values derived with the deployment's secret MAC key (KMS HMAC on AWS), so nobody outside can compute them:
 * - request ids for an `Idempotency-Key`, so a retry lands on the same request but nobody can tell which id another
 *   caller's key gives;
 * - each request's parameters salt, which makes the `requested` record's hashes commitments: approvers and auditors
 *   read them, and a plain hash of a masked value (a PIN, a short password) would be recovered by guessing. The salt is
 *   given to the requester only, inside its receipt, so an executor can still check the parameters it holds.
 * Each derivation has its own context, so no MAC made here ever checks as a review token or a sign-in cookie.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { MacPort } from './review-token';

const REQUEST_ID_CONTEXT = 'countersign.request-id.v1.';
const SALT_CONTEXT = 'countersign.parameters-salt.v1.';

/** The request id an Idempotency-Key gives this requester (canonical spelling): `act_` and 22 base64url characters. */
export async function idempotentRequestId(mac: MacPort, requester: string, idempotencyKey: string): Promise<string> {
  const tag = await mac.generate(Buffer.from(`${REQUEST_ID_CONTEXT}${requester}\n${idempotencyKey}`, 'utf8'));
  return `act_${tag.toString('base64url').slice(0, 22)}`;
}

/** A request's parameters salt: 32 bytes, the same every time for the same request. */
export async function parametersSalt(mac: MacPort, requestId: string): Promise<Buffer> {
  return mac.generate(Buffer.from(`${SALT_CONTEXT}${requestId}`, 'utf8'));
}

/** The commitment to a JSON value: hex HMAC-SHA256 under the salt of the RFC 8785 canonical JSON (`{}` for none). */
export function commitment(salt: Uint8Array, value: unknown): string {
  const json = canonicalize(value === undefined ? {} : value);
  if (json === undefined) throw new TypeError('the value cannot be canonicalized');
  return createHmac('sha256', salt).update(json, 'utf8').digest('hex');
}

/** Whether `value` is what a commitment was made to, under `salt` (constant time). */
export function opensCommitment(salt: Uint8Array, value: unknown, expected: string): boolean {
  const actual = Buffer.from(commitment(salt, value), 'hex');
  const wanted = Buffer.from(expected, 'hex');
  return actual.length === wanted.length && timingSafeEqual(actual, wanted);
}
