/**
 * Local AWS KMS endpoint: the subset of the KMS API Countersign uses (ECC_NIST_P256 signing keys and HMAC_256
 * keys), spoken over the real wire protocol (awsJson1_1, `X-Amz-Target: TrentService.<Op>`) so handlers use the
 * unmodified SDK v3 `KMSClient` against it. Key material is kept on disk so a restart keeps the same keys.
 * `GET /_local/stats` (local only, no AWS counterpart) answers how many requests of each operation it served since
 * it started, e.g. `{"operations":{"Sign":12,"GetPublicKey":1}}`: the KMS calls an approval costs, measured.
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { KeySpec, KeyUsageType, MacAlgorithmSpec, MessageType, SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import { p256 } from '@noble/curves/nist.js';
import { z } from 'zod';
import { AwsServiceError, awsJsonHandler, LoopbackEndpoint, parseInput } from './aws-json';
import { readJson, readJsonDir, writeJsonAtomic } from './file-store';

/** Local signing is pure JS; a precomputed base-point table makes it about 1.5x faster. */
p256.Point.BASE.precompute(8);

export interface LocalKmsOptions {
  /** Folder for key material; keys live in `${dataDir}/kms/`. */
  readonly dataDir: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly accountId?: string;
}

/** The key specs this endpoint can create; every other AWS key spec is answered with UnsupportedOperationException. */
export type LocalKeySpec = 'ECC_NIST_P256' | 'HMAC_256';

/** Largest Message KMS accepts for Sign, Verify, GenerateMac and VerifyMac (the model's length constraint). */
const MAX_MESSAGE_BYTES = 4096;
/** Largest Signature / Mac blob the KMS model accepts. */
const MAX_SIGNATURE_BYTES = 6144;
const SHA256_DIGEST_BYTES = 32;
const HMAC_256_SECRET_BYTES = 32;

/** A base64 blob as the SDK sends it, decoded and held to the model's length bounds. */
const blob = (field: string, min: number, max: number) =>
  z
    .base64()
    .transform((text) => Buffer.from(text, 'base64'))
    .refine((bytes) => bytes.length >= min && bytes.length <= max, {
      message: `${field} must be between ${min} and ${max} bytes long`,
    });

const keyIdField = z.string().min(1).max(2048);
const grantTokens = z.array(z.string().min(1).max(8192)).max(10).optional();

// Enum fields use the SDK's own enums, so a value AWS does not know is a ValidationException while one it knows
// but this endpoint does not implement is an UnsupportedOperationException / InvalidKeyUsageException, as on AWS.
const createKeyInput = z.object({
  Description: z.string().max(8192).optional(),
  KeyUsage: z.enum(KeyUsageType).optional(),
  KeySpec: z.enum(KeySpec).optional(),
  CustomerMasterKeySpec: z.enum(KeySpec).optional(),
  Origin: z.string().optional(),
  MultiRegion: z.boolean().optional(),
  CustomKeyStoreId: z.string().optional(),
  XksKeyId: z.string().optional(),
  Policy: z.string().optional(),
  BypassPolicyLockoutSafetyCheck: z.boolean().optional(),
  Tags: z.array(z.object({ TagKey: z.string(), TagValue: z.string() })).optional(),
});

const aliasNameField = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[a-zA-Z0-9:/_-]+$/, 'must contain only alphanumerics, colons, slashes, underscores and dashes');

const createAliasInput = z.object({ AliasName: aliasNameField, TargetKeyId: keyIdField });

const listAliasesInput = z.object({
  KeyId: keyIdField.optional(),
  Limit: z.number().int().min(1).max(1000).optional(),
  Marker: z.string().min(1).max(1024).optional(),
});

const describeKeyInput = z.object({ KeyId: keyIdField, GrantTokens: grantTokens });
const getPublicKeyInput = describeKeyInput;

