/**
 * Runs local mode as `npm start` does, in a child process, and reads its URLs from what it prints. Used by every
 * end-to-end test: restarts, signals and port clashes are real. Files that only need the default policy share one
 * local mode for the whole run (`sharedCountersign()`, started by test/global-setup.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { verifyChain } from '../../lambdas/core/ledger-record';
import type { LocalRuntime } from '../../local/runtime';

export const ROOT = join(import.meta.dirname, '../..');

export interface RunningCountersign {
  readonly url: string;
  /** As local mode's banner prints them (local/runtime.ts `LocalRuntime`). */
  readonly endpoints: LocalRuntime['endpoints'];
  readonly child: ChildProcess;
  output(): string;
  /** Sends the signal and resolves the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * The local mode the run shares: the default policy, never restarted. Tests on it see others' requests, inbox
 * messages and ledger records, so they use their own request ids (or resources, idempotency keys) and filter by them.
 */
export interface SharedCountersign {
  readonly url: string;
  readonly endpoints: RunningCountersign['endpoints'];
  /** What it printed when it came up. */
  readonly banner: string;
  /** The file holding everything it printed so far. */
  readonly log: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    countersign: SharedCountersign;
  }
}

/** The shared local mode of test/global-setup.ts. */
export function sharedCountersign(): SharedCountersign & { output(): string } {
  const shared = inject('countersign');
  return { ...shared, output: () => readFileSync(shared.log, 'utf8') };
}

export interface StartOptions {
  readonly dataDir: string;
  readonly configFile?: string;
  readonly port?: number;
  readonly env?: Record<string, string>;
}

/** Spawns local mode; resolves once it printed its URLs, or rejects with its output if it exits first. */
export function startCountersign(options: StartOptions): Promise<RunningCountersign> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(options.port ?? 0),
      COUNTERSIGN_DATA_DIR: options.dataDir,
      COUNTERSIGN_CONFIG: options.configFile ?? join(ROOT, 'countersign.config.yaml'),
      COUNTERSIGN_ACCESS_LOG: '0',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local mode did not start in 60 s:\n${output}`)), 60_000);
    const onData = () => {
      const url = /API\s+(http:\/\/\S+)/.exec(output)?.[1];
      const endpoints = /dynamodb (\S+)\s+kms (\S+)\s+sfn (\S+)\s+sesv2 (\S+)\s+slack (\S+)\s+secretsmanager (\S+)/.exec(output);
      if (!url || !endpoints) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve({
        url,
        endpoints: {
          dynamodb: endpoints[1]!,
          kms: endpoints[2]!,
          sfn: endpoints[3]!,
          ses: endpoints[4]!,
          slack: endpoints[5]!,
          secretsManager: endpoints[6]!,
        },
        child,
        output: () => output,
        stop: (signal = 'SIGTERM') => {
          if (child.exitCode === null) child.kill(signal);
          return exited;
        },
      });
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`local mode exited with ${code}:\n${output}`), { code, output }));
    });
  });
}

/** Runs local mode expecting it to fail at start; resolves its exit code and output. */
export async function failingStart(options: StartOptions): Promise<{ code: number; output: string }> {
  try {
    const running = await startCountersign(options);
    await running.stop();
    throw new Error('local mode started, but it was expected to fail');
  } catch (err) {
    const { code, output } = err as { code?: number; output?: string };
    if (code === undefined || output === undefined) throw err;
    return { code, output };
  }
}

/** Polls `probe` until it returns a value (not undefined). */
export async function eventually<T>(probe: () => Promise<T | undefined>, ms = 20_000, every = 100): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** JSON over HTTP with a local API key. Writes to `/_local/*` always say JSON, as local mode requires of them. */
export async function api(base: string, method: string, path: string, key?: string, body?: unknown): Promise<{ status: number; body: any }> {
  const json = body !== undefined || (path.startsWith('/_local/') && method !== 'GET');
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(json ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** What a command printed and how it exited. */
export interface SlackClick {
  /** The Slack user who clicks. */
  readonly user: string;
  /** The button's value: a request id, or for an "Approve for" button `<request id>|<for>`. */
  readonly requestId: string;
  /** `countersign_approve`, `countersign_deny`, or an "Approve for" button's `countersign_approve_for_<n>`. */
  readonly actionId: string;
  readonly responseUrl?: string;
  readonly message?: Record<string, unknown>;
  /** Seconds since the epoch. @default now */
  readonly timestamp?: number;
}

/**
 * Posts a button click to /v1/slack/interactions exactly as Slack does: a form-encoded `payload` of block_actions,
 * signed with the v0 HMAC over `v0:timestamp:body`.
 */
export function postSlackClick(base: string, signingSecret: string, click: SlackClick): Promise<Response> {
  const payload = {
    type: 'block_actions',
    user: { id: click.user, username: click.user.toLowerCase(), name: click.user.toLowerCase(), team_id: 'T0TEAM' },
    api_app_id: 'A0APP',
    token: 'legacy',
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C0APPROVALS', is_ephemeral: false },
    trigger_id: '1.2.3',
    team: { id: 'T0TEAM', domain: 'example' },
    channel: { id: 'C0APPROVALS', name: 'approvals' },
    message: click.message ?? { type: 'message', ts: '1700000000.000100', text: 'Approval requested', blocks: [] },
    ...(click.responseUrl ? { response_url: click.responseUrl } : {}),
    actions: [{ type: 'button', action_id: click.actionId, block_id: 'b', value: click.requestId, action_ts: '1700000001.000200' }],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(click.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return fetch(`${base}/v1/slack/interactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature },
    body,
  });
}

/**
 * Local mode settles checkpoints 4 s behind the clock: waits past that, then runs every scheduled job once (the
 * checkpointer among them) through `POST /_local/schedules/run`; throws unless at least one ran and all succeeded.
 */
export async function checkpointNow(base: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 4500));
  const res = await fetch(`${base}/_local/schedules/run`, { method: 'POST', headers: { 'content-type': 'application/json' } });
  const body = (await res.json()) as { ran?: Array<{ ok: boolean }> };
  if (!body.ran?.length || !body.ran.every((r) => r.ok)) throw new Error(`scheduled jobs did not all run: ${JSON.stringify(body)}`);
}

/**
 * A request's chain as `GET /v1/actions/{id}/audit?certificates=true` answers it, checked with the ledger's public key
 * alone: each record against the certificate of the environment key that signed it, each certificate against the key.
 */
export async function verifiedChain(base: string, id: string, key: string, publicKeyPem: string): Promise<ReturnType<typeof verifyChain>> {
  const answer = await api(base, 'GET', `/v1/actions/${id}/audit?certificates=true`, key);
  if (answer.status !== 200) throw new Error(`audit of ${id}: HTTP ${answer.status}`);
  return verifyChain(answer.body.records, createPublicKey(publicKeyPem), answer.body.certificates);
}
