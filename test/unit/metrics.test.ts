/**
 * Countersign's metrics: the EMF documents the functions print, checked member by member against CloudWatch's
 * "Specification: Embedded metric format", and what each use case records where things happen (memory ports).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { countsAsFailure } from '../../lambdas/adapters/dependency-metrics';
import { type HttpEvent, routeHandler } from '../../lambdas/adapters/http';
import { emfMetrics, withMetrics } from '../../lambdas/adapters/metrics';
import { type AskInput, askForAction } from '../../lambdas/app/ask';
import { writeCheckpoints } from '../../lambdas/app/checkpoint';
import { finalizeRequest, tellRequester } from '../../lambdas/app/finalize';
import { notifyApprovers, wakeRequest } from '../../lambdas/app/notify';
import { cancelAction } from '../../lambdas/app/read';
import { repairPending } from '../../lambdas/app/repair';
import { castVote } from '../../lambdas/app/vote';
import type { Checkpoint } from '../../lambdas/core/checkpoint';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { CountersignError } from '../../lambdas/core/errors';
import { type EmfDocument, emfDocuments, METRIC_NAMESPACE, METRICS, type MetricPoint } from '../../lambdas/core/metrics';
import { parseEmfLine } from '../../local/metrics';
import { MemoryLeases, type MemoryPorts, memoryPorts } from '../fixtures/memory-ports';

const UNITS = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Count',
  'Percent',
  'None',
]);

/**
 * The specification's rules for one document: the root holds `_aws` with `Timestamp` (ms since the epoch) and
 * `CloudWatchMetrics`, an array of directives; a directive has exactly `Namespace`, `Dimensions` (arrays of at most 30
 * member names, each a string member of the root) and `Metrics` (at most 100, each `Name` a root member holding a
 * number or an array of at most 100 numbers, `Unit` a CloudWatch unit). Answers what breaks a rule.
 */
function emfProblems(doc: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const aws = doc._aws as Record<string, unknown> | undefined;
  if (!aws || typeof aws !== 'object') return ['no _aws object'];
  if (Object.keys(aws).sort().join() !== 'CloudWatchMetrics,Timestamp') problems.push(`_aws members ${Object.keys(aws)}`);
  if (typeof aws.Timestamp !== 'number' || !Number.isInteger(aws.Timestamp) || aws.Timestamp <= 0) problems.push('Timestamp is not epoch ms');
  const directives = aws.CloudWatchMetrics;
  if (!Array.isArray(directives) || directives.length === 0) return [...problems, 'CloudWatchMetrics is not a non-empty array'];
  for (const directive of directives as Array<Record<string, unknown>>) {
    if (Object.keys(directive).sort().join() !== 'Dimensions,Metrics,Namespace') problems.push(`directive members ${Object.keys(directive)}`);
    if (typeof directive.Namespace !== 'string' || directive.Namespace.length < 1 || directive.Namespace.length > 1024) problems.push('Namespace');
    const sets = directive.Dimensions as unknown[];
    if (!Array.isArray(sets) || sets.length === 0) problems.push('Dimensions is not a non-empty array');
    for (const set of sets ?? []) {
      if (!Array.isArray(set) || set.length > 30) problems.push(`dimension set ${JSON.stringify(set)}`);
      for (const name of set as unknown[]) {
        const value = doc[name as string];
        if (typeof value !== 'string' || value.length < 1 || value.length > 1024) problems.push(`dimension ${String(name)} has no string value`);
      }
    }
    const metrics = directive.Metrics as Array<Record<string, unknown>>;
    if (!Array.isArray(metrics) || metrics.length === 0 || metrics.length > 100) problems.push('Metrics is not 1 to 100 definitions');
    for (const metric of metrics ?? []) {
      if (Object.keys(metric).some((k) => !['Name', 'Unit', 'StorageResolution'].includes(k))) problems.push(`metric members ${Object.keys(metric)}`);
      if (typeof metric.Name !== 'string' || metric.Name.length < 1 || metric.Name.length > 1024) problems.push('metric Name');
      if (metric.Unit !== undefined && !UNITS.has(metric.Unit as string)) problems.push(`unit ${String(metric.Unit)}`);
      const value = doc[metric.Name as string];
      const values = Array.isArray(value) ? value : [value];
      if (values.length > 100 || values.some((v) => typeof v !== 'number' || !Number.isFinite(v)))
        problems.push(`${String(metric.Name)} value ${JSON.stringify(value)}`);
    }
  }
  return problems;
}

