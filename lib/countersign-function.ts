import { join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { FUNCTION_ENV, type LogLevel, logSettingsProblem } from '../lambdas/adapters/environment';
import { BUNDLING } from './bundling';

export const REPO_ROOT = join(import.meta.dirname, '..');

export interface CountersignFunctionProps {
  /** Folder under `lambdas/` holding `handler.ts`. */
  readonly handlerDir: string;
  /** Values inlined into the bundle at build time (esbuild `define`), e.g. the validated config. @default none */
  readonly define?: Readonly<Record<string, string>>;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** @default 512 MiB (arm64 gets proportionally more CPU, which shortens cold starts) */
  readonly memorySize?: number;
  /** How long the function's logs are kept. @default one year */
  readonly logRetention?: RetentionDays;
  /** The least severe level its logger writes (POWERTOOLS_LOG_LEVEL). @default INFO */
  readonly logLevel?: LogLevel;
  /** The share of invocations, 0 to 1, logged at DEBUG whatever the level (POWERTOOLS_LOGGER_SAMPLE_RATE). @default 0 */
  readonly logSampleRate?: number;
  /**
   * Concurrency reserved for (and capping) the function. Countersign's own functions reserve none: an account at the
   * new-account Lambda concurrency quota (10) refuses any reservation, failing the deploy. @default none: unreserved
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A Countersign function: Node.js 22 on arm64, bundled by the project's esbuild (minified, source maps, no Docker),
 * X-Ray tracing, logs in a log group with a retention. `entry` tells local mode which handler to run for it.
 *
 * Its code writes every line as JSON itself (lambdas/adapters/logger.ts), at the level and debug sampling rate set
 * here. The function's log format stays Lambda's plain text, which passes those lines through as they are: Lambda's
 * JSON format would filter them by level before CloudWatch (INFO unless set otherwise) and hand the logger its level
 * through AWS_LAMBDA_LOG_LEVEL, overriding POWERTOOLS_LOG_LEVEL, so no invocation could ever be sampled at DEBUG.
 */
export class CountersignFunction extends NodejsFunction {
  /** Absolute path of the handler's source file. */
  readonly entry: string;

  constructor(scope: Construct, id: string, props: CountersignFunctionProps) {
    const entry = join(REPO_ROOT, 'lambdas', props.handlerDir, 'handler.ts');
    const logLevel = props.logLevel ?? 'INFO';
    const logSampleRate = props.logSampleRate ?? 0;
    const problem = logSettingsProblem({ level: logLevel, sampleRate: logSampleRate });
    if (problem) throw new Error(`Countersign: ${problem}`);
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: props.logRetention ?? RetentionDays.ONE_YEAR });
    // Its own role, writing only to its own log group, instead of the broad AWSLambdaBasicExecutionRole.
    const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    super(scope, id, {
      role,
      entry,
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.TEXT,
      logGroup,
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        [FUNCTION_ENV.logLevel]: logLevel,
        [FUNCTION_ENV.logSampleRate]: String(logSampleRate),
      },
      bundling: {
        minify: BUNDLING.minify,
        sourceMap: BUNDLING.sourceMap,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: BUNDLING.sourcesContent,
        target: BUNDLING.target,
        format: OutputFormat.CJS,
        mainFields: [...BUNDLING.mainFields],
        esbuildArgs: { '--alias': Object.entries(BUNDLING.alias).map(([from, to]) => `${from}=${to}`) },
        // Bundle the SDK too: the versions tested here are the versions that run.
        externalModules: [],
        define: props.define ? { ...props.define } : undefined,
      },
    });
    this.entry = entry;
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'The runtime is pinned to nodejs22.x (docs/design.md "Versions"), the release the code is built and tested for.',
    });
  }
}
