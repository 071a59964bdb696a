/**
 * The approval workflow exactly as `lib/` synthesizes it, run by the local Step Functions endpoint through the SDK:
 * the Notify task waits on its token, the settled outcome reaches Finalize, and a timeout reaches Expire.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateStateMachineCommand, SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../lambdas/adapters/config-file';
import { resolveIntrinsics, resourcesOfType } from '../../local/cfn';
import { LocalStepFunctions } from '../../local/sfn';
import { synthesizeForLocal } from '../../local/synth';

const config = loadConfigFile(join(import.meta.dirname, '../../countersign.config.yaml'));

describe('the synthesized approval workflow', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cs-sfn-synth-'));
  const calls: Array<{ fn: string; payload: any }> = [];
  let sfn: LocalStepFunctions;
  let client: SFNClient;
  let stateMachineArn: string;
  let names: { notifier: string; finalizer: string };

  beforeAll(async () => {
    const { template, functions } = synthesizeForLocal(config);
    const byDir = new Map([...functions.values()].map((f) => [f.entry.split('/').at(-2)!, f.logicalId]));
    names = { notifier: byDir.get('notifier')!, finalizer: byDir.get('finalize')! };
    sfn = new LocalStepFunctions({
      dataDir,
      invokeLambda: async (arn, payload) => {
        calls.push({ fn: arn.split(':').at(-1)!, payload });
        // The Wake step: report the deadline passed.
        if ((payload as { wake?: boolean }).wake) return { seconds: 0, expired: true };
        return { ok: true };
      },
    });
    client = new SFNClient({ endpoint: await sfn.listen(), region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const [[id, machine]] = resourcesOfType(template, 'AWS::StepFunctions::StateMachine') as [[string, any]];
    const definition = resolveIntrinsics(machine.Properties.DefinitionString, {
      ref: () => undefined,
      getAtt: (fn, attr) => (attr === 'Arn' && functions.has(fn) ? `arn:aws:lambda:us-east-1:000000000000:function:${fn}` : undefined),
    }) as string;
    stateMachineArn = (await client.send(new CreateStateMachineCommand({ name: id, definition, roleArn: 'arn:aws:iam::000000000000:role/x' })))
      .stateMachineArn!;
  });
  afterAll(async () => {
    client.destroy();
    await sfn.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const callsFor = (requestId: string) => calls.filter((c) => c.payload.requestId === requestId);

  async function until<T>(probe: () => T | undefined, ms = 5000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('waits on the Notify token, then hands the settled outcome to Finalize', async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: 'act_a',
        input: JSON.stringify({ requestId: 'act_a', timeoutSeconds: 60, wait: { seconds: 60, expired: false } }),
      }),
    );
    const notify = await until(() => callsFor('act_a').find((c) => c.fn === names.notifier));
    expect(Object.keys(notify.payload).sort()).toEqual(['requestId', 'taskToken']);
    await new Promise((r) => setTimeout(r, 200));
    expect(callsFor('act_a').map((c) => c.fn)).toEqual([names.notifier]);

    await client.send(new SendTaskSuccessCommand({ taskToken: notify.payload.taskToken, output: JSON.stringify({ status: 'approved' }) }));
    const done = await sfn.waitForExecution(executionArn!, 5000);
    expect(done.status).toBe('SUCCEEDED');
    // Finalize records the outcome, then Callback tells the requester.
    expect(callsFor('act_a').map((c) => c.fn)).toEqual([names.notifier, names.finalizer, names.finalizer]);
    expect(callsFor('act_a')[1]!.payload).toEqual({ requestId: 'act_a', outcome: { status: 'approved' } });
    expect(callsFor('act_a')[2]!.payload).toEqual({ requestId: 'act_a', callback: true });
  });

  it('expires at the timeout given in the execution input', async () => {
    const started = Date.now();
    const { executionArn } = await client.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: 'act_b',
        input: JSON.stringify({ requestId: 'act_b', timeoutSeconds: 1, wait: { seconds: 1, expired: false } }),
      }),
    );
    const done = await sfn.waitForExecution(executionArn!, 5000);
    expect(done.status).toBe('SUCCEEDED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    // Notify times out, Wake reports the deadline, TimedOut hands the timeout to Expire.
    expect(
      callsFor('act_b')
        .map((c) => c.fn)
        .slice(0, 3),
    ).toEqual([names.notifier, names.notifier, names.finalizer]);
    expect(callsFor('act_b')[1]!.payload).toEqual({ requestId: 'act_b', wake: true });
    const expire = callsFor('act_b').find((c) => c.fn === names.finalizer)!;
    expect(expire.payload).toMatchObject({ requestId: 'act_b', error: { Error: 'States.Timeout' } });
    expect(expire.payload.outcome).toBeUndefined();
  });
});