const point = (key: MetricPoint['key'], dimensions: Record<string, string>, value = 1): MetricPoint => ({ key, dimensions, value });

describe('EMF documents', () => {
  it('follow the specification: every metric under its dimensions and without them, at the timestamp given', () => {
    const docs = emfDocuments(
      [
        point('requests', { Effect: 'require_approval', Rule: 'exports' }),
        point('decisions', { Outcome: 'approved' }),
        point('timeToDecision', { Rule: 'exports' }, 1500),
        point('reminders', {}),
        point('httpResponses', { Route: 'POST /v1/actions', StatusClass: '2xx' }),
      ],
      1_800_000_000_000,
    );
    expect(docs).toHaveLength(1);
    const [doc] = docs as [EmfDocument];
    expect(emfProblems(doc)).toEqual([]);
    expect(doc).toEqual({
      _aws: {
        Timestamp: 1_800_000_000_000,
        CloudWatchMetrics: [
          { Namespace: 'Countersign', Dimensions: [['Effect', 'Rule'], []], Metrics: [{ Name: 'Requests', Unit: 'Count' }] },
          { Namespace: 'Countersign', Dimensions: [['Outcome'], []], Metrics: [{ Name: 'Decisions', Unit: 'Count' }] },
          { Namespace: 'Countersign', Dimensions: [['Rule'], []], Metrics: [{ Name: 'TimeToDecision', Unit: 'Milliseconds' }] },
          { Namespace: 'Countersign', Dimensions: [[]], Metrics: [{ Name: 'Reminders', Unit: 'Count' }] },
          { Namespace: 'Countersign', Dimensions: [['Route', 'StatusClass'], []], Metrics: [{ Name: 'HttpResponses', Unit: 'Count' }] },
        ],
      },
      Effect: 'require_approval',
      Rule: 'exports',
      Requests: 1,
      Outcome: 'approved',
      Decisions: 1,
      TimeToDecision: 1500,
      Reminders: 1,
      Route: 'POST /v1/actions',
      StatusClass: '2xx',
      HttpResponses: 1,
    });
  });

  it('sums counts, keeps durations as samples, and splits what one document cannot hold', () => {
    const docs = emfDocuments(
      [
        point('notificationsSent', { Channel: 'email' }, 2),
        point('notificationsSent', { Channel: 'email' }),
        point('notificationsSent', { Channel: 'slack' }),
        point('notificationsFailed', { Channel: 'slack' }),
        point('timeToDecision', { Rule: 'exports' }, 10),
        point('timeToDecision', { Rule: 'exports' }, 20),
        point('checkpointLag', {}, Number.NaN),
      ],
      1,
    );
    for (const doc of docs) expect(emfProblems(doc)).toEqual([]);
    // Channel=email and Channel=slack cannot share a document: two lines, the second taking what fits.
    expect(docs.map(({ _aws, ...members }) => members)).toEqual([
      { Channel: 'email', NotificationsSent: 3, Rule: 'exports', TimeToDecision: [10, 20] },
      { Channel: 'slack', NotificationsSent: 1, NotificationsFailed: 1 },
    ]);
    // 150 samples: two documents, each within EMF's 100 values.
    const many = emfDocuments(
      Array.from({ length: 150 }, (_, i) => point('timeToDecision', { Rule: 'r' }, i)),
      1,
    );
    expect(many.map((d) => (d.TimeToDecision as number[]).length)).toEqual([100, 50]);
    expect(emfDocuments([], 1)).toEqual([]);
  });

  it('gives every metric of the catalogue a valid document, and a blank dimension value a placeholder', () => {
    const points = Object.entries(METRICS).map(([key, def]) =>
      point(key as MetricPoint['key'], Object.fromEntries(def.dimensions.map((d) => [d, d === 'Rule' ? ' ' : 'x'])), 1),
    );
    const docs = emfDocuments(points, 5);
    for (const doc of docs) expect(emfProblems(doc)).toEqual([]);
    const names = docs.flatMap((d) => d._aws.CloudWatchMetrics.flatMap((c) => c.Metrics.map((m) => m.Name)));
    expect(names.sort()).toEqual(
      Object.values(METRICS)
        .map((m) => m.name)
        .sort(),
    );
    expect(docs.every((d) => d._aws.CloudWatchMetrics.every((c) => c.Namespace === METRIC_NAMESPACE))).toBe(true);
    expect(docs.find((d) => 'Rule' in d)?.Rule).toBe('none');
  });

  it('are not read (local mode) when their timestamp is no time a Date can hold, and never throw', () => {
    for (const Timestamp of [1e300, -1e300, 1.5, Number.NaN, '1']) {
      const line = JSON.stringify({
        _aws: { Timestamp, CloudWatchMetrics: [{ Namespace: 'Countersign', Dimensions: [[]], Metrics: [{ Name: 'A', Unit: 'Count' }] }] },
        A: 1,
      });
      expect(parseEmfLine(line), String(Timestamp)).toEqual([]);
    }
  });

  it('parse back (local mode) into the data points CloudWatch extracts: one per dimension set', () => {
    const [doc] = emfDocuments([point('notificationsFailed', { Channel: 'slack' }, 2)], 42);
    expect(parseEmfLine(JSON.stringify(doc))).toEqual([
      { namespace: 'Countersign', name: 'NotificationsFailed', unit: 'Count', dimensions: { Channel: 'slack' }, values: [2], timestamp: 42 },
      { namespace: 'Countersign', name: 'NotificationsFailed', unit: 'Count', dimensions: {}, values: [2], timestamp: 42 },
    ]);
    expect(parseEmfLine('{"level":"info","message":"not a metric"}')).toEqual([]);
    expect(parseEmfLine('not json')).toEqual([]);
  });
});

