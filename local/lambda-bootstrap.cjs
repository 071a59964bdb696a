'use strict';
/**
 * One Lambda execution environment of local mode (see ./lambda.ts): a process of its own that loads one function's
 * handler once (its init) and then runs one invocation at a time, as Lambda's Node.js runtime does. Local mode sends
 * each invocation over IPC with the Lambda context's fields and its deadline; the answer goes back the same way. The
 * process has exactly the environment local mode gives it, and local mode ends it (a timeout, a reload, a stop).
 *
 * Plain CommonJS, so a bundle runs on bare `node` with nothing of the project's tooling loaded.
 */
const { pathToFileURL } = require('node:url');

const [file, exportName] = process.argv.slice(2);
let handler;
let current;

// Local mode stops its environments itself; a Ctrl-C in the terminal reaches the whole process group.
process.on('SIGINT', () => {});
process.on('disconnect', () => process.exit(0));

function errorOf(err, fallbackType) {
  if (err instanceof Error) {
    return { errorType: err.name || fallbackType, errorMessage: err.message, trace: String(err.stack || '').split('\n') };
  }
  return { errorType: fallbackType, errorMessage: typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err)), trace: [] };
}

// What Lambda's Node.js runtime does with an error no invocation caught: it fails the invocation and the environment.
function fatal(err, type) {
  const error = errorOf(err, type);
  if (type === 'Runtime.UnhandledPromiseRejection') error.errorType = type;
  if (current !== undefined) process.send({ t: 'done', id: current, ok: false, ...error });
  else process.send({ t: 'init-error', ...error });
  process.exitCode = 1;
  setImmediate(() => process.exit(1));
}
process.on('uncaughtException', (err) => fatal(err, 'Error'));
process.on('unhandledRejection', (err) => fatal(err, 'Runtime.UnhandledPromiseRejection'));

async function init() {
  let module;
  try {
    module = file.endsWith('.ts') ? await import(pathToFileURL(file).href) : require(file);
  } catch (err) {
    const error = errorOf(err, 'Runtime.ImportModuleError');
    if (err && (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_MODULE_NOT_FOUND')) error.errorType = 'Runtime.ImportModuleError';
    process.send({ t: 'init-error', ...error });
    return;
  }
  handler = module[exportName] ?? module.default?.[exportName];
  if (typeof handler !== 'function') {
    process.send({ t: 'init-error', errorType: 'Runtime.HandlerNotFound', errorMessage: `${file}.${exportName} is undefined or not exported`, trace: [] });
    return;
  }
  process.send({ t: 'ready' });
}

process.on('message', async (message) => {
  if (message?.t !== 'invoke') return;
  const { id, event, context: fields } = message;
  current = id;
  const deadline = fields.deadline;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fields.functionName,
    functionVersion: fields.functionVersion,
    invokedFunctionArn: fields.invokedFunctionArn,
    memoryLimitInMB: fields.memoryLimitInMB,
    awsRequestId: fields.awsRequestId,
    logGroupName: fields.logGroupName,
    logStreamName: fields.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await handler(event, context);
    // Lambda answers the JSON of the result; `undefined` is null.
    process.send({ t: 'done', id, ok: true, result: result === undefined ? null : result });
  } catch (err) {
    process.send({ t: 'done', id, ok: false, ...errorOf(err, 'Error') });
  } finally {
    current = undefined;
  }
});

void init();
