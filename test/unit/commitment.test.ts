import { createHash, createHmac, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commitment, idempotentRequestId, opensCommitment, parametersSalt } from '../../lambdas/core/commitment';
import { assembleReceipt, derToJose, parametersHash, type ReceiptClaims, receiptSigningInput, verifyReceipt } from '../../lambdas/core/receipt';
import type { MacPort } from '../../lambdas/core/review-token';

/** The MAC port as KMS HMAC_SHA_256 behaves, with a key only the test knows. */
const macWith = (key: string): MacPort => ({
  generate: async (message) => createHmac('sha256', key).update(message).digest(),
  verify: async () => false,
});
const deployment = macWith('deployment secret');

describe('request ids for an Idempotency-Key', () => {
  it('are stable for one requester and key, differ across requesters and keys, and need the secret', async () => {
    const id = await idempotentRequestId(deployment, 'arn:aws:iam::1:role/agent', 'k-1');
    expect(id).toMatch(/^act_[A-Za-z0-9_-]{22}$/);
    expect(await idempotentRequestId(deployment, 'arn:aws:iam::1:role/agent', 'k-1')).toBe(id);
    expect(await idempotentRequestId(deployment, 'arn:aws:iam::1:role/other', 'k-1')).not.toBe(id);
    expect(await idempotentRequestId(deployment, 'arn:aws:iam::1:role/agent', 'k-2')).not.toBe(id);
    expect(await idempotentRequestId(macWith('another deployment'), 'arn:aws:iam::1:role/agent', 'k-1')).not.toBe(id);
    // What anyone could compute before: a plain hash of requester and key.
    const guessable = `act_${createHash('sha256').update('arn:aws:iam::1:role/agent\nk-1').digest('base64url').slice(0, 22)}`;
    expect(id).not.toBe(guessable);
  });
});

describe('parameters commitments', () => {
  it('bind the canonical JSON under a per-request salt, and are no plain hash', async () => {
    const salt = await parametersSalt(deployment, 'act_1');
    expect(salt).toHaveLength(32);
    expect(await parametersSalt(deployment, 'act_1')).toEqual(salt);
    expect(await parametersSalt(deployment, 'act_2')).not.toEqual(salt);
    const pin = { pin: '4821' };
    const c = commitment(salt, pin);
    expect(c).toBe(createHmac('sha256', salt).update(canonicalize(pin)!).digest('hex'));
    expect(c).not.toBe(parametersHash(pin));
    expect(opensCommitment(salt, { pin: '4821' }, c)).toBe(true);
    expect(opensCommitment(salt, { pin: '4822' }, c)).toBe(false);
    expect(opensCommitment(await parametersSalt(deployment, 'act_2'), pin, c)).toBe(false);
  });

  it('property: without the salt, guessing every PIN finds nothing; with it, exactly the committed one opens', async () => {
    const salt = await parametersSalt(deployment, 'act_pins');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 9999 }), async (n) => {
        const pin = String(n).padStart(4, '0');
        const c = commitment(salt, { pin });
        // An approver reading the ledger only has c: plain hashes of every guess never match it.
        const plainHit = parametersHash({ pin }) === c;
        return !plainHit && opensCommitment(salt, { pin }, c) && !opensCommitment(salt, { pin: `${pin}0` }, c);
      }),
      { numRuns: 200 },
    );
  });

  it('a receipt carries the commitment and its salt, so the executor checks its parameters, key order aside', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const salt = await parametersSalt(deployment, 'act_1');
    const parameters = { table: 'customers', rows: 10 };
    const claims: ReceiptClaims = {
      iss: 'countersign',
      sub: 'act_1',
      action: 'data.export',
      paramsHmac: commitment(salt, parameters),
      paramsSalt: salt.toString('base64url'),
      requester: 'arn:aws:iam::1:role/agent',
      approvers: ['alice@example.com'],
      rule: 'r',
      iat: 1_900_000_000,
      exp: 1_900_003_600,
    };
    const input = receiptSigningInput({ alg: 'ES256', typ: 'JWT', kid: 'k' }, claims);
    const jws = assembleReceipt(input, derToJose(nodeSign('sha256', Buffer.from(input), privateKey)));
    const now = new Date(1_900_000_100_000);
    expect(verifyReceipt(jws, publicKey, { now, parameters: { rows: 10, table: 'customers' } }).sub).toBe('act_1');
    expect(() => verifyReceipt(jws, publicKey, { now, parameters: { rows: 11, table: 'customers' } })).toThrow(/different parameters/);
    expect(() => verifyReceipt(jws, publicKey, { now, parameters: undefined })).toThrow(/different parameters/);
  });
});