describe('the EMF adapter', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints what an invocation recorded once, as it ends, even when the handler throws', async () => {
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (printed.push(String(chunk)), true));
    const handler = withMetrics(async (fail: boolean) => {
      emfMetrics.count('expiries', {});
      emfMetrics.count('decisions', { Outcome: 'expired' });
      if (fail) throw new Error('boom');
      return 'ok';
    });
    expect(await handler(false)).toBe('ok');
    await expect(handler(true)).rejects.toThrow('boom');
    await handler(false).then(() => emfMetrics.flush()); // nothing left: prints nothing more
    const lines = printed.join('').trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      const doc = JSON.parse(line) as EmfDocument;
      expect(emfProblems(doc)).toEqual([]);
      expect(doc).toMatchObject({ Expiries: 1, Decisions: 1, Outcome: 'expired' });
    }
  });

  it('counts each HTTP answer by route key and status class', async () => {
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (printed.push(String(chunk)), true));
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const handler = routeHandler({
      'GET /ok': async () => ({ statusCode: 200, body: '' }),
      'GET /missing': async () => {
        throw new CountersignError('not_found', 'no such thing');
      },
      'GET /bug': async () => {
        throw new Error('bug');
      },
    });
    const event = (routeKey: string) => ({ routeKey, requestContext: {} }) as unknown as HttpEvent;
    for (const key of ['GET /ok', 'GET /missing', 'GET /bug', 'GET /nowhere']) await handler(event(key));
    const docs = printed.map((line) => JSON.parse(line) as EmfDocument);
    for (const doc of docs) expect(emfProblems(doc)).toEqual([]);
    expect(docs.map((d) => [d.Route, d.StatusClass, d.HttpResponses])).toEqual([
      ['GET /ok', '2xx', 1],
      ['GET /missing', '4xx', 1],
      ['GET /bug', '5xx', 1],
      // A route key no route has (API Gateway's `$default`): one name for all, not the caller's text.
      ['$default', '4xx', 1],
    ]);
  });
});

