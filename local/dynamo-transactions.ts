/**
 * dynalite with TransactWriteItems. dynalite 4 has no transactions; the ledger writes several records at once with
 * one (all or none, each `attribute_not_exists`). This server stands in front of dynalite, forwards every call, and
 * runs a TransactWriteItems of Puts itself: each Put in turn with its condition, and on the first that fails the ones
 * done are undone (the old item put back, or the new one deleted) and the answer is the TransactionCanceledException
 * AWS gives, with its CancellationReasons. Writes to the same partition (PutItem, UpdateItem, DeleteItem and the
 * transactions) take a lock on it, so no other write sees or lands between a transaction's Puts, as on AWS. Reads are
 * not locked: a Query may see part of a transaction in flight, which AWS allows too (Query is read-committed against
 * transactions). A ClientRequestToken that succeeded answers success again for ten minutes, as AWS does.
 */
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

type Json = Record<string, unknown>;
interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const TARGET_PREFIX = 'DynamoDB_20120810.';
const CONTENT_TYPE = 'application/x-amz-json-1.0';
const TOKEN_LIFETIME_MS = 10 * 60_000;
const LOCKED_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

/** A server answering DynamoDB calls by dynalite at `upstream` (its URL), plus TransactWriteItems of Puts. */
export function dynamoWithTransactions(upstream: string): Server {
  const target = new URL(upstream);
  const keySchemas = new Map<string, Promise<{ hash: string; range?: string }>>();
  const locks = new Map<string, Promise<void>>();
  const tokens = new Map<string, number>();

  const call = (operation: string, body: Buffer | string, headers: IncomingHttpHeaders): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const payload = typeof body === 'string' ? Buffer.from(body) : body;
      const forward = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: 'POST',
          path: '/',
          headers: { ...headers, 'x-amz-target': `${TARGET_PREFIX}${operation}`, 'content-length': payload.length },
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }));
          answer.on('error', reject);
        },
      );
      forward.on('error', reject);
      forward.end(payload);
    });

  const keySchema = (table: string, headers: IncomingHttpHeaders) => {
    let known = keySchemas.get(table);
    if (!known) {
      known = call('DescribeTable', JSON.stringify({ TableName: table }), headers).then((answer) => {
        if (answer.status !== 200) throw new Error(`DescribeTable ${table}: ${answer.body.toString()}`);
        const schema = (JSON.parse(answer.body.toString()) as { Table: { KeySchema: Array<{ AttributeName: string; KeyType: string }> } }).Table.KeySchema;
        const range = schema.find((k) => k.KeyType === 'RANGE')?.AttributeName;
        return { hash: schema.find((k) => k.KeyType === 'HASH')!.AttributeName, ...(range ? { range } : {}) };
      });
      known.catch(() => keySchemas.delete(table));
      keySchemas.set(table, known);
    }
    return known;
  };

  /** Runs `work` holding the locks of `names` (taken in order, so two holders never wait on each other). */
  const withLocks = async <T>(names: string[], work: () => Promise<T>): Promise<T> => {
    const sorted = [...new Set(names)].sort();
    const releases: Array<() => void> = [];
    for (const name of sorted) {
      const before = locks.get(name) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((resolve) => {
        release = resolve;
      });
      const chained = before.then(() => mine);
      locks.set(name, chained);
      releases.push(() => {
        release();
        if (locks.get(name) === chained) locks.delete(name);
      });
      await before;
    }
    try {
      return await work();
    } finally {
      for (const release of releases) release();
    }
  };

  const partitionOf = async (table: string, item: Json | undefined, headers: IncomingHttpHeaders) => {
    const { hash } = await keySchema(table, headers);
    return `${table}\u0000${JSON.stringify(item?.[hash] ?? null)}`;
  };

  const transactWrite = async (input: Json, headers: IncomingHttpHeaders): Promise<{ status: number; body: Json }> => {
    const token = typeof input.ClientRequestToken === 'string' ? input.ClientRequestToken : undefined;
    const now = Date.now();
    for (const [t, at] of tokens) if (now - at > TOKEN_LIFETIME_MS) tokens.delete(t);
    if (token && tokens.has(token)) return { status: 200, body: {} };
    const items = (Array.isArray(input.TransactItems) ? input.TransactItems : []) as Json[];
    const puts = items.map((entry) => entry.Put as Json | undefined);
    if (items.length === 0 || items.length > 100 || puts.some((p) => !p)) {
      return validation('local mode runs TransactWriteItems of 1 to 100 Put actions only');
    }
    const partitions = await Promise.all(puts.map((p) => partitionOf(String(p!.TableName), p!.Item as Json, headers)));
    return withLocks(partitions, async () => {
      const done: Array<{ put: Json; old: Json | undefined }> = [];
      for (const [index, put] of (puts as Json[]).entries()) {
        const answer = await call('PutItem', JSON.stringify({ ...put, ReturnValues: 'ALL_OLD' }), headers);
        const body = JSON.parse(answer.body.toString() || '{}') as Json;
        if (answer.status === 200) {
          done.push({ put, old: body.Attributes as Json | undefined });
          continue;
        }
        for (const { put: undo, old } of done.reverse()) {
          const table = String(undo.TableName);
          if (old) await call('PutItem', JSON.stringify({ TableName: table, Item: old }), headers);
          else {
            const { hash, range } = await keySchema(table, headers);
            const item = undo.Item as Json;
            await call('DeleteItem', JSON.stringify({ TableName: table, Key: { [hash]: item[hash], ...(range ? { [range]: item[range] } : {}) } }), headers);
          }
        }
        const type = String(body.__type ?? '');
        if (!type.endsWith('ConditionalCheckFailedException')) return { status: answer.status, body };
        const reasons = puts.map((_, i) => (i === index ? { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' } : { Code: 'None' }));
        return {
          status: 400,
          body: {
            __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
            message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
            CancellationReasons: reasons,
          },
        };
      }
      if (token) tokens.set(token, Date.now());
      return { status: 200, body: {} };
    });
  };

  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '').replace(TARGET_PREFIX, '');
      const { host: _host, 'content-length': _length, ...headers } = req.headers;
      const reply = (answer: { status: number; headers?: IncomingHttpHeaders; body: Buffer | Json }) => {
        const payload = Buffer.isBuffer(answer.body) ? answer.body : Buffer.from(JSON.stringify(answer.body));
        const type = Buffer.isBuffer(answer.body) ? undefined : (answer.body.__type as string | undefined);
        res.writeHead(answer.status, {
          ...(answer.headers ?? { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID() }),
          ...(type ? { 'x-amzn-errortype': type.split('#').pop() } : {}),
          'content-length': payload.length,
        });
        res.end(payload);
      };
      const fail = (err: unknown) => reply({ status: 500, body: { __type: 'InternalServerError', message: String((err as Error).message) } });
      let input: Json | undefined;
      if (operation === 'TransactWriteItems' || LOCKED_WRITES.has(operation)) {
        try {
          input = JSON.parse(body.toString() || '{}') as Json;
        } catch {
          input = undefined; // dynalite answers the malformed body
        }
      }
      if (operation === 'TransactWriteItems' && input) {
        transactWrite(input, headers).then(reply, fail);
        return;
      }
      const forward = () => call(operation, body, headers);
      const work =
        input && typeof input.TableName === 'string'
          ? partitionOf(input.TableName, (input.Item ?? input.Key) as Json | undefined, headers).then(
              (partition) => withLocks([partition], forward),
              () => forward(), // no such table: dynalite answers it
            )
          : forward();
      work.then(reply, fail);
    });
  });
}

function validation(message: string): { status: number; body: Json } {
  return { status: 400, body: { __type: 'com.amazon.coral.validate#ValidationException', message } };
}
