// A downstream service checks a Countersign receipt with the ledger's public key alone.
import { createHash, createPublicKey, verify } from 'node:crypto';
import canonicalize from 'canonicalize';

export function verifyCountersignReceipt(receipt: string, publicKeyPem: string, expect: { action: string; parameters?: unknown }) {
  const [header, payload, signature] = receipt.split('.');
  if (!header || !payload || !signature) throw new Error('not a compact JWS');
  if (JSON.parse(Buffer.from(header, 'base64url').toString()).alg !== 'ES256') throw new Error('unexpected algorithm');
  const valid = verify('sha256', Buffer.from(`${header}.${payload}`), { key: createPublicKey(publicKeyPem), dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  if (!valid) throw new Error('bad signature');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  if (claims.exp * 1000 <= Date.now()) throw new Error('receipt expired');
  if (claims.action !== expect.action) throw new Error('receipt is for another action');
  const paramsSha256 = createHash('sha256').update(canonicalize(expect.parameters ?? {}) ?? '').digest('hex');
  if (claims.paramsSha256 !== paramsSha256) throw new Error('receipt is for other parameters');
  return claims as { sub: string; approvers: string[]; requester: string; rule: string; exp: number };
}
