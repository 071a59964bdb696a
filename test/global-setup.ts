/**
 * Starts one local mode with the default policy (countersign.config.yaml) for the whole run, as `npm start` runs it,
 * and provides its URLs to the test files that share it (`sharedCountersign()` in test/local/harness.ts). Files that
 * need their own policy, restarts, signals, faults or a known port start their own.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startCountersign } from './local/harness';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-shared-'));
  const running = await startCountersign({ dataDir: join(dir, 'data') });
  // Everything it prints, as it prints it, for the files that read it (SharedCountersign.output()).
  const log = join(dir, 'output.log');
  writeFileSync(log, running.output());
  const append = (d: Buffer) => appendFileSync(log, d);
  running.child.stdout!.on('data', append);
  running.child.stderr!.on('data', append);
  project.provide('countersign', { url: running.url, endpoints: running.endpoints, banner: running.output(), log });
  return async () => {
    // Its data goes with it, so there is nothing to flush: a long-poll still held open by a test that gave up waiting
    // (its Lambda invocation runs to its wait's end) need not be drained. Clean stops are tested in runtime.test.ts.
    const stopped = running.stop();
    const kill = setTimeout(() => running.child.kill('SIGKILL'), 2000);
    await stopped;
    clearTimeout(kill);
    rmSync(dir, { recursive: true, force: true });
  };
}
