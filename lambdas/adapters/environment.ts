/**
 * The environment the stack gives each function, in one place: lib/ sets the variables by these names, and handlers
 * and adapters read them only through these getters. Local mode gives each function exactly its template's variables,
 * plus the endpoints it serves (AWS_ENDPOINT_URL_<SERVICE>, the Slack Web API's base) and, where the template sets
 * one, its own value of a setting (CALLBACK_NETWORK=loopback); production code never asks whether it runs locally.
 */
import type { CallbackNetwork } from '../core/callback';

export const FUNCTION_ENV = {
  requestsTable: 'REQUESTS_TABLE',
  ledgerTable: 'LEDGER_TABLE',
  ledgerKeyId: 'LEDGER_KEY_ID',
  reviewKeyId: 'REVIEW_KEY_ID',
  stateMachineArn: 'STATE_MACHINE_ARN',
  publicUrl: 'COUNTERSIGN_PUBLIC_URL',
  ledgerWriteWindow: 'LEDGER_WRITE_WINDOW_SECONDS',
  checkpointSettle: 'CHECKPOINT_SETTLE_SECONDS',
  repairGrace: 'REPAIR_GRACE_SECONDS',
  /** Where the scheduled functions take their one-run-at-a-time lease: the requests table. */
  leaseTable: 'LEASE_TABLE',
  /**
   * Which callback URLs the functions that vet and send callbacks accept: `public` (https to public addresses only,
   * what the stack sets) or `loopback` (http and https to loopback too: local mode). Unset or anything else is `public`.
   */
  callbackNetwork: 'CALLBACK_NETWORK',
  /** Base URL of Slack's Web API, like AWS_ENDPOINT_URL_* for an AWS service. @default https://slack.com/api */
  slackApiUrl: 'COUNTERSIGN_SLACK_API_URL',
  /** The logger's level (adapters/logger.ts; Powertools reads it itself). @default INFO */
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  /** The share of invocations (0 to 1) logged at DEBUG whatever the level (Powertools reads it itself). @default 0 */
  logSampleRate: 'POWERTOOLS_LOGGER_SAMPLE_RATE',
} as const;

export type FunctionVariable = keyof typeof FUNCTION_ENV;

/** The logger's levels (Powertools for AWS Lambda's), most detailed first; SILENT logs nothing. */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What is wrong with a log level or debug sampling rate the stack would set, or undefined when both are right. */
export function logSettingsProblem(settings: { readonly level?: string; readonly sampleRate?: number }): string | undefined {
  if (settings.level !== undefined && !(LOG_LEVELS as readonly string[]).includes(settings.level)) {
    return `logLevel ${JSON.stringify(settings.level)} is not one of ${LOG_LEVELS.join(', ')}`;
  }
  const rate = settings.sampleRate;
  if (rate !== undefined && !(Number.isFinite(rate) && rate >= 0 && rate <= 1)) return `logSampleRate ${rate} is not a share of invocations from 0 to 1`;
  return undefined;
}

/**
 * The log settings `cdk synth`/`cdk deploy` (bin/countersign.ts) and `npm start` take from their own environment:
 * COUNTERSIGN_LOG_LEVEL and COUNTERSIGN_LOG_SAMPLE_RATE, each unset for the stack's default. Throws, naming the
 * variable, on a bad value.
 */
export function logSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): { level?: LogLevel; sampleRate?: number } {
  const level = env.COUNTERSIGN_LOG_LEVEL?.trim().toUpperCase() || undefined;
  const rateText = env.COUNTERSIGN_LOG_SAMPLE_RATE?.trim() || undefined;
  const sampleRate = rateText === undefined ? undefined : Number(rateText);
  const problem = logSettingsProblem({ level, sampleRate });
  if (problem) throw new Error(`${problem.startsWith('logLevel') ? 'COUNTERSIGN_LOG_LEVEL' : 'COUNTERSIGN_LOG_SAMPLE_RATE'}: ${problem}`);
  return { ...(level ? { level: level as LogLevel } : {}), ...(sampleRate !== undefined ? { sampleRate } : {}) };
}

/** A variable the function cannot run without; a missing one is a deployment bug, so it throws. */
export function requiredEnv(variable: FunctionVariable): string {
  const name = FUNCTION_ENV[variable];
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** A whole number of seconds the stack may set; undefined when it is unset or not a non-negative number. */
export function secondsEnv(variable: FunctionVariable): number | undefined {
  const text = process.env[FUNCTION_ENV[variable]];
  const seconds = text === undefined || text === '' ? Number.NaN : Number(text);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/** A variable the stack may leave unset; undefined when it is unset or empty. */
export function optionalEnv(variable: FunctionVariable): string | undefined {
  return process.env[FUNCTION_ENV[variable]] || undefined;
}

/** The function's name as Lambda sets it (AWS_LAMBDA_FUNCTION_NAME; local mode sets its logical id). */
export function functionName(): string {
  return process.env.AWS_LAMBDA_FUNCTION_NAME || 'unknown-function';
}

/** The callback address policy this function was deployed with; fails closed to `public` unless it says `loopback`. */
export function callbackNetwork(): CallbackNetwork {
  return optionalEnv('callbackNetwork') === 'loopback' ? 'loopback' : 'public';
}
