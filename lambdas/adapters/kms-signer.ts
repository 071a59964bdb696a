/** The ledger key on AWS: a KMS ECC_NIST_P256 key, signing SHA-256 digests (MessageType DIGEST). */
import { createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms';
import type { LedgerSigner } from '../core/ports';

export function kmsLedgerSigner(kms: KMSClient, keyId: string): LedgerSigner {
  let publicKey: Promise<string> | undefined;
  const fetchPublicKeyPem = async () => {
    const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
    if (!PublicKey) throw new Error(`KMS returned no public key for ${keyId}`);
    return createPublicKey({ key: Buffer.from(PublicKey), format: 'der', type: 'spki' })
      .export({ format: 'pem', type: 'spki' })
      .toString();
  };
  return {
    keyId,
    async signDigest(digest) {
      // DIGEST: KMS signs the hash as given, so the signature verifies over the SHA-256 and any message size fits.
      const { Signature } = await kms.send(new SignCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));
      if (!Signature) throw new Error(`KMS returned no signature for ${keyId}`);
      return Signature;
    },
    publicKeyPem() {
      publicKey ??= fetchPublicKeyPem().catch((err: unknown) => {
        publicKey = undefined; // a failed call must not poison the cache
        throw err;
      });
      return publicKey;
    },
  };
}
