import { createHash, generateKeyPairSync, type KeyObject, sign as nodeSign, verify as nodeVerify, webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  approvedByHumans,
  assembleReceipt,
  derToJose,
  parametersHash,
  type ReceiptClaims,
  ReceiptError,
  type ReceiptErrorCode,
  receiptSigningInput,
  verifyReceipt,
} from '../../lambdas/core/receipt';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const publicPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
const KID = 'arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555';

const parameters = { table: 'customers', format: 'csv', columns: ['id', 'email'] };
const issuedAt = new Date('2025-06-01T12:00:00Z');

const claims: ReceiptClaims = {
  iss: 'countersign',
  sub: 'act_123',
  action: 'data.export',
  resource: 'arn:aws:rds:eu-west-1:123456789012:db:customers',
  environment: 'production',
  paramsSha256: parametersHash(parameters),
  requester: 'arn:aws:iam::000000000000:role/demo-agent',
  approvers: ['alice@example.com', 'bob@example.com'],
  decidedBy: 'approvers',
  rule: 'prod-exports',
  iat: issuedAt.getTime() / 1000,
  exp: issuedAt.getTime() / 1000 + 900,
};

/** Signs like KMS does (DER ECDSA over SHA-256 of the input), then converts, as the KMS adapter does. */
function signWith(
  key: KeyObject,
  body: ReceiptClaims | Record<string, unknown>,
  header: Record<string, unknown> = { alg: 'ES256', typ: 'JWT', kid: KID },
): string {
  const input = `${b64json(header)}.${b64json(body)}`;
  return assembleReceipt(input, derToJose(nodeSign('sha256', Buffer.from(input), key)));
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function receiptErrorOf(run: () => unknown): ReceiptError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ReceiptError);
    return err as ReceiptError;
  }
  throw new Error('expected a ReceiptError');
}

/** Length of the r and s INTEGER contents in a DER ECDSA signature. */
function derIntegerLengths(der: Buffer): [number, number] {
  const rLength = der[3]!;
  return [rLength, der[4 + rLength + 1]!];
}

