/**
 * Local mode's CloudWatch metrics: the functions print their metrics as embedded metric format (EMF) lines on stdout,
 * as on AWS (lambdas/adapters/metrics.ts); local mode reads every line its function environments print (./lambda.ts),
 * extracts the metrics of the EMF ones as CloudWatch Logs does (one series per metric and dimension set, so a metric
 * published under `[Channel]` and `[]` is two series, the second the total), and keeps, per series, the count of
 * values, their sum, min, max and last, and the newest timestamp. Served as `GET /_local/metrics` (JSON) and
 * `GET /_local/metrics.html`: what a developer sees here is what CloudWatch would get.
 */
import { escapeHtml } from './html';

/** One metric of one dimension set, as an EMF document publishes it. */
export interface EmfDataPoint {
  readonly namespace: string;
  readonly name: string;
  readonly unit: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly values: readonly number[];
  /** Epoch ms, the document's `_aws.Timestamp`. */
  readonly timestamp: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The data points of one log line, as CloudWatch extracts them: none when the line is not an EMF document (any other
 * log line), or for a directive it would reject (a dimension without a string value, a metric without numbers).
 */
export function parseEmfLine(line: string): EmfDataPoint[] {
  if (!line.startsWith('{') || !line.includes('"_aws"')) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return [];
  }
  if (!isRecord(doc) || !isRecord(doc._aws)) return [];
  const { Timestamp, CloudWatchMetrics } = doc._aws;
  // A whole number of ms a Date can hold (8.64e15 either side of 1970): any other is no time, and is not read.
  if (typeof Timestamp !== 'number' || !Number.isInteger(Timestamp) || Math.abs(Timestamp) > 8.64e15) return [];
  if (!Array.isArray(CloudWatchMetrics)) return [];
  const points: EmfDataPoint[] = [];
  for (const directive of CloudWatchMetrics) {
    if (!isRecord(directive) || typeof directive.Namespace !== 'string' || !Array.isArray(directive.Dimensions) || !Array.isArray(directive.Metrics)) continue;
    const sets: Array<Record<string, string>> = [];
    for (const set of directive.Dimensions) {
      if (!Array.isArray(set)) continue;
      // CloudWatch rejects a set naming a member that is not a string.
      if (set.every((name) => typeof name === 'string' && typeof doc[name] === 'string')) {
        sets.push(Object.fromEntries(set.map((name: string) => [name, doc[name] as string])));
      }
    }
    for (const metric of directive.Metrics) {
      if (!isRecord(metric) || typeof metric.Name !== 'string') continue;
      const raw = doc[metric.Name];
      const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      if (values.length === 0) continue;
      const unit = typeof metric.Unit === 'string' ? metric.Unit : 'None';
      for (const dimensions of sets) points.push({ namespace: directive.Namespace, name: metric.Name, unit, dimensions, values, timestamp: Timestamp });
    }
  }
  return points;
}

/** One series: a metric under one set of dimension values, and what its values add up to. */
export interface MetricSeries {
  readonly namespace: string;
  readonly name: string;
  readonly unit: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /** How many values (CloudWatch's SampleCount). */
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  /** The newest value's timestamp (ISO). */
  timestamp: string;
}

/** How many EMF lines are kept as printed (the newest), for tests and for the page. */
const KEPT_LINES = 1000;

export class LocalMetrics {
  private readonly series = new Map<string, MetricSeries>();
  /** The newest EMF lines the functions printed, as printed, oldest first, with the function that printed each. */
  readonly lines: Array<{ readonly functionName: string; readonly line: string }> = [];

