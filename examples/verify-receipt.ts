// A downstream service checks a Countersign receipt with the ledger's public key alone, before it acts: that it is
// for this action, resource, environment and these parameters, and (if asked) that people approved it, not policy alone.
import { createHash, createHmac, createPublicKey, verify } from 'node:crypto';
import canonicalize from 'canonicalize';

// Resource and environment compare as policy compares them: compatibility forms folded, hidden characters dropped,
// spaces collapsed, trimmed, lower-cased ("Production " is "production"). An absent value is "".
const HIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\p{Cn}]/gu;
export const canonical = (text = '') => text.normalize('NFKC').replace(HIDDEN, '').replace(/\s+/gu, ' ').trim().toLowerCase().normalize('NFKC');

export interface Expected {
  action: string;
  resource?: string;
  environment?: string;
  parameters?: unknown;
  approvedByHumans?: boolean;
}

export function verifyCountersignReceipt(receipt: string, publicKeyPem: string, expect: Expected) {
  const [header, payload, signature] = receipt.split('.');
  if (!header || !payload || !signature) throw new Error('not a compact JWS');
  if (JSON.parse(Buffer.from(header, 'base64url').toString()).alg !== 'ES256') throw new Error('unexpected algorithm');
  const valid = verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    { key: createPublicKey(publicKeyPem), dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  if (!valid) throw new Error('bad signature');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  if (claims.exp * 1000 <= Date.now()) throw new Error('receipt expired');
  if (claims.action !== expect.action) throw new Error('receipt is for another action');
  if (canonical(claims.resource) !== canonical(expect.resource)) throw new Error('receipt is for another resource');
  if (canonical(claims.environment) !== canonical(expect.environment)) throw new Error('receipt is for another environment');
  // decidedBy is "policy" when a rule allowed the action at once (older receipts: approvers is then empty).
  const byPeople = (claims.decidedBy ?? 'approvers') === 'approvers' && claims.approvers.length > 0;
  if (expect.approvedByHumans && !byPeople) throw new Error('receipt was issued by policy alone');
  // paramsHmac is HMAC-SHA256, keyed with the receipt's own paramsSalt, of the parameters' canonical JSON (receipts
  // from before salted commitments carry a plain paramsSha256 instead).
  const json = canonicalize(expect.parameters ?? {}) ?? '';
  const bound = claims.paramsHmac
    ? createHmac('sha256', Buffer.from(claims.paramsSalt, 'base64url')).update(json).digest('hex') === claims.paramsHmac
    : createHash('sha256').update(json).digest('hex') === claims.paramsSha256;
  if (!bound) throw new Error('receipt is for other parameters');
  return claims as { sub: string; approvers: string[]; decidedBy?: 'policy' | 'approvers'; requester: string; rule: string; exp: number };
}
