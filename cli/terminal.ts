/**
 * Untrusted text for a terminal (kept free of heavy imports, so the command line's own errors can use it without
 * loading the API client).
 */
import { formatUtc } from '../lambdas/core/dates';
import { markHidden } from '../lambdas/core/text';

const ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text from the ledger (an agent's justification, an approver's reason) as printable text, for one line of a
 * terminal: newline, carriage return and tab become `\n`, `\r` and `\t`, the other C0 and C1 controls `\xNN`
 * (ESC, so no ANSI sequence), and every other hidden character of core/text.ts (bidi controls, zero-width and tag
 * characters, line separators) `[U+XXXX]`, as on every other surface. Nothing can move the cursor, clear the screen,
 * fake a line of output, or reorder or hide what is shown.
 */
export function neutralize(text: string): string {
  return markHidden(
    text.replace(/[\t\n]/g, (c) => ESCAPES[c]!),
    (name) => {
      const code = Number.parseInt(name.slice(2), 16);
      if (code === 0x0d) return ESCAPES['\r']!;
      return code < 0xa0 ? `\\x${code.toString(16).padStart(2, '0')}` : `[${name}]`;
    },
  );
}

/**
 * A moment from the API or the ledger as every surface shows it: "29 Nov 2026, 21:43 UTC" (core/dates.ts); text that
 * is no date is shown neutralized, as it is. `--json` keeps the exact ISO time.
 */
export function shownTime(iso: string): string {
  return formatUtc(iso) ?? neutralize(iso);
}
