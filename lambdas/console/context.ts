/** What every console route works with. */
import type { HttpEvent, HttpResult } from '../adapters/http';
import type { LedgerExportSource } from '../core/ports';
import type { ConsolePorts, Viewer } from './viewer';

export interface ConsoleContext {
  readonly ports: ConsolePorts;
  /** The ledger table as auditors export it (search, charts, verify and export read it). */
  readonly exportSource: () => LedgerExportSource;
  readonly viewer: Viewer;
}

export type ConsoleRoute = (event: HttpEvent, context: ConsoleContext) => Promise<HttpResult>;

/**
 * The longest a console page reads the ledger (search, charts, verify, export download) before it answers with what
 * it has and says so: inside the console function's timeout, and API Gateway's 29 s.
 */
export const CONSOLE_WORK_MS = 18_000;
