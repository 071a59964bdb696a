/**
 * The one way Countersign shows a moment to a person, on the review page and in emails: "29 Nov 2026, 21:43 UTC",
 * and how far away it is ("in 58 minutes", "3 hours ago", "58 minutes left"). Built by hand rather than through
 * Intl.DateTimeFormat: the same text on every runtime, and nothing to build on a function's cold start.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "29 Nov 2026, 21:43 UTC", or undefined for a value that is not a date. */
export function formatUtc(value: string | Date): string | undefined {
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) return undefined;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${two(date.getUTCHours())}:${two(date.getUTCMinutes())} UTC`;
}

/** "58 minutes", "3 hours", "2 days", "less than a minute": the length of a span, in words. */
export function spanWords(ms: number): string {
  const abs = Math.abs(ms);
  const minutes = Math.round(abs / 60_000);
  if (abs < 60_000) return 'less than a minute';
  if (minutes < 90) return plural(minutes, 'minute');
  if (minutes < 48 * 60) return plural(Math.round(minutes / 60), 'hour');
  return plural(Math.round(minutes / (24 * 60)), 'day');
}

/** "in 58 minutes" or "3 hours ago". */
export function relativeWords(deltaMs: number): string {
  return deltaMs >= 0 ? `in ${spanWords(deltaMs)}` : `${spanWords(deltaMs)} ago`;
}

/** "58 minutes left", or "expired" once the moment has passed. */
export function timeLeftWords(deltaMs: number): string {
  return deltaMs > 0 ? `${spanWords(deltaMs)} left` : 'expired';
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** An ISO 8601 time with its zone, each field in its range (the day is checked by `dayStart`). */
const ISO_TIME = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** The start (UTC, ms) of the day `YYYY-MM-DD`, or undefined for anything else, a day no calendar has included. */
export function dayStart(value: string): number | undefined {
  if (!DAY.test(value)) return undefined;
  const ms = Date.parse(`${value}T00:00:00.000Z`);
  return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value ? undefined : ms;
}

/**
 * The moment an ISO 8601 time with its zone names, or undefined: `Date.parse` alone would roll 2026-02-30 over to
 * March and 24:00 to the next day, and read a time with no zone in the reader's own. One reading for the console's
 * windows and the CLI's `--since` and `--until`.
 */
export function isoTimeMs(value: string): number | undefined {
  const fields = ISO_TIME.exec(value);
  if (fields?.[1] === undefined || dayStart(fields[1]) === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