  /** Reads one line a function printed: an EMF document's metrics are added up; any other line is ignored. */
  observe(functionName: string, line: string): boolean {
    const points = parseEmfLine(line);
    if (points.length === 0) return false;
    this.lines.push({ functionName, line });
    if (this.lines.length > KEPT_LINES) this.lines.splice(0, this.lines.length - KEPT_LINES);
    for (const point of points) {
      const dims = Object.entries(point.dimensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const key = JSON.stringify([point.namespace, point.name, dims]);
      const at = new Date(point.timestamp).toISOString();
      let series = this.series.get(key);
      if (!series) {
        series = {
          namespace: point.namespace,
          name: point.name,
          unit: point.unit,
          dimensions: Object.fromEntries(dims),
          count: 0,
          sum: 0,
          min: Infinity,
          max: -Infinity,
          last: 0,
          timestamp: at,
        };
        this.series.set(key, series);
      }
      for (const value of point.values) {
        series.count += 1;
        series.sum += value;
        series.min = Math.min(series.min, value);
        series.max = Math.max(series.max, value);
      }
      if (at >= series.timestamp) {
        series.last = point.values.at(-1)!;
        series.timestamp = at;
      }
    }
    return true;
  }

  /** Every series, by namespace, metric name, then dimensions (the total, with none, first). */
  list(): MetricSeries[] {
    const order = (s: MetricSeries) => JSON.stringify([s.namespace, s.name, Object.keys(s.dimensions).length, Object.entries(s.dimensions)]);
    return [...this.series.values()].map((s) => ({ ...s })).sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  }

  /** The series of metric `name` whose dimensions are exactly `dimensions` (`{}`: the total). */
  get(name: string, dimensions: Readonly<Record<string, string>> = {}): MetricSeries | undefined {
    const want = Object.entries(dimensions).sort().join();
    return this.list().find((s) => s.name === name && Object.entries(s.dimensions).sort().join() === want);
  }

  clear(): void {
    this.series.clear();
    this.lines.length = 0;
  }

  /** `GET /_local/metrics.html`: one table, a row per series. */
  renderHtml(): string {
    const number = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
    const rows = this.list()
      .map((s) => {
        const dims = Object.entries(s.dimensions);
        const label = dims.length === 0 ? '<i>total</i>' : dims.map(([d, v]) => `${escapeHtml(d)}=<b>${escapeHtml(v)}</b>`).join(' ');
        return `<tr><th scope="row">${escapeHtml(s.name)}</th><td>${label}</td><td>${escapeHtml(s.unit)}</td><td>${s.count}</td><td>${number(s.sum)}</td><td>${number(s.min)}</td><td>${number(s.max)}</td><td>${number(s.last)}</td><td><time datetime="${escapeHtml(s.timestamp)}">${escapeHtml(s.timestamp)}</time></td></tr>`;
      })
      .join('\n');
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Countersign local metrics</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
h1{font-size:1.4rem} table{border-collapse:collapse;width:100%} caption{text-align:left;color:#3a4150;padding:.4rem 0}
th,td{border-bottom:1px solid #d5d9e0;padding:.35rem .5rem;text-align:left;vertical-align:top} td:nth-child(n+4){text-align:right;font-variant-numeric:tabular-nums}
thead th{background:#f5f6f8}
</style></head>
<body><h1>Local metrics</h1>
<p>What the functions published in the <code>Countersign</code> namespace since local mode started, read from the
embedded metric format lines they print: the figures CloudWatch would get. Each metric appears with its dimensions and
as a total. <a href="/_local/metrics">JSON</a> · <a href="/_local">Local mode</a></p>
${
  rows
    ? `<table data-testid="metrics"><caption>Series, by metric and dimensions</caption>
<thead><tr><th scope="col">Metric</th><th scope="col">Dimensions</th><th scope="col">Unit</th><th scope="col">Count</th><th scope="col">Sum</th><th scope="col">Min</th><th scope="col">Max</th><th scope="col">Last</th><th scope="col">Latest</th></tr></thead>
<tbody>
${rows}
</tbody></table>`
    : '<p>No metrics yet: ask for an action and they appear here.</p>'
}
</body></html>`;
  }
}
