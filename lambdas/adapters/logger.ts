/**
 * The one logger of every function: Powertools for AWS Lambda's Logger, writing one JSON object a line to stdout
 * (stderr for errors). Every line carries `level`, `message`, `timestamp` and `service` (`countersign`); once a handler
 * called `startInvocation`, the Lambda context's `function_name`, `function_request_id` (the AWS request id),
 * `cold_start`, `function_arn` and `function_memory_size`; and, when the invocation is about one request,
 * `correlation_id`: the Countersign request id (`act_…`). docs/design.md "Logs" says what may go in a line.
 *
 * The level is `POWERTOOLS_LOG_LEVEL` (or `LOG_LEVEL`), INFO when unset; `POWERTOOLS_LOGGER_SAMPLE_RATE` (0 to 1)
 * logs DEBUG for that share of invocations. The stack sets both (lib/countersign.ts `logLevel`, `logSampleRate`).
 *
 * Nothing secret goes into a line: no review token or link, task token, API key, Slack or OIDC secret, cookie,
 * session, CSRF token, receipt or parameter value. Errors are logged by `errorName` (the class and code), never by
 * their message, which may quote what failed; only an error no code path expected keeps its message.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { REQUEST_ID_PATTERN } from '../core/request';

export const SERVICE_NAME = 'countersign';

/** The logger. Handlers start each invocation with `startInvocation`; everything else only logs. */
export const logger = new Logger({ serviceName: SERVICE_NAME });

/** What the logger takes of the Lambda context. A direct call (a test) may pass less, or none. */
export interface LogContext {
  readonly functionName?: string;
  readonly functionVersion?: string;
  readonly invokedFunctionArn?: string;
  readonly memoryLimitInMB?: string;
  readonly awsRequestId?: string;
}

/**
 * Starts an invocation's lines: drops whatever keys the previous invocation in this environment appended (its
 * correlation id among them), takes this invocation's context, makes this invocation's debug-sampling decision, and
 * sets the correlation id when the event names a request.
 */
export function startInvocation(context: LogContext | undefined, requestId?: string): void {
  logger.resetKeys();
  // Always set, so a call without a context never shows the previous invocation's request id.
  logger.addContext({
    functionName: context?.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME ?? '',
    functionVersion: context?.functionVersion ?? '',
    invokedFunctionArn: context?.invokedFunctionArn ?? '',
    memoryLimitInMB: context?.memoryLimitInMB ?? '',
    awsRequestId: context?.awsRequestId ?? '',
  } as Parameters<Logger['addContext']>[0]);
  logger.refreshSampleRateCalculation();
  correlate(requestId);
}

/**
 * The Countersign request this invocation is about, as `correlation_id` on its lines from here on. Only a well-formed
 * request id is taken (an id from a URL path is the caller's text until then).
 */
export function correlate(requestId: string | undefined): void {
  if (requestId !== undefined && REQUEST_ID_PATTERN.test(requestId)) logger.setCorrelationId(requestId);
}

/** Ends an invocation's lines: its appended keys go, so none reaches the next invocation's. */
export function endInvocation(): void {
  logger.resetKeys();
}

/**
 * Wraps a handler: `startInvocation` before it (with the request id `requestIdOf` finds in the event), `endInvocation`
 * after it, whether it answered or threw.
 */
export function logged<E, C extends LogContext, R>(
  handler: (event: E, context?: C) => Promise<R>,
  requestIdOf: (event: E) => string | undefined = () => undefined,
): (event: E, context?: C) => Promise<R> {
  return async (event, context) => {
    startInvocation(context, requestIdOf(event));
    try {
      return await handler(event, context);
    } finally {
      endInvocation();
    }
  };
}

/** The `requestId` field of a Step Functions task's input, if it has one. */
export function taskRequestId(event: unknown): string | undefined {
  const id = (event as { requestId?: unknown } | null)?.requestId;
  return typeof id === 'string' ? id : undefined;
}

/** What a line says of an error: its class (and code, for Node's system errors), never its message. */
export function errorName(err: unknown): string {
  if (err instanceof Error) return `${err.name}${'code' in err && typeof err.code === 'string' ? ` ${err.code}` : ''}`;
  return typeof err;
}
