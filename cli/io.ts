/**
 * The CLI's one IO context: what a command reads and writes. Kept free of other imports, so `countersign --help`
 * loads nothing more.
 */
import { readFileSync } from 'node:fs';

/** stdout or stderr: a stream, and whether it is a terminal (for the spinner and the progress bar). */
export type CliOutput = NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };

/** Standard input: read whole (`-` as a file, `@-`), or as a stream (`mcp`). */
export interface CliInput {
  /** All of it, synchronously; throws as reading a file does (the errno code says why). */
  readAll(): string;
  /** The same stream on every call. */
  stream(): NodeJS.ReadableStream;
}

/**
 * What a command reads and writes: its streams and its environment (COUNTERSIGN_URL, COUNTERSIGN_API_KEY,
 * COUNTERSIGN_CONFIG, AWS_REGION, AWS_PROFILE…). The installed command passes the process's own (processIo); a
 * test may pass its own and run the CLI in its process.
 */
export interface CliIo {
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  readonly stdin: CliInput;
  readonly env: NodeJS.ProcessEnv;
  /**
   * These are the process's own stdin, stdout and stderr: `run`'s command inherits them (otherwise its output is
   * copied to stdout and stderr), and `mcp` may end the process once its client went away.
   */
  readonly ownsProcess: boolean;
}

/** The process's stdin (file descriptor 0), opened only when read. */
export const processStdin: CliInput = { readAll: () => readFileSync(0, 'utf8'), stream: () => process.stdin };

/** The process's streams and environment, as the installed command runs. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: processStdin,
    env: process.env,
    ownsProcess: true,
  };
}

/** A line on stdout. */
export const out = (io: CliIo, text: string) => io.stdout.write(`${text}\n`);
/** A line on stderr. */
export const err = (io: CliIo, text: string) => io.stderr.write(`${text}\n`);
