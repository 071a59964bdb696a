/**
 * The AWS SDK's default credential provider as the functions' bundles have it: esbuild aliases
 * `@aws-sdk/credential-provider-node` to this module (`alias` in BUNDLING, lib/bundling.ts).
 *
 * Lambda gives a function its role's credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN), the first source the SDK's default chain reads. Its other sources (SSO, shared config files,
 * credential processes, web identity, container and instance metadata) and the STS and SSO clients they carry are
 * never reached in Lambda, yet each client's runtime config imports them all: about 130 KiB of every bundle and a
 * fifth of its cold load (bench/bundles.ts prints both). Local mode gives each function environment its credentials
 * the same way, so the local runs use this provider too; the sources under tsx and the CLI keep the whole chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import type { defaultProvider as chainProvider } from '@aws-sdk/credential-provider-node';

/** Same signature as the chain's: the SDK calls it with the client's config (its logger among it). */
export const defaultProvider: typeof chainProvider = (init = {}) => {
  const provider = fromEnv(init);
  // The chain's provider is memoized; the SDK calls this one only when its own identity cache needs credentials.
  return provider as ReturnType<typeof chainProvider>;
};
