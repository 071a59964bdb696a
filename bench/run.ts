/**
 * `npm run bench`: figures for this machine, printed, never asserted. Runs local mode in-process on a temp folder,
 * its scheduled jobs (checkpoints, repair) off their timers so they never run inside a measuring window: the bench
 * runs them itself, between windows. Every throughput is warmed up first (each function's environments started), then
 * measured three times; the table prints the median and the spread (half the range, as ± % of the median), and each
 * figure beside what bounds it, measured in the same run:
 *  - a path's one-thread bound: 1 / the sum of the per-call time of the calls the path makes, each call timed alone
 *    (one at a time: every server is local, so a call's time alone is the CPU it takes, client and server);
 *  - a function's cold module load beside its floor, a bundle that only constructs the same SDK clients;
 *  - ledger verify beside raw OpenSSL ECDSA P-256 verify.
 *
 * Sections run in order; each answers rows for the table. A bench module plugs in with one entry in SECTIONS: a
 * function of the run's context (or of nothing) answering its rows.
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient, ListAliasesCommand, SignCommand } from '@aws-sdk/client-kms';
import { exportLedger } from '../cli/audit-export';
import { pollGaps } from '../client/index';
import { resolveEndpoint } from '../client/transport';
import { type Leaf, planCheckpoint } from '../lambdas/core/checkpoint';
import type { Config } from '../lambdas/core/config';
import { parseConfig } from '../lambdas/core/config-yaml';
import { addExportItem, EXPORT_FORMAT, sealDigest, sealMessage, startExport, unsignedSeal } from '../lambdas/core/export-seal';
import { type AuditRecord, canonicalSignedJson, nextUnsignedRecord } from '../lambdas/core/ledger-record';
import { verifyLedgerLines } from '../lambdas/core/ledger-verify';
import { type LocalRuntime, startLocalRuntime } from '../local/runtime';
import { synthesizeForLocal } from '../local/synth';
import { bundleFigures } from './bundles';
import { type CallCosts, type CallCounts, countPathCalls, measureCallCosts, oneThreadBound, PATHS, type PathName } from './calls';
import { costPerThousandApprovals } from './cost';
import { cpuPerCall, treeCpu } from './cpu';
import { pendingFigures } from './pending';
import { formatRoundTrips, measureRoundTrips } from './roundtrips';
import { localKmsSigns, signingCeiling, signingFigures } from './signing';
import { drive, formatRows, formatTable, measureRepeated, percentile, type Repeated, type Row, repeated } from './stats';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CONCURRENCY = 16;
/** Agents long-polling their pending requests during the "with waiting agents" figure. */
const WAITERS = Number(process.env.BENCH_WAITERS ?? 128);

/** What a section gets: the running local mode and what earlier sections measured. */
export interface BenchContext {
  readonly runtime: LocalRuntime;
  readonly config: Config;
  /** A scratch folder, removed at the end. */
  readonly dir: string;
  /** Seconds per measuring window. */
  readonly seconds: number;
  /** Per-call time of each call alone (ms), set by the `calls` section. */
  costs: CallCosts;
  /** The calls each path makes (per request), set by the `calls` section. */
  counts: Record<PathName, CallCounts>;
  /** Named figures earlier sections measured, for later ones to compare with. */
  readonly measured: Map<string, Repeated>;
  /** Requests left pending by the intake figures, for the decision figure to settle. */
  readonly pendingIds: string[];
}

export type Section = (ctx: BenchContext) => Promise<readonly Row[]> | readonly Row[];

/**
 * The bench, in order. A module plugs in with one line here (and its import), e.g. `signingFigures,` from
 * ./signing, `roundTripFigures,` from ./roundtrips, `pendingFigures,` from ./pending.
 */
const SECTIONS: readonly Section[] = [
  callsSection,
  kmsSection,
  intakeSection,
  decisionSection,
  loopSection,
  // Before the waiting agents, whose many intake environments would each certify a key (once an hour) when next used.
  signingSection,
  waitingSection,
  roundTripSection,
  pendingSection,
  ledgerSection,
  bundleSection,
  costSection,
];

