/** `npm run load` (bench/load.ts), briefly and small: it drives local mode, then the ledger verifies and every request is accounted for. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from './harness';

describe('load script', () => {
  it('runs agents and approvers for 4 s, reports throughput, and the ledger and the accounting hold', async () => {
    const args = ['--seconds', '4', '--agents', '4', '--approvers', '2', '--mix', 'allow:0.3,deny:0.1,approve:0.3,deny-by-approver:0.1,cancel:0.1,expire:0.1'];
    const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/load.ts', ...args], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const throughput = /^throughput\s+([\d.]+) requests\/s, ([\d.]+) settled\/s/m.exec(run.stdout);
    expect(throughput, run.stdout).not.toBeNull();
    expect(Number(throughput![1])).toBeGreaterThan(0);
    expect(Number(throughput![2])).toBeGreaterThan(0);
    expect(run.stdout).toMatch(/^intake latency \(POST \/v1\/actions\)\s+p50 [\d.]+ ms, p99 [\d.]+ ms/m);
    expect(run.stdout).toMatch(/^ledger verify\s+OK: \d+ records in \d+ requests, [1-9]\d* checkpoints/m);
    expect(run.stdout).toMatch(/^accounting\s+[1-9]\d* requests checked, 0 mismatches$/m);
    expect(run.stdout).not.toMatch(/^(ERROR|FINDING|MISMATCH) /m);
    expect(run.stdout).toMatch(/^load: OK$/m);
  }, 90_000);
});