const AGENT = 'arn:aws:iam::111122223333:role/agent';
const config = parseConfig(`
version: 1
groups:
  owners:
    members:
      - { id: alice@example.com, email: alice@example.com, slackUserId: U0ALICE }
      - { id: bob@example.com, email: bob@example.com }
  security:
    members:
      - { id: carol@example.com, email: carol@example.com }
rules:
  - { name: reads, match: { action: "*.read" }, effect: allow }
  - { name: drops, match: { action: "db.drop" }, effect: deny, reason: never }
  - { name: exports, match: { action: data.export }, effect: require_approval, approvers: [owners], timeout: 1h, remindAfter: 10m, escalateAfter: 20m, escalateTo: [security] }
default: { effect: require_approval, approvers: [owners], timeout: 1h }
channels:
  email: { from: countersign@example.com }
  slack: { botToken: env:SLACK_BOT_TOKEN, signingSecret: env:SLACK_SIGNING_SECRET }
`);

const ask = (ports: MemoryPorts, request: AskInput['request'], more: Partial<AskInput> = {}) =>
  askForAction(ports, { requester: AGENT, request, callbackNetwork: 'public', ...more });
const vote = (ports: MemoryPorts, id: string, approver: string, decision: 'approve' | 'deny' = 'approve') =>
  castVote(ports, id, { approver, via: 'decision_api', signedIn: true }, { decision });
const recorded = (ports: MemoryPorts) => ports.metrics.points.map((p) => [p.key, p.dimensions, p.value]);

describe('dependency failures', () => {
  const named = (name: string, status = 400) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

  it('count every KMS error but a MAC or signature that does not verify: a disabled key is a 400, and a failure', () => {
    for (const name of ['DisabledException', 'KMSInvalidStateException', 'AccessDeniedException', 'NotFoundException', 'ThrottlingException']) {
      expect(countsAsFailure('kms', named(name)), name).toBe(true);
    }
    for (const name of ['KMSInvalidMacException', 'KMSInvalidSignatureException']) expect(countsAsFailure('kms', named(name)), name).toBe(false);
  });

  it("count another service's errors as the API classifies a backing service failing", () => {
    expect(countsAsFailure('dynamodb', named('ConditionalCheckFailedException'))).toBe(false);
    expect(countsAsFailure('dynamodb', named('ProvisionedThroughputExceededException'))).toBe(true);
    expect(countsAsFailure('dynamodb', named('InternalServerError', 500))).toBe(true);
  });
});