describe('derToJose', () => {
  it('turns DER signatures with short and padded r/s into 64 bytes that verify as ieee-p1363', () => {
    const message = Buffer.from('receipt');
    const seen = new Set<string>();
    // About 1 in 256 signatures has an r or s under 32 bytes; 33 bytes (0x00 before a high bit) is common.
    for (let i = 0; i < 20_000 && seen.size < 4; i++) {
      const der = nodeSign('sha256', Buffer.concat([message, Buffer.from(String(i))]), privateKey);
      const [rLength, sLength] = derIntegerLengths(der);
      const kind = [rLength < 32 && 'short r', sLength < 32 && 'short s', rLength === 33 && 'padded r', sLength === 33 && 'padded s'].filter(Boolean);
      if (kind.length === 0 || kind.every((k) => seen.has(k as string))) continue;
      kind.forEach((k) => seen.add(k as string));
      const raw = derToJose(der);
      expect(raw).toHaveLength(64);
      expect(nodeVerify('sha256', Buffer.concat([message, Buffer.from(String(i))]), { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
    }
    expect([...seen].sort()).toEqual(['padded r', 'padded s', 'short r', 'short s']);
  });

  it('left-pads hand-built small integers', () => {
    // SEQUENCE { INTEGER 1, INTEGER 0x00ff (positive, padded) }
    const der = Uint8Array.from([0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0xff]);
    const raw = derToJose(der);
    expect(raw).toHaveLength(64);
    expect(raw.subarray(0, 32)).toEqual(Buffer.concat([Buffer.alloc(31), Buffer.from([1])]));
    expect(raw.subarray(32)).toEqual(Buffer.concat([Buffer.alloc(31), Buffer.from([0xff])]));
  });

  it('rejects what is not a DER P-256 signature', () => {
    expect(() => derToJose(Uint8Array.from([0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]))).toThrow(/SEQUENCE/);
    expect(() => derToJose(Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01]))).toThrow();
    expect(() => derToJose(Uint8Array.from([0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00]))).toThrow();
    const tooLong = Buffer.concat([Buffer.from([0x30, 0x26, 0x02, 0x21]), Buffer.alloc(33, 0x11), Buffer.from([0x02, 0x01, 0x01])]);
    expect(() => derToJose(tooLong)).toThrow(/32 bytes/);
  });
});

describe('receipts', () => {
  const now = new Date(issuedAt.getTime() + 60_000);

  it('round-trips: sign, verify with a KeyObject and with PEM, same claims back', () => {
    const input = receiptSigningInput({ alg: 'ES256', typ: 'JWT', kid: KID }, claims);
    const jws = assembleReceipt(input, derToJose(nodeSign('sha256', Buffer.from(input), privateKey)));
    expect(jws.split('.')).toHaveLength(3);
    expect(JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString())).toEqual({ alg: 'ES256', typ: 'JWT', kid: KID });
    expect(verifyReceipt(jws, publicKey, { now })).toEqual(claims);
    expect(verifyReceipt(jws, publicPem, { now, parameters })).toEqual(claims);
  });

  it('is a standard ES256 JWS: WebCrypto verifies its raw signature', async () => {
    const jws = signWith(privateKey, claims);
    const [h, c, s] = jws.split('.') as [string, string, string];
    const key = await webcrypto.subtle.importKey('spki', publicKey.export({ format: 'der', type: 'spki' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'verify',
    ]);
    const ok = await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from(s, 'base64url'), Buffer.from(`${h}.${c}`));
    expect(ok).toBe(true);
  });

  it('refuses to sign invalid claims', () => {
    expect(() => receiptSigningInput({ alg: 'ES256', typ: 'JWT', kid: KID }, { ...claims, paramsSha256: 'abc' })).toThrow();
  });

  it.each<[string, string, ReceiptErrorCode]>([
    ['two parts', 'aaa.bbb', 'malformed'],
    ['non-base64url characters', 'a+b.c.d', 'malformed'],
    ['a header that is not JSON', `${Buffer.from('{nope').toString('base64url')}.${b64json(claims)}.AAAA`, 'malformed'],
    ['alg none', `${b64json({ alg: 'none', typ: 'JWT' })}.${b64json(claims)}.AAAA`, 'unsupported_algorithm'],
    ['alg HS256', `${b64json({ alg: 'HS256', typ: 'JWT', kid: KID })}.${b64json(claims)}.AAAA`, 'unsupported_algorithm'],
  ])('throws ReceiptError for %s', (_name, jws, code) => {
    expect(receiptErrorOf(() => verifyReceipt(jws, publicKey, { now })).code).toBe(code);
  });

  it('throws bad_signature for another key, edited claims and a truncated signature', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const foreign = signWith(other.privateKey, claims);
    const error = receiptErrorOf(() => verifyReceipt(foreign, publicKey, { now }));
    expect(error.code).toBe('bad_signature');
    expect(error.message).toMatch(/signature/);

    const [h, , s] = signWith(privateKey, claims).split('.');
    const edited = `${h}.${b64json({ ...claims, approvers: ['mallory@example.com'] })}.${s}`;
    expect(receiptErrorOf(() => verifyReceipt(edited, publicKey, { now })).code).toBe('bad_signature');
    expect(receiptErrorOf(() => verifyReceipt(`${h}.${b64json(claims)}.${s!.slice(0, 40)}`, publicKey, { now })).code).toBe('bad_signature');
  });

  it('throws malformed for well-signed claims that are not receipt claims', () => {
    const jws = signWith(privateKey, { ...claims, iss: 'someone-else' });
    expect(receiptErrorOf(() => verifyReceipt(jws, publicKey, { now })).message).toMatch(/iss/);
  });

  it('throws expired at and after exp, not before', () => {
    const jws = signWith(privateKey, claims);
    const atExp = new Date(claims.exp * 1000);
    expect(verifyReceipt(jws, publicKey, { now: new Date(atExp.getTime() - 1000) }).sub).toBe('act_123');
    const error = receiptErrorOf(() => verifyReceipt(jws, publicKey, { now: atExp }));
    expect(error.code).toBe('expired');
    expect(error.message).toContain('2025-06-01T12:15:00.000Z');
    expect(receiptErrorOf(() => verifyReceipt(jws, publicKey)).code).toBe('expired'); // default now is today
  });

  it('binds the exact parameters: key order does not matter, a changed or extra value fails', () => {
    const jws = signWith(privateKey, claims);
    const reordered = { columns: ['id', 'email'], format: 'csv', table: 'customers' };
    expect(verifyReceipt(jws, publicKey, { now, parameters: reordered }).paramsSha256).toBe(claims.paramsSha256);
    for (const changed of [{ ...parameters, format: 'parquet' }, { ...parameters, columns: ['email', 'id'] }, { ...parameters, limit: 10 }, undefined]) {
      expect(receiptErrorOf(() => verifyReceipt(jws, publicKey, { now, parameters: changed })).code).toBe('parameters_mismatch');
    }
  });

  describe('binds the action, resource, environment and who approved', () => {
    const jws = signWith(privateKey, claims);
    const codeOf = (options: Parameters<typeof verifyReceipt>[2], token = jws) => {
      try {
        verifyReceipt(token, publicKey, { now, ...options });
        return 'valid';
      } catch (err) {
        expect(err).toBeInstanceOf(ReceiptError);
        return (err as ReceiptError).code;
      }
    };

    it('action: exactly, no folding', () => {
      expect(codeOf({ action: 'data.export' })).toBe('valid');
      for (const other of ['data.exports', 'Data.Export', 'data.export ', 'data.*', 'db.drop'])
        expect(codeOf({ action: other }), other).toBe('action_mismatch');
      const error = receiptErrorOf(() => verifyReceipt(jws, publicKey, { now, action: 'db.drop' }));
      expect(error.message).toBe('receipt is for action "data.export"; expected action "db.drop"');
    });

    it('resource and environment: in the canonical form policy compares (case, width, hidden characters, spacing)', () => {
      for (const same of ['production', 'Production ', ' PRODUCTION', 'ｐｒｏｄｕｃｔｉｏｎ', 'pro\u200Bduction'])
        expect(codeOf({ environment: same }), same).toBe('valid');
      for (const other of ['staging', 'prod', 'production-eu', '']) expect(codeOf({ environment: other }), other).toBe('environment_mismatch');
      expect(codeOf({ resource: claims.resource!.toUpperCase() })).toBe('valid');
      expect(codeOf({ resource: `  ${claims.resource}\t` })).toBe('valid');
      for (const other of ['arn:aws:rds:eu-west-1:123456789012:db:users', 'arn:aws:rds:eu-west-1:123456789012:db', '*', ''])
        expect(codeOf({ resource: other }), other).toBe('resource_mismatch');
      const error = receiptErrorOf(() => verifyReceipt(jws, publicKey, { now, environment: 'staging' }));
      expect(error.message).toBe('receipt is for environment "production"; expected environment "staging"');
      expect(receiptErrorOf(() => verifyReceipt(jws, publicKey, { now, resource: '' })).message).toBe(
        'receipt is for resource "arn:aws:rds:eu-west-1:123456789012:db:customers"; expected no resource',
      );
    });

    it('a receipt without a resource or environment fails any value but empty, which means "on none"', () => {
      const { resource: _r, environment: _e, ...rest } = claims;
      const bare = signWith(privateKey, rest);
      expect(codeOf({ resource: 'x' }, bare)).toBe('resource_mismatch');
      expect(codeOf({ environment: 'production' }, bare)).toBe('environment_mismatch');
      expect(codeOf({ resource: '', environment: ' ' }, bare)).toBe('valid');
      expect(receiptErrorOf(() => verifyReceipt(bare, publicKey, { now, resource: 'x' })).message).toBe('receipt is for no resource; expected resource "x"');
    });

    it('approvedByHumans: refuses a receipt policy issued alone, old receipts by their approvers', () => {
      expect(codeOf({ approvedByHumans: true })).toBe('valid');
      expect(codeOf({ approvedByHumans: false })).toBe('valid');
      const byPolicy = signWith(privateKey, { ...claims, approvers: [], decidedBy: 'policy', rule: 'read-only' });
      expect(codeOf({}, byPolicy)).toBe('valid');
      expect(codeOf({ approvedByHumans: true }, byPolicy)).toBe('not_approved_by_humans');
      expect(receiptErrorOf(() => verifyReceipt(byPolicy, publicKey, { now, approvedByHumans: true })).message).toBe(
        'receipt is from policy alone (rule "read-only" allowed it); expected approval by people',
      );
      // Receipts issued before decidedBy was a claim: the approvers list tells.
      const { decidedBy: _d, ...old } = claims;
      expect(codeOf({ approvedByHumans: true }, signWith(privateKey, old))).toBe('valid');
      expect(codeOf({ approvedByHumans: true }, signWith(privateKey, { ...old, approvers: [] }))).toBe('not_approved_by_humans');
      // decidedBy says people, but nobody is named (or the reverse): not an approval by people.
      expect(codeOf({ approvedByHumans: true }, signWith(privateKey, { ...claims, approvers: [] }))).toBe('not_approved_by_humans');
      expect(codeOf({ approvedByHumans: true }, signWith(privateKey, { ...claims, decidedBy: 'policy' }))).toBe('not_approved_by_humans');
      expect(approvedByHumans(claims)).toBe(true);
    });

    it('refuses a decidedBy that is neither policy nor approvers as malformed', () => {
      expect(codeOf({}, signWith(privateKey, { ...claims, decidedBy: 'timeout' }))).toBe('malformed');
    });

    it('checks every binding given, naming the first that fails in the order action, resource, environment, people, parameters', () => {
      const all = { action: 'data.export', resource: claims.resource!, environment: 'production', approvedByHumans: true, parameters };
      expect(codeOf(all)).toBe('valid');
      expect(codeOf({ ...all, action: 'x', resource: 'x', environment: 'x', parameters: {} })).toBe('action_mismatch');
      expect(codeOf({ ...all, resource: 'x', environment: 'x', parameters: {} })).toBe('resource_mismatch');
      expect(codeOf({ ...all, environment: 'x', parameters: {} })).toBe('environment_mismatch');
      expect(codeOf({ ...all, parameters: {} })).toBe('parameters_mismatch');
      const byPolicy = signWith(privateKey, { ...claims, approvers: [], decidedBy: 'policy' });
      expect(codeOf({ ...all, parameters: {} }, byPolicy)).toBe('not_approved_by_humans');
      // Only a valid signature is compared: an edited claim fails as bad_signature, whatever the bindings say.
      const [h, , sig] = jws.split('.');
      expect(codeOf(all, `${h}.${b64json({ ...claims, action: 'db.drop' })}.${sig}`)).toBe('bad_signature');
      // And an expired receipt is expired even when everything matches.
      expect(receiptErrorOf(() => verifyReceipt(jws, publicKey, { ...all, now: new Date(claims.exp * 1000) })).code).toBe('expired');
    });
  });

  it('hashes absent parameters as {} and matches a hand-computed digest', () => {
    const empty = createHash('sha256').update('{}').digest('hex');
    expect(parametersHash(undefined)).toBe(empty);
    expect(parametersHash({})).toBe(empty);
    expect(parametersHash({ b: 1, a: 'x' })).toBe(createHash('sha256').update('{"a":"x","b":1}').digest('hex'));
    const jws = signWith(privateKey, { ...claims, paramsSha256: empty });
    expect(verifyReceipt(jws, publicKey, { now, parameters: undefined }).paramsSha256).toBe(empty);
  });
});
