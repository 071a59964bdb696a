/**
 * Conformance of the local KMS endpoint, exercised only through the real SDK v3 KMSClient so the wire format
 * (awsJson1_1, base64 blobs, epoch-second dates, `__type` errors) is checked the way handlers will use it.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GenerateMacCommand,
  GetPublicKeyCommand,
  KMSClient,
  ListAliasesCommand,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKms } from '../../local/kms';

const SIGNING_ALIAS = 'alias/countersign-ledger';
const MAC_ALIAS = 'alias/countersign-review-token';
const UNKNOWN_KEY_ID = '11111111-2222-3333-4444-555555555555';

const message = Buffer.from('approve: transfer 100 EUR to ACME');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

function clientFor(url: string): KMSClient {
  return new KMSClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/** The error the SDK raised for `promise`, so tests can assert on its name. */
async function errorOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

function flipFirstByte(bytes: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[0] = copy[0]! ^ 0xff;
  return copy;
}

describe('LocalKms through the SDK KMSClient', () => {
  let dataDir: string;
  let kms: LocalKms;
  let client: KMSClient;
  let signingKeyArn: string;
  let macKeyArn: string;
  let publicKeyDer: Uint8Array;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cs-kms-'));
    kms = new LocalKms({ dataDir });
    client = clientFor(await kms.listen());
    signingKeyArn = await kms.ensureKey(SIGNING_ALIAS, 'ECC_NIST_P256');
    macKeyArn = await kms.ensureKey(MAC_ALIAS, 'HMAC_256');
    const publicKey = await client.send(new GetPublicKeyCommand({ KeyId: signingKeyArn }));
    publicKeyDer = publicKey.PublicKey!;
  });

  afterAll(async () => {
    client?.destroy();
    await kms?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const nodePublicKey = () => createPublicKey({ key: Buffer.from(publicKeyDer), format: 'der', type: 'spki' });

  describe('CreateKey, DescribeKey, GetPublicKey', () => {
    it('creates an ECC_NIST_P256 signing key with the metadata AWS returns', async () => {
      const { KeyMetadata } = await client.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Description: 'test signer' }));
      expect(KeyMetadata?.KeyId).toMatch(/^[0-9a-f-]{36}$/);
      expect(KeyMetadata?.Arn).toBe(`arn:aws:kms:us-east-1:000000000000:key/${KeyMetadata?.KeyId}`);
      expect(KeyMetadata).toMatchObject({
        Enabled: true,
        KeyState: 'Enabled',
        KeyUsage: 'SIGN_VERIFY',
        KeySpec: 'ECC_NIST_P256',
        CustomerMasterKeySpec: 'ECC_NIST_P256',
        SigningAlgorithms: ['ECDSA_SHA_256'],
        KeyManager: 'CUSTOMER',
        Origin: 'AWS_KMS',
        Description: 'test signer',
      });
      // The SDK only yields a Date if the wire carried epoch seconds.
      expect(KeyMetadata?.CreationDate).toBeInstanceOf(Date);
      expect(Math.abs(KeyMetadata!.CreationDate!.getTime() - Date.now())).toBeLessThan(60_000);
    });

    it('creates an HMAC_256 key with MacAlgorithms and no public key', async () => {
      const { KeyMetadata } = await client.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }));
      expect(KeyMetadata).toMatchObject({ KeyUsage: 'GENERATE_VERIFY_MAC', KeySpec: 'HMAC_256', MacAlgorithms: ['HMAC_SHA_256'] });
      expect(KeyMetadata?.SigningAlgorithms).toBeUndefined();
      expect((await errorOf(client.send(new GetPublicKeyCommand({ KeyId: KeyMetadata!.KeyId! }))))?.name).toBe('UnsupportedOperationException');
    });

    it('rejects key specs it does not implement and usages that do not fit the spec', async () => {
      expect((await errorOf(client.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })))).name).toBe('UnsupportedOperationException');
      expect((await errorOf(client.send(new CreateKeyCommand({})))).name).toBe('UnsupportedOperationException');
      expect((await errorOf(client.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256' })))).name).toBe('ValidationException');
      expect((await errorOf(client.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'SIGN_VERIFY' })))).name).toBe('ValidationException');
    });

    it('returns the public key as DER SubjectPublicKeyInfo with the key ARN', async () => {
      const publicKey = await client.send(new GetPublicKeyCommand({ KeyId: SIGNING_ALIAS }));
      expect(publicKey).toMatchObject({
        KeyId: signingKeyArn,
        KeySpec: 'ECC_NIST_P256',
        CustomerMasterKeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        SigningAlgorithms: ['ECDSA_SHA_256'],
      });
      expect(nodePublicKey().asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    });
  });

  describe('Sign and Verify', () => {
    it('signs a DIGEST without hashing it again: node verifies it over the original message', async () => {
      const { Signature, KeyId, SigningAlgorithm } = await client.send(
        new SignCommand({ KeyId: SIGNING_ALIAS, Message: sha256(message), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
      );
      expect(KeyId).toBe(signingKeyArn);
      expect(SigningAlgorithm).toBe('ECDSA_SHA_256');
      expect(nodeVerify('sha256', message, nodePublicKey(), Signature!)).toBe(true);
      expect(nodeVerify('sha256', Buffer.from('approve: transfer 999 EUR to ACME'), nodePublicKey(), Signature!)).toBe(false);
    });

    it('signs RAW messages by hashing them with SHA-256', async () => {
      const { Signature } = await client.send(new SignCommand({ KeyId: signingKeyArn, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
      expect(nodeVerify('sha256', message, nodePublicKey(), Signature!)).toBe(true);
      expect(nodeVerify('sha256', Buffer.concat([message, Buffer.from('!')]), nodePublicKey(), Signature!)).toBe(false);
    });

    it('Verify accepts DIGEST and RAW signatures and throws KMSInvalidSignatureException for a wrong one', async () => {
      const digestSigned = await client.send(
        new SignCommand({ KeyId: SIGNING_ALIAS, Message: sha256(message), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
      );
      const rawSigned = await client.send(new SignCommand({ KeyId: SIGNING_ALIAS, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));

      // A digest and its message are the same message to KMS, so each signature verifies in both modes.
      for (const signature of [digestSigned.Signature!, rawSigned.Signature!]) {
        const asDigest = await client.send(
          new VerifyCommand({ KeyId: SIGNING_ALIAS, Message: sha256(message), MessageType: 'DIGEST', Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' }),
        );
        expect(asDigest).toMatchObject({ KeyId: signingKeyArn, SignatureValid: true, SigningAlgorithm: 'ECDSA_SHA_256' });
        const asRaw = await client.send(
          new VerifyCommand({ KeyId: SIGNING_ALIAS, Message: message, MessageType: 'RAW', Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' }),
        );
        expect(asRaw.SignatureValid).toBe(true);
      }

      const wrongMessage = await errorOf(
        client.send(
          new VerifyCommand({ KeyId: SIGNING_ALIAS, Message: Buffer.from('other'), Signature: rawSigned.Signature!, SigningAlgorithm: 'ECDSA_SHA_256' }),
        ),
      );
      expect(wrongMessage.name).toBe('KMSInvalidSignatureException');
      const garbage = await errorOf(
        client.send(
          new VerifyCommand({ KeyId: SIGNING_ALIAS, Message: message, Signature: flipFirstByte(rawSigned.Signature!), SigningAlgorithm: 'ECDSA_SHA_256' }),
        ),
      );
      expect(garbage.name).toBe('KMSInvalidSignatureException');
    });

    it('Verify accepts both low-S and high-S forms of a signature', async () => {
      const { Signature } = await client.send(new SignCommand({ KeyId: SIGNING_ALIAS, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
      const { r, s } = parseDerSignature(Signature!);
      const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
      for (const candidateS of [s, n - s]) {
        const result = await client.send(
          new VerifyCommand({ KeyId: SIGNING_ALIAS, Message: message, Signature: encodeDerSignature(r, candidateS), SigningAlgorithm: 'ECDSA_SHA_256' }),
        );
        expect(result.SignatureValid).toBe(true);
      }
    });

    it('does not verify a signature made by another key', async () => {
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const foreign = nodeSign('sha256', message, other.privateKey);
      const err = await errorOf(
        client.send(new VerifyCommand({ KeyId: SIGNING_ALIAS, Message: message, Signature: foreign, SigningAlgorithm: 'ECDSA_SHA_256' })),
      );
      expect(err.name).toBe('KMSInvalidSignatureException');
    });
  });

  describe('GenerateMac and VerifyMac', () => {
    it('round-trips, is deterministic per message, and rejects a flipped byte', async () => {
      const first = await client.send(new GenerateMacCommand({ KeyId: MAC_ALIAS, Message: message, MacAlgorithm: 'HMAC_SHA_256' }));
      expect(first.KeyId).toBe(macKeyArn);
      expect(first.MacAlgorithm).toBe('HMAC_SHA_256');
      expect(first.Mac).toHaveLength(32);

      const verified = await client.send(new VerifyMacCommand({ KeyId: MAC_ALIAS, Message: message, Mac: first.Mac!, MacAlgorithm: 'HMAC_SHA_256' }));
      expect(verified).toMatchObject({ KeyId: macKeyArn, MacValid: true, MacAlgorithm: 'HMAC_SHA_256' });

      const again = await client.send(new GenerateMacCommand({ KeyId: macKeyArn, Message: message, MacAlgorithm: 'HMAC_SHA_256' }));
      expect(Buffer.from(again.Mac!).equals(Buffer.from(first.Mac!))).toBe(true);
      const other = await client.send(new GenerateMacCommand({ KeyId: MAC_ALIAS, Message: Buffer.from('other'), MacAlgorithm: 'HMAC_SHA_256' }));
      expect(Buffer.from(other.Mac!).equals(Buffer.from(first.Mac!))).toBe(false);

      const flipped = await errorOf(
        client.send(new VerifyMacCommand({ KeyId: MAC_ALIAS, Message: message, Mac: flipFirstByte(first.Mac!), MacAlgorithm: 'HMAC_SHA_256' })),
      );
      expect(flipped.name).toBe('KMSInvalidMacException');
      const truncated = await errorOf(
        client.send(new VerifyMacCommand({ KeyId: MAC_ALIAS, Message: message, Mac: first.Mac!.slice(0, 16), MacAlgorithm: 'HMAC_SHA_256' })),
      );
      expect(truncated.name).toBe('KMSInvalidMacException');
    });
  });

  describe('errors', () => {
    it('answers NotFoundException for an unknown key id, ARN or alias', async () => {
      const unknownArn = `arn:aws:kms:us-east-1:000000000000:key/${UNKNOWN_KEY_ID}`;
      const calls = [
        client.send(new SignCommand({ KeyId: UNKNOWN_KEY_ID, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' })),
        client.send(new GetPublicKeyCommand({ KeyId: unknownArn })),
        client.send(new DescribeKeyCommand({ KeyId: UNKNOWN_KEY_ID })),
        client.send(new DescribeKeyCommand({ KeyId: 'alias/does-not-exist' })),
        client.send(new GenerateMacCommand({ KeyId: UNKNOWN_KEY_ID, Message: message, MacAlgorithm: 'HMAC_SHA_256' })),
      ];
      for (const call of calls) expect((await errorOf(call)).name).toBe('NotFoundException');
    });

    it('answers ValidationException for a DIGEST of the wrong length and a message over 4096 bytes', async () => {
      const shortDigest = await errorOf(
        client.send(new SignCommand({ KeyId: SIGNING_ALIAS, Message: Buffer.alloc(31, 1), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' })),
      );
      expect(shortDigest.name).toBe('ValidationException');
      const tooLong = await errorOf(client.send(new SignCommand({ KeyId: SIGNING_ALIAS, Message: Buffer.alloc(4097, 1), SigningAlgorithm: 'ECDSA_SHA_256' })));
      expect(tooLong.name).toBe('ValidationException');
      const tooLongMac = await errorOf(client.send(new GenerateMacCommand({ KeyId: MAC_ALIAS, Message: Buffer.alloc(4097, 1), MacAlgorithm: 'HMAC_SHA_256' })));
      expect(tooLongMac.name).toBe('ValidationException');
      // 4096 bytes is still allowed.
      const atLimit = await client.send(new SignCommand({ KeyId: SIGNING_ALIAS, Message: Buffer.alloc(4096, 1), SigningAlgorithm: 'ECDSA_SHA_256' }));
      expect(atLimit.Signature?.length).toBeGreaterThan(0);
    });

    it('answers InvalidKeyUsageException for the wrong key type or an algorithm the key does not support', async () => {
      const hmacForSign = await errorOf(client.send(new SignCommand({ KeyId: MAC_ALIAS, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' })));
      expect(hmacForSign.name).toBe('InvalidKeyUsageException');
      const eccForMac = await errorOf(client.send(new GenerateMacCommand({ KeyId: SIGNING_ALIAS, Message: message, MacAlgorithm: 'HMAC_SHA_256' })));
      expect(eccForMac.name).toBe('InvalidKeyUsageException');
      const rsaAlgorithm = await errorOf(client.send(new SignCommand({ KeyId: SIGNING_ALIAS, Message: message, SigningAlgorithm: 'RSASSA_PSS_SHA_256' })));
      expect(rsaAlgorithm.name).toBe('InvalidKeyUsageException');
    });

    it('answers UnknownOperationException for operations it does not implement', async () => {
      const { EncryptCommand } = await import('@aws-sdk/client-kms');
      const err = await errorOf(client.send(new EncryptCommand({ KeyId: SIGNING_ALIAS, Plaintext: message })));
      expect(err.name).toBe('UnknownOperationException');
    });
  });

  describe('aliases', () => {
    it('resolves a key by alias name and alias ARN, and ensureKey is idempotent', async () => {
      const byName = await client.send(new DescribeKeyCommand({ KeyId: SIGNING_ALIAS }));
      const byArn = await client.send(new DescribeKeyCommand({ KeyId: `arn:aws:kms:us-east-1:000000000000:${SIGNING_ALIAS}` }));
      expect(byName.KeyMetadata?.Arn).toBe(signingKeyArn);
      expect(byArn.KeyMetadata?.Arn).toBe(signingKeyArn);
      expect(await kms.ensureKey(SIGNING_ALIAS, 'ECC_NIST_P256')).toBe(signingKeyArn);
      await expect(kms.ensureKey(SIGNING_ALIAS, 'HMAC_256')).rejects.toThrow(/ECC_NIST_P256/);
    });

    it('creates and lists aliases, refusing duplicates and reserved or malformed names', async () => {
      const keyId = byArnToId(signingKeyArn);
      await client.send(new CreateAliasCommand({ AliasName: 'alias/second-name', TargetKeyId: keyId }));
      expect((await client.send(new DescribeKeyCommand({ KeyId: 'alias/second-name' }))).KeyMetadata?.Arn).toBe(signingKeyArn);

      const duplicate = await errorOf(client.send(new CreateAliasCommand({ AliasName: 'alias/second-name', TargetKeyId: keyId })));
      expect(duplicate.name).toBe('AlreadyExistsException');
      const reserved = await errorOf(client.send(new CreateAliasCommand({ AliasName: 'alias/aws/s3', TargetKeyId: keyId })));
      expect(reserved.name).toBe('InvalidAliasNameException');
      const noPrefix = await errorOf(client.send(new CreateAliasCommand({ AliasName: 'second-name', TargetKeyId: keyId })));
      expect(noPrefix.name).toBe('InvalidAliasNameException');
      const unknownTarget = await errorOf(client.send(new CreateAliasCommand({ AliasName: 'alias/x', TargetKeyId: UNKNOWN_KEY_ID })));
      expect(unknownTarget.name).toBe('NotFoundException');

      const forKey = await client.send(new ListAliasesCommand({ KeyId: keyId }));
      expect(forKey.Aliases?.map((a) => a.AliasName).sort()).toEqual(['alias/countersign-ledger', 'alias/second-name']);
      expect(forKey.Aliases?.[0]).toMatchObject({ TargetKeyId: keyId, AliasArn: expect.stringMatching(/^arn:aws:kms:us-east-1:000000000000:alias\//) });
      expect(forKey.Aliases?.[0]?.CreationDate).toBeInstanceOf(Date);

      const firstPage = await client.send(new ListAliasesCommand({ Limit: 1 }));
      expect(firstPage.Aliases).toHaveLength(1);
      expect(firstPage.Truncated).toBe(true);
      const secondPage = await client.send(new ListAliasesCommand({ Limit: 1, Marker: firstPage.NextMarker! }));
      expect(secondPage.Aliases?.[0]?.AliasName).not.toBe(firstPage.Aliases?.[0]?.AliasName);
    });
  });

  describe('persistence', () => {
    it('a new LocalKms on the same folder has the same keys', async () => {
      const { Signature: oldSignature } = await client.send(new SignCommand({ KeyId: SIGNING_ALIAS, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
      const { Mac: oldMac } = await client.send(new GenerateMacCommand({ KeyId: MAC_ALIAS, Message: message, MacAlgorithm: 'HMAC_SHA_256' }));
      const keyFile = join(dataDir, 'kms', 'keys', `${byArnToId(signingKeyArn)}.json`);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);

      const restarted = new LocalKms({ dataDir });
      const restartedClient = clientFor(await restarted.listen());
      try {
        expect(await restarted.ensureKey(SIGNING_ALIAS, 'ECC_NIST_P256')).toBe(signingKeyArn);
        const publicKey = await restartedClient.send(new GetPublicKeyCommand({ KeyId: SIGNING_ALIAS }));
        expect(Buffer.from(publicKey.PublicKey!).equals(Buffer.from(publicKeyDer))).toBe(true);

        const verified = await restartedClient.send(
          new VerifyCommand({ KeyId: SIGNING_ALIAS, Message: message, Signature: oldSignature!, SigningAlgorithm: 'ECDSA_SHA_256' }),
        );
        expect(verified.SignatureValid).toBe(true);

        const { Mac } = await restartedClient.send(new GenerateMacCommand({ KeyId: MAC_ALIAS, Message: message, MacAlgorithm: 'HMAC_SHA_256' }));
        expect(Buffer.from(Mac!).equals(Buffer.from(oldMac!))).toBe(true);
      } finally {
        restartedClient.destroy();
        await restarted.close();
      }
    });
  });
});

function byArnToId(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** Minimal DER ECDSA-Sig-Value codec, only to build the high-S twin of a signature. */
function parseDerSignature(der: Uint8Array): { r: bigint; s: bigint } {
  const bytes = Buffer.from(der);
  let offset = 2; // SEQUENCE tag + length (short form: P-256 signatures are under 128 bytes)
  const readInteger = (): bigint => {
    const length = bytes[offset + 1]!;
    const value = BigInt(`0x${bytes.subarray(offset + 2, offset + 2 + length).toString('hex')}`);
    offset += 2 + length;
    return value;
  };
  return { r: readInteger(), s: readInteger() };
}

function encodeDerSignature(r: bigint, s: bigint): Uint8Array {
  const integer = (value: bigint): Buffer => {
    let hex = value.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    let body = Buffer.from(hex, 'hex');
    if (body[0]! & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const content = Buffer.concat([integer(r), integer(s)]);
  return Buffer.concat([Buffer.from([0x30, content.length]), content]);
}
