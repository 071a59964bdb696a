/**
 * DependencyFailures (core/metrics.ts): each AWS SDK client counts its calls that failed the way `dependencyFailure`
 * classifies a service failing or throttling (adapters/http.ts), by service. Counted once per call, after the SDK's
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

/** `client`, its failed calls counted under `service`. */
export function countingFailures<C>(client: C, service: Service): C {
  (client as unknown as WithMiddleware).middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (dependencyFailure(err)) emfMetrics.count('dependencyFailures', { Service: service });
        throw err;
      }
    },
    { step: 'initialize', name: 'countersignDependencyFailures' },
  );
  return client;
}
