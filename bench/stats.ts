/** Helpers shared by the bench scripts (`npm run bench`, `npm run load`): timed loops, percentiles, the printed table. */

/** The value at percentile `p` (0-100) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** `values` in ascending order, as a new array. */
export function ascending(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** `p50 … ms, p99 … ms` of latencies in ms (any order). */
export function latencySummary(latencies: readonly number[]): string {
  const sorted = ascending(latencies);
  if (sorted.length === 0) return 'none measured';
  return `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms`;
}

export interface DriveResult {
  /** Each successful call's latency in ms, ascending. */
  readonly latencies: number[];
  readonly errors: number;
  /** Seconds from the first call to the last answer. */
  readonly elapsed: number;
}

/** Runs `op` from `concurrency` loops for `seconds`; returns each call's latency in ms and the errors. */
export async function drive(op: () => Promise<void>, concurrency: number, seconds: number): Promise<DriveResult> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await op();
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  return { latencies: ascending(latencies), errors, elapsed: (performance.now() - started) / 1000 };
}

/** `N/s, p50 … ms, p99 … ms, E errors` of a `drive` run. */
export function summary(run: DriveResult): string {
  const { latencies, errors, elapsed } = run;
  return `${(latencies.length / elapsed).toFixed(0)}/s, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ${errors} errors`;
}

export interface Figure {
  readonly what: string;
  readonly value: string;
}

/** The figures as a two-column plain-text table (what, value), ending with a newline. */
export function formatTable(figures: readonly Figure[], heading: Figure = { what: 'figure', value: 'value' }): string {
  const width = Math.max(heading.what.length, ...figures.map((f) => f.what.length));
  const rows = [heading, { what: '-'.repeat(width), value: '-'.repeat(heading.value.length) }, ...figures];
  return `${rows.map((f) => `${f.what.padEnd(width)}  ${f.value}`.trimEnd()).join('\n')}\n`;
}
