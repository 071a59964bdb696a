/**
 * `npm run bench`: figures for this machine, printed, never asserted. Runs local mode in-process on a temp folder.
 *  - local mode start time;
 *  - local KMS Sign (DIGEST) through the SDK, next to raw ECDSA P-256 signing in the same run;
 *  - intake latency (p50/p99) and throughput at concurrency 16, for an allowed action and one that needs approval;
 *  - the approval loop;
 *  - ledger verification (records/s, everything `countersign audit verify` checks) on the ledger the runs above left,
 *    next to this machine's raw ECDSA P-256 verify rate (OpenSSL through node:crypto) in the same run.
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient, ListAliasesCommand, SignCommand } from '@aws-sdk/client-kms';
import { p256 } from '@noble/curves/nist.js';
import { exportLedger } from '../cli/audit-export';
import { resolveEndpoint } from '../client/transport';
import { type Leaf, planCheckpoint } from '../lambdas/core/checkpoint';
import { parseConfig } from '../lambdas/core/config';
import { addExportItem, EXPORT_FORMAT, sealDigest, sealMessage, startExport, unsignedSeal } from '../lambdas/core/export-seal';
import { type AuditRecord, canonicalSignedJson, nextUnsignedRecord } from '../lambdas/core/ledger-record';
import { verifyLedgerLines } from '../lambdas/core/ledger-verify';
import { startLocalRuntime } from '../local/runtime';
import { synthesizeForLocal } from '../local/synth';
import { bundleFigures } from './bundles';
import { costPerThousandApprovals } from './cost';
import { drive, type Figure, formatTable, summary } from './stats';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = 16;

const figures: Figure[] = [];
const record = (what: string, value: string) => {
  figures.push({ what, value });
  console.error(`  ${what}: ${value}`);
};

const SYNTHETIC_START = '2026-01-01T00:00:00.000Z';

/** An export of `records` records (four per request, a second apart) and one checkpoint over them all. */
function syntheticLedger(records: number, key: KeyObject): string[] {
  const signEntry = <T extends object>(unsigned: T) => {
    const canonical = canonicalSignedJson(unsigned);
    return {
      ...unsigned,
      hash: createHash('sha256').update(canonical).digest('hex'),
      signature: sign('sha256', Buffer.from(canonical), key).toString('base64'),
    };
  };
  const out: object[] = [];
  const leaves: Leaf[] = [];
  const types = ['requested', 'policy_decided', 'voted', 'approved'] as const;
  for (let r = 0; out.length < records; r++) {
    const chain: AuditRecord[] = [];
    for (const type of types) {
      const at = new Date(Date.parse(SYNTHETIC_START) + out.length * 100);
      const record = signEntry(nextUnsignedRecord(chain, `act_bench${r}`, { type, actor: 'bench', data: { note: 'x'.repeat(200) } }, at, 'bench-key'));
      chain.push(record);
      out.push(record);
      leaves.push([record.requestId, record.seq, record.hash]);
    }
  }
  const until = new Date(Date.parse(SYNTHETIC_START) + out.length * 100).toISOString();
  const plan = planCheckpoint({ previous: undefined, leaves, until, at: new Date(until), keyId: 'bench-key', pagesId: 'benchpages' });
  const checkpoint = signEntry(plan.unsigned);
  const items = [...out, checkpoint, ...plan.pages];
  // Sealed as the API seals an export: the ledger key's signature over the seal's domain-separated digest.
  const head = { checkpoint: checkpoint.seq, hash: checkpoint.hash, from: checkpoint.from, until: checkpoint.until, total: checkpoint.total };
  let progress = startExport({ exportedAt: until, head });
  for (const item of items) progress = addExportItem(progress, item);
  const unsigned = unsignedSeal(progress, 'bench-key');
  const seal = {
    ...unsigned,
    hash: sealDigest(unsigned).toString('hex'),
    signature: sign('sha256', Buffer.from(sealMessage(unsigned)), key).toString('base64'),
  };
  return [{ type: 'export', format: EXPORT_FORMAT, exportedAt: until }, ...items, seal].map((v) => JSON.stringify(v));
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
auditors: [auditor@example.com]
local: { apiKeys: { bench-agent-key: "arn:aws:iam::000000000000:role/bench", bench-alice-key: alice@example.com, bench-audit-key: auditor@example.com } }
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
      () =>
        kms
          .send(new SignCommand({ KeyId: ledgerKey, Message: randomBytes(32), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }))
          .then(() => undefined),
      CONCURRENCY,
      SECONDS,
    );
    record(`local KMS Sign DIGEST via SDK, concurrency ${CONCURRENCY}`, summary(kmsRun));
    kms.destroy();

    const pendingIds: string[] = [];
    const post = (action: string, expected: number) => async () => {
      const res = await fetch(`${runtime.url}/v1/actions`, {
        method: 'POST',
        headers: { authorization: 'Bearer bench-agent-key', 'content-type': 'application/json' },
        body: JSON.stringify({ action, resource: 'arn:aws:s3:::bench', parameters: { rows: 10 } }),
      });
      const body = (await res.json()) as { id: string };
      if (res.status !== expected) throw new Error(`status ${res.status}`);
      if (expected === 202) pendingIds.push(body.id);
    };
    record(`intake, allowed at once, concurrency ${CONCURRENCY}`, summary(await drive(post('users.read', 200), CONCURRENCY, SECONDS)));
    record(
      `intake, require_approval (stores + starts workflow), concurrency ${CONCURRENCY}`,
      summary(await drive(post('data.export', 202), CONCURRENCY, SECONDS)),
    );

    // Decisions on the requests just created: each vote settles one (records, receipt, the workflow told).
    const ids = [...pendingIds];
    const vote = async () => {
      const id = ids.pop();
      if (!id) return new Promise<void>((r) => setTimeout(r, 5));
      const res = await fetch(`${runtime.url}/v1/actions/${id}/decision`, {
        method: 'POST',
        headers: { authorization: 'Bearer bench-alice-key', 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'approve' }),
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
    };
    const voted = pendingIds.length;
    const decisions = await drive(vote, CONCURRENCY, SECONDS);
    decisions.latencies.splice(0, decisions.latencies.length, ...decisions.latencies.filter((ms) => ms > 6));
    record(`decision API, approve settling a request, concurrency ${CONCURRENCY}`, `${summary(decisions)} (${voted - ids.length} of ${voted} votes)`);

    // The full loop with no human wait: request, the email reaches the inbox, approve, the agent's long-poll sees it.
    const headers = { 'content-type': 'application/json' };
    const loop = async () => {
      const created = (await (
        await fetch(`${runtime.url}/v1/actions`, {
          method: 'POST',
          headers: { ...headers, authorization: 'Bearer bench-agent-key' },
          body: JSON.stringify({ action: 'data.export' }),
        })
      ).json()) as { id: string };
      const answer = fetch(`${runtime.url}/v1/actions/${created.id}?wait=20`, { headers: { authorization: 'Bearer bench-agent-key' } }).then(
        (r) => r.json() as Promise<{ status: string }>,
      );
      for (let i = 0; i < 200; i++) {
        const inbox = (await (await fetch(`${runtime.url}/_local/inbox.json`)).json()) as Array<{ actionId: string }>;
        if (inbox.some((m) => m.actionId === created.id)) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      await (
        await fetch(`${runtime.url}/v1/actions/${created.id}/decision`, {
          method: 'POST',
          headers: { ...headers, authorization: 'Bearer bench-alice-key' },
          body: JSON.stringify({ decision: 'approve' }),
        })
      ).arrayBuffer();
      if ((await answer).status !== 'approved') throw new Error('not approved');
    };
    record('approval loop: request, email, approve, agent sees approved (one at a time)', summary(await drive(loop, 1, SECONDS * 2)));

    // Verification of the ledger the runs above wrote, sealed by a checkpoint (local mode settles 4 s behind).
    await new Promise((r) => setTimeout(r, 4500));
    await (await fetch(`${runtime.url}/_local/schedules/run`, { method: 'POST', headers: { 'content-type': 'application/json' } })).arrayBuffer();
    const lines: string[] = [];
    const endpoint = resolveEndpoint({ url: runtime.url, apiKey: 'bench-audit-key' });
    const exportStart = performance.now();
    await exportLedger(endpoint, {}, (line) => lines.push(line));
    const exportSeconds = (performance.now() - exportStart) / 1000;
    const pem = await (await fetch(`${runtime.url}/v1/audit/public-key`, { headers: { authorization: 'Bearer bench-audit-key' } })).text();
    const report = verifyLedgerLines(lines, createPublicKey(pem));
    if (!report.ok || report.covered !== report.records) throw new Error(`the bench ledger does not verify: ${JSON.stringify(report.findings.slice(0, 3))}`);
    record(
      'ledger export through GET /v1/audit/export',
      `${lines.length - 1} items in ${exportSeconds.toFixed(2)} s (${((lines.length - 1) / exportSeconds).toFixed(0)}/s)`,
    );

    // The verify rate on a ledger large enough to time: 20,000 records signed as KMS signs them (ECDSA_SHA_256
    // over the canonical JSON, which is what a DIGEST signature over its SHA-256 is), sealed by one checkpoint.
    const { privateKey: ecKey, publicKey: ecPublic } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const synthetic = syntheticLedger(20_000, ecKey);
    const verifyStart = performance.now();
    const big = verifyLedgerLines(synthetic, ecPublic);
    const verifySeconds = (performance.now() - verifyStart) / 1000;
    if (!big.ok) throw new Error(`the synthetic ledger does not verify: ${JSON.stringify(big.findings.slice(0, 3))}`);
    record(
      'ledger verify (hashes, signatures, links, checkpoint coverage), one core',
      `${((big.records + big.checkpoints) / verifySeconds).toFixed(0)} records/s (${big.records} records in ${big.requests} requests)`,
    );
    const message = Buffer.from(lines[1] ?? 'bench');
    const signature = sign('sha256', message, ecKey);
    let verified = 0;
    const rawStart = performance.now();
    while (performance.now() - rawStart < SECONDS * 1000) if (verify('sha256', message, ecPublic, signature)) verified++;
    record('raw ECDSA P-256 verify (OpenSSL via node:crypto, one core)', `${(verified / ((performance.now() - rawStart) / 1000)).toFixed(0)}/s`);
    await runtime.close();

    // Per function: bundle size and cold module load, next to an empty function built and loaded the same way.
    for (const figure of await bundleFigures(join(dir, 'bundles'))) {
      record(
        `bundle ${figure.name}: size (gzip) · cold module load`,
        `${(figure.bytes / 1024).toFixed(1)} KiB (${(figure.gzipBytes / 1024).toFixed(1)} KiB) · ${figure.loadMs.toFixed(0)} ms`,
      );
    }

    // Cost per 1,000 approvals on AWS, from the synthesized template (prices and scenario in bench/cost.ts).
    const cost = costPerThousandApprovals(synthesizeForLocal(config).template);
    for (const line of cost.lines) record(`cost per 1,000 approvals: ${line.what}`, `$${(line.perApproval * 1000).toFixed(3)}`);
    record('cost per 1,000 approvals on AWS (us-east-1 list prices)', `$${cost.total.toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`\n${formatTable(figures)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
