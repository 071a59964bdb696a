/**
 * The spinner the CLI shows on stderr while it waits for an approval:
 *
 *   ⠋ waiting for approval of infra.apply (act_…): 14:32 left · 1 more from security
 *
 * Only on a terminal and never with --json, so scripts and agents see nothing of it. It is redrawn every 100 ms
 * (the time left counts down) and after each long-poll answer (what is still missing), and cleared at the end.
 */
import type { ActionView } from '../lambdas/core/request';
import { neutralize } from './connection';

export const SPINNER_FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] as const;
export const SPINNER_INTERVAL_MS = 100;

/** What the spinner writes to: process.stderr, or a fake in tests. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): boolean;
}

/** `m:ss`, or `h:mm:ss` from an hour up; never negative. */
export function formatLeft(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** One line of progress; everything from the API neutralized. */
export function progressLine(frame: string, view: Pick<ActionView, 'id' | 'action' | 'missing'>, leftMs: number): string {
  const missing = view.missing?.length ? ` · ${neutralize(view.missing.join(', '))}` : '';
  return `${frame} waiting for approval of ${neutralize(view.action)} (${neutralize(view.id)}): ${formatLeft(leftMs)} left${missing}`;
}

/** Cuts a line to the terminal's width, so it never wraps (a wrapped line cannot be redrawn in place). */
function fit(line: string, columns: number | undefined): string {
  const chars = [...line];
  if (!columns || columns < 2 || chars.length < columns) return line;
  return `${chars.slice(0, columns - 2).join('')}…`;
}

const CLEAR_LINE = '\r\x1b[2K';

export class Spinner {
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  private view: Pick<ActionView, 'id' | 'action' | 'missing'> | undefined;
  private until = 0;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    readonly enabled: boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** The spinner for a command: on stderr, shown only when stderr is a terminal and the output is not JSON. */
  static forCommand(json: boolean, stream: ProgressStream = process.stderr): Spinner {
    return new Spinner(stream, !json && stream.isTTY === true);
  }

  /** The request as last answered, and when waiting ends at the latest (epoch ms); redraws at once. */
  update(view: Pick<ActionView, 'id' | 'action' | 'missing'>, until: number): void {
    if (!this.enabled) return;
    this.view = view;
    this.until = until;
    if (!this.timer) {
      this.timer = setInterval(() => this.render(), SPINNER_INTERVAL_MS);
      this.timer.unref();
    }
    this.render();
  }

  /** Stops and clears the line; safe to call more than once. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) this.stream.write(CLEAR_LINE);
    this.drawn = false;
  }

  private render(): void {
    if (!this.view) return;
    const frame = SPINNER_FRAMES[this.frame++ % SPINNER_FRAMES.length]!;
    // biome-ignore lint/suspicious/noFocusedTests: fit() is this module's line fitter, not a focused test
    this.stream.write(`${CLEAR_LINE}${fit(progressLine(frame, this.view, this.until - this.now()), this.stream.columns)}`);
    this.drawn = true;
  }
}
