/**
 * The metrics port on AWS: CloudWatch embedded metric format (EMF) printed to stdout, which Lambda sends to the
 * function's log group and CloudWatch turns into metrics, so publishing costs no API call. Data points are kept for the
 * invocation and printed at its end (`withMetrics`, and `routeHandler` for the HTTP functions): a few lines at most.
 *
 * Written here rather than with Powertools Metrics, whose cost is small (about 15 KiB and 1 ms of cold load more per
 * bundle, measured) but whose model does not fit: one Metrics object publishes all its metrics under one set of
 * dimension values, so an invocation that records Requests by Effect and Rule, Decisions by Outcome and HttpResponses
 * by Route would need a `singleMetric()` (a line printed at once) per data point, or a grouping layer of our own on
 * top, which is most of `emfDocuments`; and its default `service` dimension must be cleared and the dimensionless set
 * asked for by a quirk (`addDimensions({})`) to get the `[dims]` and `[]` sets the alarms watch. The format is
 * core/metrics.ts `emfDocuments` (pure, tested against the specification); this file only buffers and prints.
 * Lines go to `process.stdout` itself, not `console`, which the Lambda runtime prefixes with a timestamp and request
 * id: an EMF line must be the JSON document alone.
 */
import { emfDocuments, type MetricPoint } from '../core/metrics';
import type { MetricsPort } from '../core/ports';

/** Points beyond this many in one invocation are dropped (a runaway loop must not fill the memory with metrics). */
const MAX_POINTS = 10_000;

const points: MetricPoint[] = [];

function record(point: MetricPoint): void {
  if (points.length < MAX_POINTS) points.push(point);
}

/** The EMF metrics of this execution environment: one invocation at a time, as Lambda runs them. */
export const emfMetrics: MetricsPort & { flush(): void } = {
  count: (key, dimensions, value = 1) => record({ key, dimensions, value }),
  timing: (key, dimensions, value) => record({ key, dimensions, value }),
  /** Prints what was recorded since the last flush, as EMF lines, and forgets it. Never throws. */
  flush() {
    if (points.length === 0) return;
    try {
      const lines = emfDocuments(points.splice(0), Date.now()).map((doc) => `${JSON.stringify(doc)}\n`);
      process.stdout.write(lines.join(''));
    } catch {
      // Metrics never fail an invocation.
    }
  },
};

/** The handler, with what it recorded published when it ends, whether it answers or throws. */
export function withMetrics<A extends unknown[], R>(handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await handler(...args);
    } finally {
      emfMetrics.flush();
    }
  };
}
