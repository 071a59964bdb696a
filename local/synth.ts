/**
 * Synthesizes the real CDK app for local mode and reads off what the runtime needs: the template, which handler
 * source each Lambda function has, and (when asked to bundle) the asset the stack built for it. Bundling is slow, so
 * local mode asks for it only when its bundle cache misses (./bundles.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CfnElement, Duration, Stack } from 'aws-cdk-lib';
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
  /** With `bundle`: the asset folder the stack built for it (`index.js` and its source map), under `outdir`. */
  readonly asset?: string;
}

export interface LocalSynthOptions {
  /** Bundle the functions as the stack does (esbuild through NodejsFunction). @default false */
  readonly bundle?: boolean;
  /** Where the cloud assembly goes, kept afterwards. @default a temporary folder, removed afterwards */
  readonly outdir?: string;
}

export interface LocalSynthesis {
  readonly template: CfnTemplate;
  readonly functions: ReadonlyMap<string, LocalFunction>;
}

export function synthesizeForLocal(config: Config, options: LocalSynthOptions = {}): LocalSynthesis {
  const outdir = options.outdir ?? mkdtempSync(join(tmpdir(), 'countersign-synth-'));
  try {
    const { app, stack } = buildApp({
      config,
      bundle: options.bundle ?? false,
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
        let asset: string | undefined;
        if (options.bundle) {
          // The template names the asset by its hash: `<hash>.zip` is cdk.out/asset.<hash>/.
          const code = template.Resources[logicalId]?.Properties?.Code as { S3Key?: unknown } | undefined;
          const hash = /^([0-9a-f]{64})\.zip$/.exec(String(code?.S3Key))?.[1];
          if (!hash) throw new Error(`function ${node.node.path}: no bundled asset in the template`);
          asset = join(assembly.directory, `asset.${hash}`);
        }
        functions.set(logicalId, { logicalId, path: node.node.path, entry: node.entry, ...(asset ? { asset } : {}) });
      }
    }
    return { template, functions };
  } finally {
    if (!options.outdir) rmSync(outdir, { recursive: true, force: true });
  }
}
