import { App, type Duration, Validations } from 'aws-cdk-lib';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { LogLevel } from '../lambdas/adapters/environment';
import type { Config } from '../lambdas/core/config';
import { CountersignStack } from './countersign-stack';

export const STACK_NAME = 'Countersign';

export interface BuildAppOptions {
  readonly config: Config;
  /** Bundle the functions with esbuild. Local mode and most tests skip it. @default true */
  readonly bundle?: boolean;
  /** Run the cdk-nag AwsSolutions checks. @default true */
  readonly nag?: boolean;
  /** Where `app.synth()` writes the cloud assembly. @default cdk.out (or the CLI's choice) */
  readonly outdir?: string;
  /**
   * The ledger's write window and the checkpoints' settle time (see `CountersignProps.ledgerWriteWindow` and
   * `checkpointSettle`). @default the Countersign construct's defaults: 10 s and 60 s
   */
  readonly ledgerTimings?: { readonly writeWindow: Duration; readonly checkpointSettle: Duration };
  /** How old a pending request must be before the repair job touches it. @default the construct's (60 s) */
  readonly repairGrace?: Duration;
  /**
   * What the template is for. `aws` (a deploy) refuses `env:NAME` secrets, which only local mode provides; `local`
   * (local mode's own synth) accepts them. @default 'aws'
   */
  readonly target?: 'aws' | 'local';
  /** The functions' log level and debug sampling rate (`CountersignProps.logLevel`, `logSampleRate`). @default the construct's: INFO, 0 */
  readonly logs?: { readonly level?: LogLevel; readonly sampleRate?: number };
}

/** The Countersign CDK app: one stack, checked by cdk-nag. Used by `cdk synth`, the tests and local mode alike. */
export function buildApp(options: BuildAppOptions): { app: App; stack: CountersignStack } {
  const app = new App({
    ...(options.outdir ? { outdir: options.outdir } : {}),
    context: {
      // Template problems CloudFormation would refuse (e.g. a dependency cycle) fail the synth, not the deploy.
      '@aws-cdk/core:validateAgainstDefaultRules': true,
      ...(options.bundle === false ? { [BUNDLING_STACKS]: [] } : {}),
    },
  });
  const stack = new CountersignStack(app, STACK_NAME, {
    config: options.config,
    description: 'Countersign: action-level approvals for AI agents',
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    ...(options.ledgerTimings ? { ledgerWriteWindow: options.ledgerTimings.writeWindow, checkpointSettle: options.ledgerTimings.checkpointSettle } : {}),
    ...(options.repairGrace ? { repairGrace: options.repairGrace } : {}),
    ...(options.target === 'local' ? { allowEnvironmentSecrets: true } : {}),
    ...(options.logs?.level ? { logLevel: options.logs.level } : {}),
    ...(options.logs?.sampleRate !== undefined ? { logSampleRate: options.logs.sampleRate } : {}),
  });
  if (options.nag !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
