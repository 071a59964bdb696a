/** A retried Notify task (a new attempt of the same task, with its own token) sends nothing twice. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { api, eventually } from './harness';

describe('notifier retries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-notify-'));
  let runtime: LocalRuntime;

  beforeAll(async () => {
    const config = parseConfig(`
version: 1
groups: { owners: { members: [{ id: alice@example.com }, { id: bob@example.com }] } }
default: { effect: require_approval, approvers: [owners], timeout: 1h }
channels: { email: { from: countersign@example.com } }
local: { apiKeys: { agent-key-1: "arn:aws:iam::000000000000:role/agent" } }
`);
    runtime = await startLocalRuntime({ config, dataDir: join(dir, 'data'), port: 0 });
  });
  afterAll(async () => {
    await runtime?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends each approver one message however often the task runs', async () => {
    const { body } = await api(runtime.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'data.export' });
    const inbox = async () => ((await api(runtime.url, 'GET', '/_local/inbox.json')).body as Array<{ actionId: string }>).filter((m) => m.actionId === body.id);
    const notifiedRecords = async () =>
      ((await api(runtime.url, 'GET', `/v1/actions/${body.id}/audit`, 'agent-key-1')).body as Array<{ type: string }>).filter((r) => r.type === 'notified');
    // A retry follows a finished attempt (Step Functions never runs two attempts of a task at once): wait for the
    // first attempt to have recorded what it sent, not only for its emails to arrive.
    await eventually(async () => ((await inbox()).length === 2 && (await notifiedRecords()).length === 1 ? true : undefined));
    // Each retry invokes the notifier as Step Functions does, in its own execution environment.
    const notifier = runtime.functions.find((name) => name.startsWith('CountersignNotifier'))!;
    for (let attempt = 0; attempt < 3; attempt++) {
      expect(await runtime.invoke(notifier, { requestId: body.id, taskToken: `retry-${attempt}-${'t'.repeat(80)}` })).toEqual({ notified: 0 });
    }
    expect(await inbox()).toHaveLength(2);
    expect(await notifiedRecords()).toHaveLength(1);
  });
});
