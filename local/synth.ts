/**
 * Synthesizes the real CDK app for local mode (without bundling: local mode runs the handlers' sources) and reads
 * off what the runtime needs: the template, and which handler source each Lambda function runs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnElement, Duration, Stack } from 'aws-cdk-lib';
import type { Config } from '../lambdas/core/config';
import { buildApp } from '../lib/app';
import { CountersignFunction } from '../lib/countersign-function';
import type { CfnTemplate } from './cfn';

export interface LocalFunction {
  readonly logicalId: string;
  /** Construct path, for error messages. */
  readonly path: string;
  /** Absolute path of the handler's TypeScript source. */
  readonly entry: string;
}

export interface LocalSynthesis {
  readonly template: CfnTemplate;
  readonly functions: ReadonlyMap<string, LocalFunction>;
}

export function synthesizeForLocal(config: Config): LocalSynthesis {
  const outdir = mkdtempSync(join(tmpdir(), 'countersign-synth-'));
  try {
    const { app, stack } = buildApp({
      config,
      bundle: false,
      nag: false,
      outdir,
      // Local mode appends in-process, so records land within milliseconds of their time: a short write window and
      // settle time keep checkpoints minutes fresher than on AWS, where the GSI's propagation needs the margin.
      ledgerTimings: { writeWindow: Duration.seconds(2), checkpointSettle: Duration.seconds(4) },
      // In one process an intake or vote in flight takes milliseconds: the repair job may look sooner.
      repairGrace: Duration.seconds(2),
      // Local mode sets the variables `env:NAME` secrets name.
      target: 'local',
    });
    const assembly = app.synth();
    const template = JSON.parse(readFileSync(join(assembly.directory, stack.templateFile), 'utf8')) as CfnTemplate;
    const functions = new Map<string, LocalFunction>();
    for (const node of stack.node.findAll()) {
      if (node instanceof CountersignFunction) {
        const logicalId = Stack.of(node).getLogicalId(node.node.defaultChild as CfnElement);
        functions.set(logicalId, { logicalId, path: node.node.path, entry: node.entry });
      }
    }
    return { template, functions };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