const signInput = z.object({
  KeyId: keyIdField,
  Message: blob('Message', 1, MAX_MESSAGE_BYTES),
  MessageType: z.enum(MessageType).optional(),
  SigningAlgorithm: z.enum(SigningAlgorithmSpec),
  GrantTokens: grantTokens,
  DryRun: z.boolean().optional(),
});
const verifyInput = signInput.extend({ Signature: blob('Signature', 1, MAX_SIGNATURE_BYTES) });

const generateMacInput = z.object({
  KeyId: keyIdField,
  Message: blob('Message', 1, MAX_MESSAGE_BYTES),
  MacAlgorithm: z.enum(MacAlgorithmSpec),
  GrantTokens: grantTokens,
  DryRun: z.boolean().optional(),
});
const verifyMacInput = generateMacInput.extend({ Mac: blob('Mac', 1, MAX_SIGNATURE_BYTES) });

/** One key as stored in `${dataDir}/kms/keys/<id>.json`; parsed on load so a hand-edited file fails loudly. */
const storedKeySchema = z.discriminatedUnion('keySpec', [
  z.object({
    keyId: z.uuid(),
    keySpec: z.literal('ECC_NIST_P256'),
    description: z.string(),
    creationDate: z.number(),
    /** PKCS#8 DER, base64. */
    privateKeyPkcs8: z.base64(),
  }),
  z.object({
    keyId: z.uuid(),
    keySpec: z.literal('HMAC_256'),
    description: z.string(),
    creationDate: z.number(),
    /** Raw HMAC secret, base64. */
    hmacSecret: z.base64(),
  }),
]);
type StoredKey = z.infer<typeof storedKeySchema>;

const storedAliasSchema = z.object({
  aliasName: z.string(),
  targetKeyId: z.uuid(),
  creationDate: z.number(),
  lastUpdatedDate: z.number(),
});
type StoredAlias = z.infer<typeof storedAliasSchema>;

/** A key ready for use: the stored record plus the decoded material, so no call re-reads or re-parses the disk. */
type LoadedKey =
  | {
      readonly stored: Extract<StoredKey, { keySpec: 'ECC_NIST_P256' }>;
      readonly privateScalar: Uint8Array;
      readonly publicKeySpki: Buffer;
      readonly publicKeyPoint: Uint8Array;
    }
  | { readonly stored: Extract<StoredKey, { keySpec: 'HMAC_256' }>; readonly hmacSecret: Buffer };

function loadKey(stored: StoredKey): LoadedKey {
  if (stored.keySpec === 'HMAC_256') return { stored, hmacSecret: Buffer.from(stored.hmacSecret, 'base64') };
  const privateKey = createPrivateKey({ key: Buffer.from(stored.privateKeyPkcs8, 'base64'), format: 'der', type: 'pkcs8' });
  const jwk = privateKey.export({ format: 'jwk' });
  if (!jwk.d || !jwk.x || !jwk.y) throw new Error(`KMS key ${stored.keyId}: stored private key is not an EC key`);
  const publicKeySpki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  // Uncompressed SEC1 point, the form @noble/curves verifies against.
  const publicKeyPoint = Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  return { stored, privateScalar: Buffer.from(jwk.d, 'base64url'), publicKeySpki, publicKeyPoint };
}

const SIGNING_ALGORITHMS = ['ECDSA_SHA_256'] as const;
const MAC_ALGORITHMS = ['HMAC_SHA_256'] as const;

function notFound(keyId: string): AwsServiceError {
  return new AwsServiceError('NotFoundException', `Key '${keyId}' does not exist`);
}

/** AWS answers DryRun on a request that would succeed with this error (HTTP 412), never with a result. */
function dryRunSucceeded(): AwsServiceError {
  return new AwsServiceError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.', 412);
}

function epochSeconds(ms: number): number {
  return ms / 1000;
}

export class LocalKms extends LoopbackEndpoint {
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;

  private readonly region: string;
  private readonly accountId: string;
  private readonly keysDir: string;
  private readonly aliasesFile: string;
  private readonly keys = new Map<string, LoadedKey>();
  private readonly aliases = new Map<string, StoredAlias>();
  /** Requests served, by operation (an operation that failed counts too: KMS counts it against the quota). */
  private readonly served = new Map<string, number>();