/**
 * The sections named on the command line (`npm run bench -- intake decision`: a section's function name without
 * `Section`), with the calls section first whenever one of them prints a bound; all of them when none is named.
 */
function selectedSections(names: readonly string[]): readonly Section[] {
  if (names.length === 0) return SECTIONS;
  const nameOf = (section: Section) => section.name.replace(/Section$/, '');
  const unknown = names.filter((name) => !SECTIONS.some((section) => nameOf(section) === name));
  if (unknown.length > 0) throw new Error(`no bench section ${unknown.join(', ')}; there are ${SECTIONS.map(nameOf).join(', ')}`);
  const wanted = new Set(names);
  if (['kms', 'intake', 'decision', 'waiting'].some((name) => wanted.has(name))) wanted.add('calls');
  if (wanted.has('waiting')) wanted.add('intake');
  return SECTIONS.filter((section) => wanted.has(nameOf(section)));
}

const BENCH_CONFIG = `
version: 1
groups: { owners: { members: [{ id: alice@example.com }, { id: bob@example.com }] } }
rules:
  - { name: reads, match: { action: "*.read" }, effect: allow }
default: { effect: require_approval, approvers: [owners], timeout: 1h }
channels: { email: { from: countersign@example.com } }
auditors: [auditor@example.com]
local: { apiKeys: { bench-agent-key: "arn:aws:iam::000000000000:role/bench", bench-alice-key: alice@example.com, bench-audit-key: auditor@example.com } }
`;

const agent = { authorization: 'Bearer bench-agent-key', 'content-type': 'application/json' };
const alice = { authorization: 'Bearer bench-alice-key', 'content-type': 'application/json' };

/** Asks for an action; answers its id. */
export async function ask(url: string, action: string, expected: number): Promise<string> {
  const res = await fetch(`${url}/v1/actions`, {
    method: 'POST',
    headers: agent,
    body: JSON.stringify({ action, resource: 'arn:aws:s3:::bench', parameters: { rows: 10 } }),
  });
  const body = (await res.json()) as { id: string };
  if (res.status !== expected) throw new Error(`status ${res.status}`);
  return body.id;
}

