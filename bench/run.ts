/**
 * `npm run bench`: figures for this machine, printed, never asserted. Runs local mode in-process on a temp folder.
 *  - local mode start time;
 *  - local KMS Sign (DIGEST) through the SDK, next to raw ECDSA P-256 signing in the same run;
 *  - intake latency (p50/p99) and throughput at concurrency 16, for an allowed action and one that needs approval.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient, ListAliasesCommand, SignCommand } from '@aws-sdk/client-kms';
import { p256 } from '@noble/curves/nist.js';
import { parseConfig } from '../lambdas/core/config';
import { startLocalRuntime } from '../local/runtime';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = 16;

interface Figure {
  readonly what: string;
  readonly value: string;
}
const figures: Figure[] = [];
const record = (what: string, value: string) => {
  figures.push({ what, value });
  console.error(`  ${what}: ${value}`);
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Runs `op` from `concurrency` loops for `seconds`; returns each call's latency in ms and the errors. */
async function drive(op: () => Promise<void>, concurrency: number, seconds: number): Promise<{ latencies: number[]; errors: number; elapsed: number }> {
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
  return { latencies: latencies.sort((a, b) => a - b), errors, elapsed: (performance.now() - started) / 1000 };
}

function summary(run: { latencies: number[]; errors: number; elapsed: number }): string {
  const { latencies, errors, elapsed } = run;
  return `${(latencies.length / elapsed).toFixed(0)}/s, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ${errors} errors`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-'));
  const config = parseConfig(`
version: 1
groups: { owners: { members: [{ id: alice@example.com }, { id: bob@example.com }] } }
rules:
  - { name: reads, match: { action: "*.read" }, effect: allow }
default: { effect: require_approval, approvers: [owners], timeout: 1h }
channels: { email: { from: countersign@example.com } }
local: { apiKeys: { bench-agent-key: "arn:aws:iam::000000000000:role/bench", bench-alice-key: alice@example.com } }
`);
  console.error(`Countersign bench: ${SECONDS} s per figure, Node ${process.version}`);
  try {
    const t0 = performance.now();
    const runtime = await startLocalRuntime({ config, dataDir: join(dir, 'data'), port: 0 });
    record('local mode start (synth, dynalite, KMS, SFN, gateway)', `${((performance.now() - t0) / 1000).toFixed(2)} s`);

    const digest = createHash('sha256').update('bench').digest();
    const privateKey = p256.utils.randomSecretKey();
    const raw = await drive(async () => void p256.sign(digest, privateKey, { prehash: false, format: 'der' }), 1, SECONDS);
    record('raw ECDSA P-256 sign (@noble/curves, one core)', `${(raw.latencies.length / raw.elapsed).toFixed(0)}/s`);
    const kms = new KMSClient({ endpoint: runtime.endpoints.kms, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    const { Aliases = [] } = await kms.send(new ListAliasesCommand({}));
    const ledgerKey = Aliases.find((a) => a.AliasName?.includes('Ledger'))?.AliasName;
    if (!ledgerKey) throw new Error('local mode created no ledger key');
    const kmsRun = await drive(
      () => kms.send(new SignCommand({ KeyId: ledgerKey, Message: randomBytes(32), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' })).then(() => undefined),
      CONCURRENCY,
      SECONDS,
    );
    record(`local KMS Sign DIGEST via SDK, concurrency ${CONCURRENCY}`, summary(kmsRun));
    kms.destroy();

    const post = (action: string, expected: number) => async () => {
      const res = await fetch(`${runtime.url}/v1/actions`, {
        method: 'POST',
        headers: { authorization: 'Bearer bench-agent-key', 'content-type': 'application/json' },
        body: JSON.stringify({ action, resource: 'arn:aws:s3:::bench', parameters: { rows: 10 } }),
      });
      await res.arrayBuffer();
      if (res.status !== expected) throw new Error(`status ${res.status}`);
    };
    record(`intake, allowed at once, concurrency ${CONCURRENCY}`, summary(await drive(post('users.read', 200), CONCURRENCY, SECONDS)));
    record(`intake, require_approval (stores + starts workflow), concurrency ${CONCURRENCY}`, summary(await drive(post('data.export', 202), CONCURRENCY, SECONDS)));

    // The full loop with no human wait: request, the email reaches the inbox, approve, the agent's long-poll sees it.
    const headers = { 'content-type': 'application/json' };
    const loop = async () => {
      const created = (await (await fetch(`${runtime.url}/v1/actions`, { method: 'POST', headers: { ...headers, authorization: 'Bearer bench-agent-key' }, body: JSON.stringify({ action: 'data.export' }) })).json()) as { id: string };
      const answer = fetch(`${runtime.url}/v1/actions/${created.id}?wait=20`, { headers: { authorization: 'Bearer bench-agent-key' } }).then((r) => r.json() as Promise<{ status: string }>);
      for (let i = 0; i < 200; i++) {
        const inbox = (await (await fetch(`${runtime.url}/_local/inbox.json`)).json()) as Array<{ actionId: string }>;
        if (inbox.some((m) => m.actionId === created.id)) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      await (await fetch(`${runtime.url}/v1/actions/${created.id}/decision`, { method: 'POST', headers: { ...headers, authorization: 'Bearer bench-alice-key' }, body: JSON.stringify({ decision: 'approve' }) })).arrayBuffer();
      if ((await answer).status !== 'approved') throw new Error('not approved');
    };
    record('approval loop: request, email, approve, agent sees approved (one at a time)', summary(await drive(loop, 1, SECONDS * 2)));
    await runtime.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const width = Math.max(...figures.map((f) => f.what.length));
  console.log(`\n${'figure'.padEnd(width)}  value\n${'-'.repeat(width)}  -----`);
  for (const f of figures) console.log(`${f.what.padEnd(width)}  ${f.value}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