  constructor(options: LocalKmsOptions) {
    super();
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '000000000000';
    this.keysDir = join(options.dataDir, 'kms', 'keys');
    this.aliasesFile = join(options.dataDir, 'kms', 'aliases.json');

    // Loaded once here; every later change is made in memory and written through, so the disk is never re-read.
    for (const raw of readJsonDir(this.keysDir)) {
      const stored = storedKeySchema.parse(raw);
      this.keys.set(stored.keyId, loadKey(stored));
    }
    for (const alias of z.array(storedAliasSchema).parse(readJson(this.aliasesFile) ?? [])) {
      this.aliases.set(alias.aliasName, alias);
    }

    const operations: Record<string, (input: unknown) => unknown> = {
      CreateKey: (input) => this.createKey(input),
      CreateAlias: (input) => this.createAlias(input),
      ListAliases: (input) => this.listAliases(input),
      DescribeKey: (input) => this.describeKey(input),
      GetPublicKey: (input) => this.getPublicKey(input),
      Sign: (input) => this.sign(input),
      Verify: (input) => this.verify(input),
      GenerateMac: (input) => this.generateMac(input),
      VerifyMac: (input) => this.verifyMac(input),
    };
    const api = awsJsonHandler({
      targetPrefix: 'TrentService',
      contentType: 'application/x-amz-json-1.1',
      operations: Object.fromEntries(
        Object.entries(operations).map(([name, run]) => [
          name,
          (input: unknown) => {
            this.served.set(name, (this.served.get(name) ?? 0) + 1);
            return run(input);
          },
        ]),
      ),
    });
    this.handler = (req, res) => {
      if (req.method === 'GET' && req.url === '/_local/stats') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.stats()));
        return;
      }
      api(req, res);
    };
  }

  /** Requests served since start, by operation. */
  stats(): { operations: Record<string, number> } {
    return { operations: Object.fromEntries([...this.served].sort(([a], [b]) => (a < b ? -1 : 1))) };
  }

  async ensureKey(alias: string, keySpec: LocalKeySpec): Promise<string> {
    // Synchronous from here on, so two concurrent calls for one alias cannot both create a key.
    const existing = this.aliases.get(alias);
    if (existing) {
      const key = this.keys.get(existing.targetKeyId);
      if (!key) throw new Error(`KMS alias ${alias} points at missing key ${existing.targetKeyId}`);
      if (key.stored.keySpec !== keySpec) {
        throw new Error(`KMS alias ${alias} points at a ${key.stored.keySpec} key, not ${keySpec}`);
      }
      return this.keyArn(key.stored.keyId);
    }
    const key = this.generateKey(keySpec, `Countersign local key for ${alias}`);
    this.createAlias({ AliasName: alias, TargetKeyId: key.stored.keyId });
    return this.keyArn(key.stored.keyId);
  }

  // --- operations ---------------------------------------------------------------------------------------------

  private createKey(input: unknown) {
    const request = parseInput(createKeyInput, input);
    if (request.KeySpec && request.CustomerMasterKeySpec && request.KeySpec !== request.CustomerMasterKeySpec) {
      throw new AwsServiceError('ValidationException', 'KeySpec and CustomerMasterKeySpec must not both be set to different values');
    }
    const keySpec = request.KeySpec ?? request.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
    const keyUsage = request.KeyUsage ?? 'ENCRYPT_DECRYPT';
    if (request.Origin !== undefined && request.Origin !== 'AWS_KMS') {
      throw new AwsServiceError('UnsupportedOperationException', `Origin ${request.Origin} is not supported by the local KMS`);
    }
    if (request.CustomKeyStoreId || request.XksKeyId || request.MultiRegion) {
      throw new AwsServiceError('UnsupportedOperationException', 'custom key stores and multi-Region keys are not supported by the local KMS');
    }
    const usageForSpec: Record<LocalKeySpec, string> = { ECC_NIST_P256: 'SIGN_VERIFY', HMAC_256: 'GENERATE_VERIFY_MAC' };
    if (keySpec !== 'ECC_NIST_P256' && keySpec !== 'HMAC_256') {
      throw new AwsServiceError('UnsupportedOperationException', `KeySpec ${keySpec} is not supported by the local KMS (only ECC_NIST_P256 and HMAC_256)`);
    }
    if (keyUsage !== usageForSpec[keySpec]) {
      // ECC_NIST_P256 with KEY_AGREEMENT is valid on AWS but not implemented here; any other pairing AWS rejects.
      const type = keySpec === 'ECC_NIST_P256' && keyUsage === 'KEY_AGREEMENT' ? 'UnsupportedOperationException' : 'ValidationException';
      throw new AwsServiceError(type, `KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`);
    }
    const key = this.generateKey(keySpec, request.Description ?? '');
    return { KeyMetadata: this.keyMetadata(key) };
  }

  private createAlias(input: unknown): Record<string, never> {
    const request = parseInput(createAliasInput, input);
    const aliasName = request.AliasName;
    if (!aliasName.startsWith('alias/') || aliasName.length === 'alias/'.length) {
      throw new AwsServiceError('InvalidAliasNameException', `Alias must start with the prefix "alias/" followed by a name: ${aliasName}`);
    }
    if (aliasName.startsWith('alias/aws/')) {
      throw new AwsServiceError('InvalidAliasNameException', `The alias/aws/ prefix is reserved for AWS managed keys: ${aliasName}`);
    }
    // TargetKeyId takes a key id or key ARN only; an alias cannot point at another alias.
    const target = this.keyByIdOrArn(request.TargetKeyId);
    if (!target) throw notFound(request.TargetKeyId);
    if (this.aliases.has(aliasName)) {
      throw new AwsServiceError('AlreadyExistsException', `An alias with the name ${this.aliasArn(aliasName)} already exists`);
    }
    const now = Date.now();
    this.aliases.set(aliasName, { aliasName, targetKeyId: target.stored.keyId, creationDate: now, lastUpdatedDate: now });
    this.saveAliases();
    return {};
  }

  private listAliases(input: unknown) {
    const request = parseInput(listAliasesInput, input);
    let aliases = [...this.aliases.values()].sort((a, b) => a.aliasName.localeCompare(b.aliasName));
    if (request.KeyId !== undefined) {
      const key = this.keyByIdOrArn(request.KeyId);
      if (!key) throw notFound(request.KeyId);
      aliases = aliases.filter((alias) => alias.targetKeyId === key.stored.keyId);
    }
    // The marker is an offset into the sorted list; anything else is a marker this endpoint never issued.
    const start = request.Marker === undefined ? 0 : Number(request.Marker);
    if (!Number.isSafeInteger(start) || start < 0 || start > aliases.length) {
      throw new AwsServiceError('InvalidMarkerException', `Invalid marker: ${request.Marker}`);
    }
    const limit = request.Limit ?? 50;
    const page = aliases.slice(start, start + limit);
    const truncated = start + limit < aliases.length;
    return {
      Aliases: page.map((alias) => ({
        AliasName: alias.aliasName,
        AliasArn: this.aliasArn(alias.aliasName),
        TargetKeyId: alias.targetKeyId,
        CreationDate: epochSeconds(alias.creationDate),
        LastUpdatedDate: epochSeconds(alias.lastUpdatedDate),
      })),
      Truncated: truncated,
      ...(truncated ? { NextMarker: String(start + limit) } : {}),
    };
  }

  private describeKey(input: unknown) {
    const request = parseInput(describeKeyInput, input);
    return { KeyMetadata: this.keyMetadata(this.resolveKey(request.KeyId)) };
  }

  private getPublicKey(input: unknown) {
    const request = parseInput(getPublicKeyInput, input);
    const key = this.resolveKey(request.KeyId);
    if (!('publicKeySpki' in key)) {
      throw new AwsServiceError(
        'UnsupportedOperationException',
        `${this.keyArn(key.stored.keyId)} key type is not supported for this operation: ${key.stored.keySpec} keys have no public key`,
      );
    }
    return {
      KeyId: this.keyArn(key.stored.keyId),
      PublicKey: key.publicKeySpki.toString('base64'),
      KeySpec: key.stored.keySpec,
      CustomerMasterKeySpec: key.stored.keySpec,
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: [...SIGNING_ALGORITHMS],
    };
  }

  private sign(input: unknown) {
    const request = parseInput(signInput, input);
    const key = this.signingKey(request.KeyId, request.SigningAlgorithm);
    const digest = this.digestToSign(request.Message, request.MessageType);
    if (request.DryRun) throw dryRunSucceeded();
    // prehash: false because `digest` is already SHA-256 (node:crypto would hash it again). lowS: false and
    // extraEntropy like KMS, whose ECDSA signatures are randomized and not normalized to low S.
    const signature = p256.sign(digest, key.privateScalar, {
      prehash: false,
      lowS: false,
      extraEntropy: true,
      format: 'der',
    });
    return {
      KeyId: this.keyArn(key.stored.keyId),
      Signature: Buffer.from(signature).toString('base64'),
      SigningAlgorithm: request.SigningAlgorithm,
    };
  }

  private verify(input: unknown) {
    const request = parseInput(verifyInput, input);
    const key = this.signingKey(request.KeyId, request.SigningAlgorithm);
    const digest = this.digestToSign(request.Message, request.MessageType);
    if (request.DryRun) throw dryRunSucceeded();
    let valid: boolean;
    try {
      // lowS: false so high-S signatures (e.g. from node:crypto) verify, as they do on AWS.
      valid = p256.verify(request.Signature, digest, key.publicKeyPoint, { prehash: false, lowS: false, format: 'der' });
    } catch {
      valid = false; // malformed DER
    }
    if (!valid) throw new AwsServiceError('KMSInvalidSignatureException', 'Signature verification failed');
    return { KeyId: this.keyArn(key.stored.keyId), SignatureValid: true, SigningAlgorithm: request.SigningAlgorithm };
  }

  private generateMac(input: unknown) {
    const request = parseInput(generateMacInput, input);
    const key = this.macKey(request.KeyId, request.MacAlgorithm);
    if (request.DryRun) throw dryRunSucceeded();
    const mac = createHmac('sha256', key.hmacSecret).update(request.Message).digest();
    return { KeyId: this.keyArn(key.stored.keyId), Mac: mac.toString('base64'), MacAlgorithm: request.MacAlgorithm };
  }

  private verifyMac(input: unknown) {
    const request = parseInput(verifyMacInput, input);
    const key = this.macKey(request.KeyId, request.MacAlgorithm);
    if (request.DryRun) throw dryRunSucceeded();
    const expected = createHmac('sha256', key.hmacSecret).update(request.Message).digest();
    // timingSafeEqual needs equal lengths; a length mismatch reveals nothing about the secret.
    const valid = request.Mac.length === expected.length && timingSafeEqual(request.Mac, expected);
    if (!valid) throw new AwsServiceError('KMSInvalidMacException', 'MAC verification failed');
    return { KeyId: this.keyArn(key.stored.keyId), MacValid: true, MacAlgorithm: request.MacAlgorithm };
  }

  // --- keys ---------------------------------------------------------------------------------------------------

  private generateKey(keySpec: LocalKeySpec, description: string): LoadedKey {
    const keyId = randomUUID();
    const creationDate = Date.now();
    const stored: StoredKey =
      keySpec === 'ECC_NIST_P256'
        ? {
            keyId,
            keySpec,
            description,
            creationDate,
            privateKeyPkcs8: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
          }
        : { keyId, keySpec, description, creationDate, hmacSecret: randomBytes(HMAC_256_SECRET_BYTES).toString('base64') };
    const key = loadKey(stored);
    writeJsonAtomic(join(this.keysDir, `${keyId}.json`), stored, 0o600);
    this.keys.set(keyId, key);
    return key;
  }

  private saveAliases(): void {
    writeJsonAtomic(this.aliasesFile, [...this.aliases.values()], 0o600);
  }

  private keyArn(keyId: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:key/${keyId}`;
  }

  private aliasArn(aliasName: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:${aliasName}`;
  }

  private keyByIdOrArn(keyId: string): LoadedKey | undefined {
    const prefix = this.keyArn('');
    const id = keyId.startsWith(prefix) ? keyId.slice(prefix.length) : keyId;
    return this.keys.get(id);
  }

  /** KeyId as every KMS operation accepts it: key id, key ARN, alias name, or alias ARN. */
  private resolveKey(keyId: string): LoadedKey {
    const aliasArnPrefix = this.aliasArn('');
    const aliasName = keyId.startsWith('alias/') ? keyId : keyId.startsWith(`${aliasArnPrefix}alias/`) ? keyId.slice(aliasArnPrefix.length) : undefined;
    if (aliasName !== undefined) {
      const alias = this.aliases.get(aliasName);
      const key = alias && this.keys.get(alias.targetKeyId);
      if (!key) throw new AwsServiceError('NotFoundException', `Alias ${this.aliasArn(aliasName)} is not found.`);
      return key;
    }
    const key = this.keyByIdOrArn(keyId);
    if (!key) throw notFound(keyId);
    return key;
  }

  private signingKey(keyId: string, algorithm: string): Extract<LoadedKey, { publicKeySpki: Buffer }> {
    const key = this.resolveKey(keyId);
    if (!('publicKeySpki' in key)) {
      throw new AwsServiceError(
        'InvalidKeyUsageException',
        `${this.keyArn(key.stored.keyId)} key usage is GENERATE_VERIFY_MAC which is not valid for signing.`,
      );
    }
    if (!(SIGNING_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new AwsServiceError('InvalidKeyUsageException', `Algorithm ${algorithm} is incompatible with key spec ${key.stored.keySpec}.`);
    }
    return key;
  }

  private macKey(keyId: string, algorithm: string): Extract<LoadedKey, { hmacSecret: Buffer }> {
    const key = this.resolveKey(keyId);
    if (!('hmacSecret' in key)) {
      throw new AwsServiceError(
        'InvalidKeyUsageException',
        `${this.keyArn(key.stored.keyId)} key usage is SIGN_VERIFY which is not valid for GenerateMac or VerifyMac.`,
      );
    }
    if (!(MAC_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new AwsServiceError('InvalidKeyUsageException', `Algorithm ${algorithm} is incompatible with key spec ${key.stored.keySpec}.`);
    }
    return key;
  }

  /** The SHA-256 digest ECDSA signs: hashed here for RAW, taken as given for DIGEST. */
  private digestToSign(message: Buffer, messageType: string | undefined): Uint8Array {
    switch (messageType ?? 'RAW') {
      case 'RAW':
        return createHash('sha256').update(message).digest();
      case 'DIGEST':
        if (message.length !== SHA256_DIGEST_BYTES) {
          throw new AwsServiceError(
            'ValidationException',
            `Digest is invalid length for algorithm ECDSA_SHA_256: expected ${SHA256_DIGEST_BYTES} bytes, got ${message.length}.`,
          );
        }
        return message;
      default:
        // EXTERNAL_MU is for ML-DSA keys only.
        throw new AwsServiceError('InvalidKeyUsageException', `MessageType ${messageType} is not valid for ECDSA_SHA_256.`);
    }
  }

  private keyMetadata(key: LoadedKey) {
    const { stored } = key;
    const isSigning = stored.keySpec === 'ECC_NIST_P256';
    return {
      AWSAccountId: this.accountId,
      KeyId: stored.keyId,
      Arn: this.keyArn(stored.keyId),
      CreationDate: epochSeconds(stored.creationDate),
      Enabled: true,
      Description: stored.description,
      KeyUsage: isSigning ? 'SIGN_VERIFY' : 'GENERATE_VERIFY_MAC',
      KeyState: 'Enabled',
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: stored.keySpec,
      KeySpec: stored.keySpec,
      ...(isSigning ? { SigningAlgorithms: [...SIGNING_ALGORITHMS] } : { MacAlgorithms: [...MAC_ALGORITHMS] }),
      MultiRegion: false,
    };
  }
}
