/** Durations in the config (`30s`, `15m`, `1h`, `7d`), kept as whole seconds. */
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
export const DURATION_PATTERN = /^([1-9][0-9]{0,6})(s|m|h|d)$/;
/** Step Functions lets a task wait at most a year; a longer approval timeout could never fire. */
export const MAX_DURATION_SECONDS = 365 * 86_400;

/**
 * The longest `redeemWithin`: a receipt lives until its approval lapses, and a week is already far longer than an
 * executor should hold an approval before acting on it.
 */
export const MAX_REDEEM_WITHIN_SECONDS = 7 * 86_400;

/** Seconds in `text`, or undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
}
