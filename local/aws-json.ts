/**
 * Server side of the AWS JSON protocols (awsJson1_0 for Step Functions, awsJson1_1 for KMS): one POST per call,
 * the operation in `X-Amz-Target: <Service>.<Operation>`, JSON in and out, errors as `{"__type", "message"}`.
 * Both local endpoints use this so they answer the real SDK v3 clients the way AWS does.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import { guardLoopbackHost } from './loopback';

/** An error the SDK client turns into the service exception named by `type` (e.g. `NotFoundException`). */
export class AwsServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

export type AwsOperation = (input: unknown) => Promise<unknown> | unknown;

export interface AwsJsonServiceOptions {
  /** Target prefix, e.g. `TrentService` or `AWSStepFunctions`. */
  readonly targetPrefix: string;
  /** `application/x-amz-json-1.0` or `-1.1`. */
  readonly contentType: string;
  readonly operations: Readonly<Record<string, AwsOperation>>;
  /** Largest request body accepted, in bytes. @default 1 MiB */
  readonly maxBodyBytes?: number;
}

/** Parses `input` with `schema`, answering a `ValidationException` that names each bad field, as AWS does. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
  throw new AwsServiceError('ValidationException', `${problems.length} validation error(s): ${problems.join('; ')}`);
}

function send(res: ServerResponse, status: number, contentType: string, body: unknown): void {
  const text = JSON.stringify(body ?? {});
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}

function sendError(res: ServerResponse, contentType: string, err: AwsServiceError): void {
  res.setHeader('x-amzn-errortype', err.type);
  send(res, err.status, contentType, { __type: err.type, message: err.message });
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new AwsServiceError('ValidationException', `request body exceeds ${limit} bytes`, 413);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A request listener that dispatches AWS JSON-protocol calls to `operations`. */
export function awsJsonHandler(options: AwsJsonServiceOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const limit = options.maxBodyBytes ?? 1024 * 1024;
  return (req, res) => {
    void (async () => {
      try {
        if (req.method !== 'POST') throw new AwsServiceError('UnknownOperationException', 'only POST is supported');
        const target = String(req.headers['x-amz-target'] ?? '');
        const [prefix, operationName] = target.split('.');
        const operation = prefix === options.targetPrefix && operationName ? options.operations[operationName] : undefined;
        if (!operation || !Object.hasOwn(options.operations, operationName ?? '')) {
          throw new AwsServiceError('UnknownOperationException', `operation ${target || '(none)'} is not supported`);
        }
        const raw = await readBody(req, limit);
        let input: unknown;
        try {
          input = raw.length === 0 ? {} : JSON.parse(raw);
        } catch {
          throw new AwsServiceError('SerializationException', 'request body is not valid JSON');
        }
        const output = await operation(input);
        send(res, 200, options.contentType, output);
      } catch (err) {
        if (err instanceof AwsServiceError) return sendError(res, options.contentType, err);
        console.error(`[local ${options.targetPrefix}] internal error:`, err);
        sendError(res, options.contentType, new AwsServiceError('InternalFailure', 'internal error in the local endpoint', 500));
      }
    })();
  };
}

/**
 * Listens on 127.0.0.1 (port 0 picks a free one) and resolves the base URL. The server then answers only requests
 * whose `Host` names loopback (see ./loopback.ts): a web page reaching it through DNS rebinding gets nothing. Unless
 * `browsers` is set (the gateway, whose pages people open), it also refuses every request a web page sends.
 */
export async function listenLoopback(server: Server, port = 0, options: { readonly browsers?: boolean } = {}): Promise<string> {
  guardLoopbackHost(server, { browsers: options.browsers ?? false });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

export { createServer };

/**
 * A local AWS endpoint served on loopback: `handler` answers its requests, `listen` and `close` start and stop it.
 * The local KMS and Secrets Manager extend it.
 */
export abstract class LoopbackEndpoint {
  abstract readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  private server: Server | undefined;

  async listen(port = 0): Promise<string> {
    if (this.server) throw new Error(`${this.constructor.name} is already listening`);
    this.server = createServer(this.handler);
    return listenLoopback(this.server, port);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await closeServer(server);
  }
}