describe('where the use cases record', () => {
  it('a full approval: the request, its notifications, the decision and how long it took', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' }, { idempotencyKey: 'k1' });
    // A retry with the same key lands on the same request: counted once.
    await ask(ports, { action: 'data.export' }, { idempotencyKey: 'k1' });
    expect(recorded(ports)).toEqual([['requests', { Effect: 'require_approval', Rule: 'exports' }, 1]]);
    ports.metrics.clear();
    await notifyApprovers(ports, state.id, 'token', Number.MAX_SAFE_INTEGER);
    expect(recorded(ports)).toEqual([
      ['notificationsSent', { Channel: 'email' }, 2],
      ['notificationsSent', { Channel: 'slack' }, 1],
    ]);
    ports.metrics.clear();
    ports.clock.advance(90_000);
    await vote(ports, state.id, 'alice@example.com');
    await vote(ports, state.id, 'alice@example.com'); // a repeat records nothing new
    expect(recorded(ports)).toEqual([
      ['decisions', { Outcome: 'approved' }, 1],
      ['timeToDecision', { Rule: 'exports' }, 90_000],
    ]);
    ports.metrics.clear();
    await finalizeRequest(ports, state.id, undefined); // the workflow's last step finds the outcome recorded
    expect(recorded(ports)).toEqual([]);
  });

  it('policy decisions count the request and the decision, never a time to decision', async () => {
    const ports = memoryPorts(config);
    await ask(ports, { action: 'users.read' });
    await ask(ports, { action: 'db.drop' });
    expect(recorded(ports)).toEqual([
      ['requests', { Effect: 'allow', Rule: 'reads' }, 1],
      ['decisions', { Outcome: 'approved' }, 1],
      ['requests', { Effect: 'deny', Rule: 'drops' }, 1],
      ['decisions', { Outcome: 'denied' }, 1],
    ]);
  });

  it('a cancel, an expiry by the workflow and one by the repair job', async () => {
    const ports = memoryPorts(config);
    const cancelled = await ask(ports, { action: 'data.export' });
    const expired = await ask(ports, { action: 'data.export' });
    await ask(ports, { action: 'data.export' });
    ports.metrics.clear();
    await cancelAction(ports, AGENT, cancelled.state.id);
    await finalizeRequest(ports, expired.state.id, { Error: 'States.Timeout' });
    expect(recorded(ports)).toEqual([
      ['decisions', { Outcome: 'cancelled' }, 1],
      ['decisions', { Outcome: 'expired' }, 1],
      ['expiries', {}, 1],
    ]);
    ports.metrics.clear();
    // The third one's workflow never expired it: past its deadline (and the grace) the repair job does.
    ports.clock.advance(2 * 3_600_000);
    await repairPending(ports, { stopAt: Number.MAX_SAFE_INTEGER, graceMs: 60_000, onFailure: () => {} });
    expect(ports.metrics.total('repairActions', { Kind: 'expired' })).toBe(1);
    expect(ports.metrics.total('expiries')).toBe(1);
    expect(ports.metrics.total('decisions', { Outcome: 'expired' })).toBe(1);
  });

  it('failed notifications by channel, reminders and escalations', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'data.export' });
    ports.outbox.fail = (m) => (m.channel === 'slack' ? new Error('invalid_auth') : undefined);
    await notifyApprovers(ports, state.id, 'token', Number.MAX_SAFE_INTEGER);
    expect(ports.metrics.total('notificationsSent', { Channel: 'email' })).toBe(2);
    expect(ports.metrics.total('notificationsFailed', { Channel: 'slack' })).toBe(1);
    ports.outbox.fail = () => undefined;
    ports.metrics.clear();
    ports.clock.advance(11 * 60_000);
    await wakeRequest(ports, state.id, Number.MAX_SAFE_INTEGER);
    expect(ports.metrics.total('reminders')).toBe(1);
    ports.clock.advance(10 * 60_000);
    await wakeRequest(ports, state.id, Number.MAX_SAFE_INTEGER);
    expect(ports.metrics.total('escalations')).toBe(1);
  });

  it('callback failures, and checkpoints with their lag', async () => {
    const ports = memoryPorts(config);
    const { state } = await ask(ports, { action: 'users.read', callbackUrl: 'https://hooks.example.com/cs' });
    const failing = {
      send: async () => {
        throw new Error('callback answered 503');
      },
    };
    await expect(tellRequester(ports, { sender: failing, network: 'public' }, state.id, () => {})).rejects.toThrow('503');
    expect(ports.metrics.total('callbackFailures')).toBe(1);

    ports.metrics.clear();
    const until = new Date(ports.clock.now().getTime() - 75_000).toISOString();
    const first = { seq: 1, until, count: 3, total: 3 } as Checkpoint;
    const checkpoints = {
      run: async ({ onWritten }: { onWritten?: (c: Checkpoint) => void }) => {
        onWritten?.(first);
        return [first];
      },
    };
    await writeCheckpoints({ clock: ports.clock, metrics: ports.metrics, checkpoints, leases: new MemoryLeases() }, { settleSeconds: 60, remainingMs: 60_000 });
    expect(recorded(ports)).toEqual([
      ['checkpointsWritten', {}, 1],
      ['checkpointLag', {}, 75],
    ]);

    // A run that fails after writing one still publishes it: the no-checkpoint alarm must not fire on written work.
    ports.metrics.clear();
    const failingAfterOne = {
      run: async ({ onWritten }: { onWritten?: (c: Checkpoint) => void }) => {
        onWritten?.(first);
        throw new Error('ProvisionedThroughputExceededException');
      },
    };
    await expect(
      writeCheckpoints(
        { clock: ports.clock, metrics: ports.metrics, checkpoints: failingAfterOne, leases: new MemoryLeases() },
        { settleSeconds: 60, remainingMs: 60_000 },
      ),
    ).rejects.toThrow('Provisioned');
    expect(recorded(ports)).toEqual([
      ['checkpointsWritten', {}, 1],
      ['checkpointLag', {}, 75],
    ]);
  });
});
