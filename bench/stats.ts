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

/** The median of `values` (any order); NaN when empty. */
export function median(values: readonly number[]): number {
  const sorted = ascending(values);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A figure measured several times: the median of the runs and the lowest and highest. */
export interface Repeated {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** The runs' median and range. */
export function repeated(values: readonly number[]): Repeated {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** Runs `measure` `times` times, one after another; the median and range of what it answered. */
export async function measureRepeated(measure: () => Promise<number>, times = 3): Promise<Repeated> {
  const values: number[] = [];
  for (let i = 0; i < times; i++) values.push(await measure());
  return repeated(values);
}

/** The spread of a repeated figure: half its range, as a percentage of its median (`±4%`). */
export function spread(r: Repeated): string {
  if (!Number.isFinite(r.median) || r.median === 0) return '';
  return `±${((100 * (r.max - r.min)) / 2 / Math.abs(r.median)).toFixed(0)}%`;
}

/**
 * One row of the bench's table. `value` is a repeated measurement (median and spread) or a single one; `bound` is
 * what it is compared with (a throughput's one-thread bound, a raw rate, a cold load's floor), measured in the same
 * run; `goal` says which way and how far the ratio value/bound must go.
 */
export interface Row {
  readonly figure: string;
  readonly value: Repeated | number;
  readonly unit: string;
  readonly bound?: { readonly label: 'bound' | 'floor' | 'raw' | 'with none'; readonly value: Repeated | number };
  /** `{ ratio: ['>=', 0.85] }`: value/bound at least 85%; `{ value: ['<=', 150] }`: the value itself at most 150. */
  readonly goal?: { readonly ratio?: readonly ['>=' | '<=', number]; readonly value?: readonly ['>=' | '<=', number] };
  readonly note?: string;
}

const mid = (v: Repeated | number) => (typeof v === 'number' ? v : v.median);

/** The row's value over its bound (medians), or undefined. */
export function ratioOf(row: Row): number | undefined {
  return row.bound ? mid(row.value) / mid(row.bound.value) : undefined;
}

/** Whether the row meets its goals; undefined when it has none. */
export function metGoal(row: Row): boolean | undefined {
  if (!row.goal) return undefined;
  const check = ([op, limit]: readonly ['>=' | '<=', number], x: number | undefined) => x !== undefined && (op === '>=' ? x >= limit : x <= limit);
  return (!row.goal.ratio || check(row.goal.ratio, ratioOf(row))) && (!row.goal.value || check(row.goal.value, mid(row.value)));
}

function formatNumber(x: number): string {
  const abs = Math.abs(x);
  return abs >= 100 ? x.toFixed(0) : abs >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function formatValue(v: Repeated | number, unit: string): string {
  return typeof v === 'number' ? `${formatNumber(v)} ${unit}` : `${formatNumber(v.median)} ${unit} ${spread(v)}`.trimEnd();
}

function formatGoal(row: Row): string {
  const parts: string[] = [];
  if (row.goal?.ratio) parts.push(`ratio ${row.goal.ratio[0]} ${(row.goal.ratio[1] * 100).toFixed(0)}%`);
  if (row.goal?.value) parts.push(`${row.goal.value[0]} ${row.goal.value[1]} ${row.unit}`);
  return parts.join(', ');
}

/** The rows as a plain-text table (figure, value ±spread, bound or floor, ratio, goal, met?), then the notes. */
export function formatRows(rows: readonly Row[]): string {
  const heading = ['figure', 'value (median ±spread)', 'bound / floor', 'ratio', 'goal', 'met?'];
  const cells = rows.map((row) => {
    const ratio = ratioOf(row);
    const met = metGoal(row);
    return [
      row.figure + (row.note ? ` [${rows.filter((r) => r.note).indexOf(row) + 1}]` : ''),
      formatValue(row.value, row.unit),
      row.bound ? `${row.bound.label} ${formatValue(row.bound.value, row.unit)}` : '',
      ratio === undefined ? '' : `${(ratio * 100).toFixed(0)}%`,
      formatGoal(row),
      met === undefined ? '' : met ? 'yes' : 'NO',
    ];
  });
  const widths = heading.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    c
      .map((x, i) => x.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const notes = rows.filter((r) => r.note).map((r, i) => `[${i + 1}] ${r.note}`);
  return `${[line(heading), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')}\n${notes.length ? `\n${notes.join('\n')}\n` : ''}`;
}
