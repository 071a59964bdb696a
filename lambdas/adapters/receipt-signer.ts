/** Signs approval receipts (compact JWS, ES256) with the ledger's KMS key. */
import { createHash } from 'node:crypto';
import { SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { assembleReceipt, derToJose, receiptSigningInput, type ReceiptClaims } from '../core/receipt';

/**
 * ES256 is ECDSA P-256 over SHA-256 of the signing input, which is what KMS ECDSA_SHA_256 computes. The input is
 * hashed here and sent as a DIGEST (the same signature as MessageType RAW) so a receipt with a long resource or
 * many approvers never hits Sign's 4096-byte message limit. KMS answers DER; JWS wants raw r‖s.
 */
export async function signReceipt(kms: KMSClient, keyId: string, claims: ReceiptClaims): Promise<string> {
  return signCompactJws(kms, keyId, receiptSigningInput({ alg: 'ES256', typ: 'JWT', kid: keyId }, claims));
}

/** Signs a JWS signing input (`base64url(header).base64url(payload)`) with ES256 through KMS; returns the compact JWS. */
export async function signCompactJws(kms: KMSClient, keyId: string, signingInput: string): Promise<string> {
  const digest = createHash('sha256').update(signingInput, 'utf8').digest();
  const { Signature } = await kms.send(
    new SignCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
  );
  if (!Signature) throw new Error(`KMS returned no signature for ${keyId}`);
  return assembleReceipt(signingInput, derToJose(Signature));
}