/** Approves a pending request. */
export async function approve(url: string, id: string): Promise<void> {
  const res = await fetch(`${url}/v1/actions/${id}/decision`, { method: 'POST', headers: alice, body: JSON.stringify({ decision: 'approve' }) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
}

/** Runs the scheduled jobs once (checkpoints, repair): only between measuring windows. */
async function runSchedules(url: string): Promise<void> {
  await (await fetch(`${url}/_local/schedules/run`, { method: 'POST', headers: { 'content-type': 'application/json' } })).arrayBuffer();
}

/** CPU per call during a throughput's windows (bench/cpu.ts), and how many of the machine's cores were busy. */
interface WindowCpu {
  readonly perCall: ReturnType<typeof cpuPerCall>;
  readonly cores: number;
}

/** Throughput (calls/s) of `op` from CONCURRENCY loops: a warm-up window, then three; the latencies of the three. */
async function throughput(
  op: () => Promise<void>,
  seconds: number,
  concurrency = CONCURRENCY,
): Promise<{ rate: Repeated; latencies: number[]; cpu?: WindowCpu }> {
  await drive(op, concurrency, Math.min(1, seconds));
  const rates: number[] = [];
  const latencies: number[] = [];
  let elapsed = 0;
  const before = treeCpu();
  for (let i = 0; i < 3; i++) {
    const run = await drive(op, concurrency, seconds);
    if (run.errors > 0) throw new Error(`${run.errors} calls failed`);
    rates.push(run.latencies.length / run.elapsed);
    latencies.push(...run.latencies);
    elapsed += run.elapsed;
  }
  const after = treeCpu();
  const perCall = before && after ? cpuPerCall(before, after, latencies.length) : undefined;
  return {
    rate: repeated(rates),
    latencies: latencies.sort((a, b) => a - b),
    ...(perCall ? { cpu: { perCall, cores: (perCall.total * latencies.length) / 1000 / elapsed } } : {}),
  };
}

/** The row that sets a path's CPU per request under load beside the calls its bound counts, alone. */
function cpuRow(ctx: BenchContext, path: PathName, cpu: WindowCpu | undefined): Row[] {
  if (!cpu) return [];
  const { main, environments, total } = cpu.perCall;
  const cores = availableParallelism();
  return [
    {
      figure: `${path}: CPU per request under load, every local-mode process`,
      value: total,
      unit: 'ms',
      note:
        `${path}: ${main.toFixed(1)} ms in the main process (gateway, dynalite, local KMS and Step Functions), ` +
        `${environments.toFixed(1)} ms in the function environments; the bound counts ${boundRow(ctx, path).ms.toFixed(1)} ms of calls alone; ` +
        `${cpu.cores.toFixed(2)} of ${cores} cores busy; at this CPU per request the ${cores} cores allow ${((1000 * cores) / total).toFixed(0)}/s, ` +
        `of which the run reached ${((100 * cpu.cores) / cores).toFixed(0)}%`,
    },
  ];
}

const boundRow = (ctx: BenchContext, path: PathName) => oneThreadBound(ctx.costs, ctx.counts[path]);

async function callsSection(ctx: BenchContext): Promise<Row[]> {
  ctx.costs = await measureCallCosts(ctx.runtime);
  ctx.counts = await countPathCalls(ctx.config, join(ctx.dir, 'count'));
  const rows: Row[] = Object.entries(ctx.costs).map(([call, ms]) => ({ figure: `call alone: ${call}`, value: ms, unit: 'ms' }));
  for (const path of PATHS) {
    const calls = Object.entries(ctx.counts[path])
      .filter(([, n]) => n > 0)
      .map(([call, n]) => `${n % 1 === 0 ? n : n.toFixed(1)}× ${call}`);
    rows.push({ figure: `calls per ${path}`, value: boundRow(ctx, path).ms, unit: 'ms', note: `${path}: ${calls.join(', ')}` });
  }
  return rows;
}

async function kmsSection(ctx: BenchContext): Promise<Row[]> {
  const kms = new KMSClient({ endpoint: ctx.runtime.endpoints.kms, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
  const { Aliases = [] } = await kms.send(new ListAliasesCommand({}));
  const ledgerKey = Aliases.find((a) => a.AliasName?.includes('Ledger'))?.AliasName;
  if (!ledgerKey) throw new Error('local mode created no ledger key');
  const digest = () =>
    kms.send(new SignCommand({ KeyId: ledgerKey, Message: randomBytes(32), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' })).then(() => undefined);
  const { rate } = await throughput(digest, ctx.seconds);
  kms.destroy();
  return [
    { figure: `local KMS Sign via SDK, concurrency ${CONCURRENCY}`, value: rate, unit: '/s', bound: { label: 'bound', value: 1000 / ctx.costs['KMS Sign']! } },
  ];
}

async function intakeSection(ctx: BenchContext): Promise<Row[]> {
  const { url } = ctx.runtime;
  const allowed = await throughput(async () => void (await ask(url, 'users.read', 200)), ctx.seconds);
  ctx.measured.set('allowed intake', allowed.rate);
  const pending = await throughput(async () => void ctx.pendingIds.push(await ask(url, 'data.export', 202)), ctx.seconds);
  return [
    {
      figure: `intake, allowed at once, concurrency ${CONCURRENCY}`,
      value: allowed.rate,
      unit: '/s',
      bound: { label: 'bound', value: boundRow(ctx, 'allowed intake').perSecond },
      goal: { ratio: ['>=', 0.85] },
      note: `allowed intake latency p50 ${percentile(allowed.latencies, 50).toFixed(1)} ms, p99 ${percentile(allowed.latencies, 99).toFixed(1)} ms`,
    },
    {
      figure: `intake, require_approval (stores, starts workflow), concurrency ${CONCURRENCY}`,
      value: pending.rate,
      unit: '/s',
      bound: { label: 'bound', value: boundRow(ctx, 'pending intake').perSecond },
      note: `pending intake latency p50 ${percentile(pending.latencies, 50).toFixed(1)} ms, p99 ${percentile(pending.latencies, 99).toFixed(1)} ms`,
    },
    ...cpuRow(ctx, 'allowed intake', allowed.cpu),
    ...cpuRow(ctx, 'pending intake', pending.cpu),
  ];
}

async function decisionSection(ctx: BenchContext): Promise<Row[]> {
  // Each vote settles one of the requests the intake figure left pending (records, receipt, the workflow told).
  const ids = ctx.pendingIds;
  // Enough pending requests for the warm-up and the three windows at twice the bound, made before they start.
  const needed = Math.ceil(2 * boundRow(ctx, 'decision').perSecond * (1 + 3 * ctx.seconds));
  const { url } = ctx.runtime;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (ids.length < needed) ids.push(await ask(url, 'data.export', 202));
    }),
  );
  let ranOut = false;
  const vote = async () => {
    const id = ids.pop();
    if (!id) {
      ranOut = true;
      return new Promise<void>((r) => setTimeout(r, 5));
    }
    await approve(ctx.runtime.url, id);
  };
  const { rate, cpu } = await throughput(vote, ctx.seconds);
  return [
    {
      figure: `decision API, approve settling a request, concurrency ${CONCURRENCY}`,
      value: rate,
      unit: '/s',
      bound: { label: 'bound', value: boundRow(ctx, 'decision').perSecond },
      goal: { ratio: ['>=', 0.8] },
      ...(ranOut ? { note: 'the decision windows ran out of pending requests: the rate is low by the idle time' } : {}),
    },
    ...cpuRow(ctx, 'decision', cpu),
  ];
}

async function loopSection(ctx: BenchContext): Promise<Row[]> {
  const { url } = ctx.runtime;
  // The full loop with no human wait: request, the email reaches the inbox, approve, the agent's long-poll sees it.
  const loop = async () => {
    const id = await ask(url, 'data.export', 202);
    const answer = fetch(`${url}/v1/actions/${id}?wait=20`, { headers: agent }).then((r) => r.json() as Promise<{ status: string }>);
    for (let i = 0; i < 400; i++) {
      // Only this request's messages: by this section the inbox holds the earlier sections' thousands (megabytes).
      const inbox = (await (await fetch(`${url}/_local/inbox.json?actionId=${id}`)).json()) as Array<{ actionId: string }>;
      if (inbox.some((m) => m.actionId === id)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    await approve(url, id);
    if ((await answer).status !== 'approved') throw new Error('not approved');
  };
  await drive(loop, 1, 1);
  const p50s: number[] = [];
  const all: number[] = [];
  for (let i = 0; i < 3; i++) {
    const run = await drive(loop, 1, ctx.seconds);
    p50s.push(percentile(run.latencies, 50));
    all.push(...run.latencies);
  }
  all.sort((a, b) => a - b);
  return [
    {
      figure: 'approval loop p50: request, email, approve, agent sees approved',
      value: repeated(p50s),
      unit: 'ms',
      goal: { value: ['<=', 150] },
      note: `approval loop: ${all.length} loops one at a time, p99 ${percentile(all, 99).toFixed(0)} ms`,
    },
  ];
}

async function waitingSection(ctx: BenchContext): Promise<Row[]> {
  const none = ctx.measured.get('allowed intake');
  if (WAITERS <= 0 || !none) return [];
  const { url } = ctx.runtime;
  // WAITERS agents, each waiting on a request of its own that nobody decides: first each holding `?wait=5` and asking
  // again when a wait ends (the costliest way to wait), then each polling as the client does by default.
  const ids: string[] = [];
  for (let i = 0; i < WAITERS; i++) ids.push(await ask(url, 'data.export', 202));
  // What local mode keeps busy with nobody waiting (the requests' workflows, environments settling), to tell apart.
  const baseline = await coresBusy(ctx.seconds);
  const read = async (id: string, query: string) => void (await (await fetch(`${url}/v1/actions/${id}${query}`, { headers: agent })).arrayBuffer());
  const holding = await withWaiters(ctx, ids, (id) => read(id, '?wait=5'));
  // The client's default: a plain GET, then gaps doubling from 2 s to a minute (client/index.ts `pollGaps`); each
  // agent starts at a random point of a 10-minute wait's schedule, as a population of agents waiting on humans would.
  const schedule = pollGaps(10 * 60_000);
  // Each agent's place in the schedule, kept across its GETs.
  const next = new Map(ids.map((id) => [id, Math.floor(Math.random() * schedule.length)]));
  const polling = await withWaiters(ctx, ids, async (id, stopped) => {
    await read(id, '');
    const at = next.get(id)!;
    next.set(id, (at + 1) % schedule.length);
    await Promise.race([stopped, new Promise<void>((r) => setTimeout(r, schedule[at]))]);
  });
  const row = (how: string, measured: Awaited<ReturnType<typeof withWaiters>>): Row => ({
    figure: `intake, allowed, with ${WAITERS} agents waiting (${how})`,
    value: measured.rate,
    unit: '/s',
    bound: { label: 'with none', value: none },
    goal: { ratio: ['>=', 0.85] },
    ...(measured.cores !== undefined && baseline !== undefined
      ? {
          note:
            `waiting (${how}): with the ${WAITERS} agents waiting and no intake, ${measured.cores.toFixed(2)} of ${availableParallelism()} cores are busy ` +
            `(${baseline.toFixed(2)} with nobody waiting): ${((1000 * Math.max(0, measured.cores - baseline)) / WAITERS).toFixed(1)} ms of CPU per agent and second, ` +
            `leaving intake at most ${(100 * (1 - measured.cores / availableParallelism())).toFixed(0)}% of the machine`,
        }
      : {}),
  });
  return [row('?wait=5', holding), row("the client's default polling", polling)];
}

/** How many cores local mode's processes keep busy over the next `seconds`; undefined where that cannot be read. */
async function coresBusy(seconds: number): Promise<number | undefined> {
  const before = treeCpu();
  const start = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const after = treeCpu();
  return before && after ? (after.main + after.environments - before.main - before.environments) / (performance.now() - start) : undefined;
}

/**
 * Intake's throughput while `ids.length` agents wait, each running `waitOnce` again and again until told to stop
 * (`stopped` resolves then); and what the agents alone keep busy, in cores, over one window's time before intake runs.
 */
async function withWaiters(
  ctx: BenchContext,
  ids: readonly string[],
  waitOnce: (id: string, stopped: Promise<void>) => Promise<void>,
): Promise<{ rate: Repeated; cores?: number }> {
  let stop = false;
  let release!: () => void;
  const stopped = new Promise<void>((r) => {
    release = r;
  });
  const answered = new Set<string>();
  const waiting = ids.map(async (id) => {
    while (!stop) {
      await waitOnce(id, stopped);
      answered.add(id);
    }
  });
  // The windows measure agents waiting, not their environments starting: each wait holds an environment of its own,
  // and starting that many (a process and a module load each, on this machine's cores, where on AWS each starts on
  // its own) takes longer than a wait. Every agent has had one wait answered before the windows.
  const settle = performance.now();
  while (answered.size < ids.length && performance.now() - settle < 120_000) await new Promise((r) => setTimeout(r, 100));
  // What the waiting agents alone keep busy (their environments, the gateway and dynalite answering them), once the
  // environments have finished what the first answers left them (the collector, the optimizing compiler).
  await new Promise((r) => setTimeout(r, 1000));
  const cores = await coresBusy(ctx.seconds);
  const { rate } = await throughput(async () => void (await ask(ctx.runtime.url, 'users.read', 200)), ctx.seconds);
  stop = true;
  release();
  await Promise.all(waiting);
  return { rate, ...(cores !== undefined ? { cores } : {}) };
}

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

async function ledgerSection(ctx: BenchContext): Promise<Row[]> {
  const { url } = ctx.runtime;
  // The ledger the runs above wrote, sealed by a checkpoint (local mode settles 4 s behind): the scheduled jobs run now.
  await new Promise((r) => setTimeout(r, 4500));
  await runSchedules(url);
  const lines: string[] = [];
  const endpoint = resolveEndpoint({ url, apiKey: 'bench-audit-key' });
  const exportStart = performance.now();
  await exportLedger(endpoint, {}, (line) => lines.push(line));
  const exportSeconds = (performance.now() - exportStart) / 1000;
  const pem = await (await fetch(`${url}/v1/audit/public-key`, { headers: { authorization: 'Bearer bench-audit-key' } })).text();
  const report = verifyLedgerLines(lines, createPublicKey(pem));
  if (!report.ok || report.covered !== report.records) throw new Error(`the bench ledger does not verify: ${JSON.stringify(report.findings.slice(0, 3))}`);

  // The verify rate on a ledger large enough to time: 20,000 records signed as KMS signs them (ECDSA_SHA_256
  // over the canonical JSON, which is what a DIGEST signature over its SHA-256 is), sealed by one checkpoint.
  const { privateKey: ecKey, publicKey: ecPublic } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const synthetic = syntheticLedger(20_000, ecKey);
  verifyLedgerLines(synthetic.slice(0, 2000), ecPublic);
  const verifyRate = await measureRepeated(async () => {
    const start = performance.now();
    const big = verifyLedgerLines(synthetic, ecPublic);
    if (!big.ok) throw new Error(`the synthetic ledger does not verify: ${JSON.stringify(big.findings.slice(0, 3))}`);
    return (big.records + big.checkpoints) / ((performance.now() - start) / 1000);
  });
  const message = Buffer.from(lines[1] ?? 'bench');
  const signature = sign('sha256', message, ecKey);
  const rawRate = await measureRepeated(async () => {
    let verified = 0;
    const start = performance.now();
    while (performance.now() - start < 1000) if (verify('sha256', message, ecPublic, signature)) verified++;
    return verified / ((performance.now() - start) / 1000);
  });
  return [
    {
      figure: 'ledger export through GET /v1/audit/export (once)',
      value: (lines.length - 1) / exportSeconds,
      unit: 'items/s',
      note: `export: ${lines.length - 1} items`,
    },
    {
      figure: 'ledger verify (hashes, signatures, links, checkpoints), one core',
      value: verifyRate,
      unit: 'records/s',
      bound: { label: 'raw', value: rawRate },
      goal: { ratio: ['>=', 0.75] },
      note: 'ledger verify: 20,000 synthetic records; raw is ECDSA P-256 verify through node:crypto (OpenSSL), one core',
    },
  ];
}

async function bundleSection(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const f of await bundleFigures(join(ctx.dir, 'bundles'))) {
    rows.push({
      figure: `bundle ${f.name}: size`,
      value: f.bytes / 1024,
      unit: 'KiB',
      bound: { label: 'floor', value: f.floor.bytes / 1024 },
      goal: { value: ['<=', 500] },
      note: `${f.name}: ${(f.gzipBytes / 1024).toFixed(0)} KiB gzipped; floor ${f.floor.name}; largest inputs ${f.top.map(([p, b]) => `${p} ${(b / 1024).toFixed(0)}`).join(', ')} KiB`,
    });
    rows.push({
      figure: `bundle ${f.name}: cold module load`,
      value: f.load,
      unit: 'ms',
      bound: { label: 'floor', value: f.floor.load },
      goal: { ratio: ['<=', 1.3] },
      note:
        `${f.name}: the floor with the SDK commands the function holds (${f.withCommands.commands.join(', ')}): ` +
        `${(f.withCommands.bytes / 1024).toFixed(0)} KiB, ${f.withCommands.load.median.toFixed(1)} ms (${((100 * f.withCommands.load.median) / f.floor.load.median).toFixed(0)}% of the floor); ` +
        `Countersign's code and zod add ${((f.bytes - f.withCommands.bytes) / 1024).toFixed(0)} KiB, ${(f.load.median - f.withCommands.load.median).toFixed(1)} ms`,
    });
  }
  return rows;
}

function costSection(ctx: BenchContext): Row[] {
  // Cost per 1,000 approvals on AWS, from the synthesized template (prices and scenario in bench/cost.ts).
  const cost = costPerThousandApprovals(synthesizeForLocal(ctx.config).template);
  return [
    ...cost.lines.map((line): Row => ({ figure: `cost per 1,000 approvals: ${line.what}`, value: line.perApproval * 1000, unit: '$' })),
    { figure: 'cost per 1,000 approvals on AWS (us-east-1 list prices)', value: cost.total, unit: '$' },
  ];
}

/** Tables of their own, printed at the end: KMS calls per approval and the quota's ceiling, calls per path, pending. */
const extraTables: string[] = [];

/** `n` approvals one after another, each asked and then approved. */
async function approvalsForSigning(ctx: BenchContext, n: number): Promise<number> {
  const { url } = ctx.runtime;
  for (let i = 0; i < n; i++) await approve(url, await ask(url, 'data.export', 202));
  return n;
}

/** KMS Sign calls the local KMS counted over the approvals the bench made, and the ceiling the default ECC quota allows. */
async function signingSection(ctx: BenchContext): Promise<readonly Row[]> {
  // Every environment the sections before started certifies its key first (one Sign each, once an hour, not per
  // approval): as many approvals at once as the intake figures ran.
  await Promise.all(Array.from({ length: CONCURRENCY }, () => approvalsForSigning(ctx, 1)));
  const before = await localKmsSigns(ctx.runtime.endpoints.kms);
  const approvals = await approvalsForSigning(ctx, 10);
  const signs = (await localKmsSigns(ctx.runtime.endpoints.kms)) - before;
  const ceiling = signingCeiling({ measured: { approvals, signs } });
  extraTables.push(`KMS signing\n${formatTable(signingFigures(ceiling))}`);
  return [
    { figure: 'KMS ECC calls per approval (measured, warm environments)', value: signs / approvals, unit: 'calls', goal: { value: ['<=', 1] } },
    { figure: 'approvals/s the default ECC quota allows', value: ceiling.approvalsPerSecond, unit: '/s' },
  ];
}

/** AWS calls and serial depth per path, counted at the SDK with the real adapters. */
async function roundTripSection(): Promise<readonly Row[]> {
  extraTables.push(`AWS calls per path\n${formatRoundTrips(await measureRoundTrips())}`);
  return [];
}

/** What a repair run, "what waits for me" and a windowed export cost at 100 and 1,000 pending. */
async function pendingSection(): Promise<readonly Row[]> {
  extraTables.push(`Flat in what is pending\n${formatTable(await pendingFigures({ sizes: [100, 1000] }))}`);
  return [];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-'));
  const config = parseConfig(BENCH_CONFIG);
  console.error(`Countersign bench: ${SECONDS} s windows, each figure three times, Node ${process.version}`);
  const rows: Row[] = [];
  let runtime: LocalRuntime | undefined;
  try {
    const t0 = performance.now();
    runtime = await startLocalRuntime({ config, dataDir: join(dir, 'data'), port: 0, scheduleTimers: false });
    rows.push({ figure: 'local mode start (synth, dynalite, KMS, SFN, gateway; once)', value: (performance.now() - t0) / 1000, unit: 's' });
    const ctx: BenchContext = {
      runtime,
      config,
      dir,
      seconds: SECONDS,
      costs: {},
      counts: Object.fromEntries(PATHS.map((p) => [p, {}])) as Record<PathName, CallCounts>,
      measured: new Map(),
      pendingIds: [],
    };
    for (const section of selectedSections(process.argv.slice(2))) {
      const started = performance.now();
      const answered = await section(ctx);
      for (const row of answered)
        console.error(`  ${row.figure}: ${typeof row.value === 'number' ? row.value.toFixed(2) : row.value.median.toFixed(2)} ${row.unit}`);
      console.error(`  (${section.name}: ${((performance.now() - started) / 1000).toFixed(1)} s)`);
      rows.push(...answered);
    }
  } finally {
    await runtime?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`\n${formatRows(rows)}`);
  for (const table of extraTables) process.stdout.write(`\n${table}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
