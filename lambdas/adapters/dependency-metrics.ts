/**
 * DependencyFailures (core/metrics.ts): each AWS SDK client counts its calls that failed the way `dependencyFailure`
 * classifies a service failing or throttling (adapters/http.ts), by service; for KMS, every error but a MAC or
 * signature that does not verify (`countsAsFailure`). Counted once per call, after the SDK's
 * own retries: the middleware sits in the `initialize` step, outside the retry loop.
 */
import type { DIMENSION_VALUES } from '../core/metrics';
import { dependencyFailure } from './http';
import { emfMetrics } from './metrics';

type Service = (typeof DIMENSION_VALUES)['Service'][number];

type Handler = (args: unknown) => Promise<unknown>;

/** What the SDK clients' middleware stacks take (their own types differ by client; this is what they share). */
interface WithMiddleware {
  readonly middlewareStack: { add(middleware: (next: Handler) => Handler, options: { step: 'initialize'; name: string }): void };
}

/**
 * KMS answers that are not failures: a MAC or signature that does not verify is the answer to the question asked.
 * Every other KMS error is one, client errors included: a disabled key, one pending deletion or a changed key policy
 * (DisabledException, KMSInvalidStateException, AccessDeniedException) answer 400, and they are what the KmsFailures
 * alarm is for.
 */
const KMS_ANSWERS = new Set(['KMSInvalidMacException', 'KMSInvalidSignatureException']);

/** Whether a failed call counts: KMS's by the rule above, the other services' as `dependencyFailure` classifies them. */
export function countsAsFailure(service: Service, err: unknown): boolean {
  if (service === 'kms') return !KMS_ANSWERS.has((err as { name?: unknown } | undefined)?.name as string);
  return dependencyFailure(err);
}

/** `client`, its failed calls counted under `service`. */
export function countingFailures<C>(client: C, service: Service): C {
  (client as unknown as WithMiddleware).middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (countsAsFailure(service, err)) emfMetrics.count('dependencyFailures', { Service: service });
        throw err;
      }
    },
    { step: 'initialize', name: 'countersignDependencyFailures' },
  );
  return client;
}
