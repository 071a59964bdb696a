/** The MAC port on KMS: GenerateMac/VerifyMac with the review-token HMAC_256 key. */
import { GenerateMacCommand, type KMSClient, KMSInvalidMacException, VerifyMacCommand } from '@aws-sdk/client-kms';
import type { MacPort } from '../core/review-token';

export function kmsMac(kms: KMSClient, keyId: string): MacPort {
  return {
    async generate(message) {
      const { Mac } = await kms.send(new GenerateMacCommand({ KeyId: keyId, MacAlgorithm: 'HMAC_SHA_256', Message: message }));
      if (!Mac) throw new Error('KMS GenerateMac returned no MAC');
      return Buffer.from(Mac);
    },
    async verify(message, mac) {
      if (mac.length !== 32) return false;
      try {
        const { MacValid } = await kms.send(new VerifyMacCommand({ KeyId: keyId, MacAlgorithm: 'HMAC_SHA_256', Message: message, Mac: mac }));
        return MacValid === true;
      } catch (err) {
        if (err instanceof KMSInvalidMacException) return false;
        throw err;
      }
    },
  };
}
