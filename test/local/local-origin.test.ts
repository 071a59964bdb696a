/**
 * Local mode against web pages, end to end as `npm start` runs it: every server answers only a loopback `Host` (DNS
 * rebinding gets nothing, not even the inbox's review links), and writes to `/_local/*` from another site (a
 * cross-site `text/plain` POST, another origin, `Sec-Fetch-Site: cross-site`) are refused with nothing planted,
 * while local mode's own pages, the review form and clients that are not browsers keep working. Raw HTTP requests,
 * so the `Host` header is the test's to choose.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, eventually, type RunningCountersign, startCountersign } from './harness';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json?: any;
}

interface RawRequest {
  method?: string;
  path: string;
  /** The Host header; `null` sends none. @default 127.0.0.1:<port> */
  host?: string | null;
  headers?: Record<string, string>;
  body?: string;
}

const dir = mkdtempSync(join(tmpdir(), 'cs-local-origin-'));
let cs: RunningCountersign;
let port: number;
let own: string;

/** One HTTP/1.1 request to `base` exactly as given, Host included. */
function raw(base: string, r: RawRequest): Promise<Answer> {
  const target = new URL(base);
  const host = r.host === undefined ? target.host : r.host;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: r.method ?? 'GET',
        path: r.path,
        setHost: false,
        headers: { ...(host !== null ? { host } : {}), ...r.headers, ...(r.body !== undefined ? { 'content-length': String(Buffer.byteLength(r.body)) } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, ...(json !== undefined ? { json } : {}) });
        });
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

const planted = (subject: string) => ({
  channel: 'email',
  to: 'alice@example.com',
  subject,
  text: 'Approve here',
  actionId: 'act_planted',
  reviewUrl: 'http://evil.example/phish',
});
const inboxSubjects = async () => ((await api(cs.url, 'GET', '/_local/inbox.json')).body as Array<{ subject: string }>).map((m) => m.subject);

beforeAll(async () => {
  cs = await startCountersign({ dataDir: join(dir, 'data'), env: { COUNTERSIGN_FAULT_INJECTION: '1' } });
  port = Number(new URL(cs.url).port);
  own = `http://127.0.0.1:${port}`;
  // A real request, so the inbox holds review links worth stealing.
  const created = await api(cs.url, 'POST', '/v1/actions', 'demo-agent-key', { action: 'deploy.service', resource: 'billing', environment: 'staging' });
  expect(created.status).toBe(202);
  await eventually(async () => ((await inboxSubjects()).length > 0 ? true : undefined));
});

afterAll(async () => {
  await cs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Host: only loopback (DNS rebinding)', () => {
  const rebound = () => [
    'evil.example',
    `evil.example:${port}`,
    `127.0.0.1.evil.example:${port}`,
    `localhost.evil.example:${port}`,
    'localhost.',
    `localhost.:${port}`,
    `127.0.0.2:${port}`,
    `0.0.0.0:${port}`,
    `127.1:${port}`,
    `2130706433:${port}`,
    `[::ffff:127.0.0.1]:${port}`,
    `localhost:${port}@evil.example`,
    `localhost:`,
    '',
  ];

  it('refuses every other Host with 421 and a clear error, for the inbox (JSON and page), health, the API and the review page', async () => {
    const paths: Array<[string, Record<string, string>]> = [
      ['/_local/inbox.json', {}],
      ['/_local/inbox', {}],
      ['/healthz', {}],
      ['/v1/audit/public-key', { authorization: 'Bearer audit-key' }],
      ['/v1/actions/act_x', { authorization: 'Bearer audit-key' }],
      ['/v1/review/some-token', {}],
    ];
    for (const host of rebound()) {
      for (const [path, headers] of paths) {
        const answer = await raw(cs.url, { path, host, headers });
        const what = `${path} with Host ${JSON.stringify(host)}`;
        expect(answer.status, what).toBe(421);
        expect(answer.headers['content-type'], what).toBe('application/json');
        expect(answer.json?.error?.code, what).toBe('misdirected_request');
        expect(answer.json?.error?.message, what).toContain('127.0.0.1, localhost or [::1]');
        expect(answer.text, what).not.toContain('/v1/review/');
        expect(answer.text, what).not.toContain('alice@example.com');
      }
    }
  });

  it('refuses a request with no Host at all (HTTP/1.1 and HTTP/1.0)', async () => {
    const noHost = await raw(cs.url, { path: '/_local/inbox.json', host: null });
    expect([noHost.status, noHost.json?.error?.code]).toEqual([421, 'misdirected_request']);
    expect(noHost.json.error.message).toContain('no Host header');
    // HTTP/1.0 may omit Host: written by hand.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end('GET /_local/inbox.json HTTP/1.0\r\n\r\n'));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.[01] 421 /);
    expect(answer).toContain('misdirected_request');
    expect(answer).not.toContain('/v1/review/');
  });

  it('answers the loopback names local mode prints, with or without the port, in any case', async () => {
    for (const host of [`127.0.0.1:${port}`, '127.0.0.1', `localhost:${port}`, 'localhost', `LocalHost:${port}`, `[::1]:${port}`, '[::1]']) {
      const inbox = await raw(cs.url, { path: '/_local/inbox.json', host });
      expect(inbox.status, host).toBe(200);
      expect(inbox.text, host).toContain('/v1/review/');
      expect((await raw(cs.url, { path: '/_local/inbox', host })).status, host).toBe(200);
      expect((await raw(cs.url, { path: '/healthz', host })).json, host).toEqual({ ok: true });
    }
  });

  it('guards the local AWS endpoints too: KMS, Step Functions and DynamoDB refuse a rebound Host', async () => {
    const call = (base: string, target: string, contentType: string, host?: string) =>
      raw(base, {
        method: 'POST',
        path: '/',
        ...(host !== undefined ? { host } : {}),
        headers: { 'x-amz-target': target, 'content-type': contentType },
        body: '{}',
      });
    const endpoints: Array<[string, string, string]> = [
      [cs.endpoints.kms, 'TrentService.ListAliases', 'application/x-amz-json-1.1'],
      [cs.endpoints.sfn, 'AWSStepFunctions.ListStateMachines', 'application/x-amz-json-1.0'],
      [cs.endpoints.dynamodb, 'DynamoDB_20120810.ListTables', 'application/x-amz-json-1.0'],
    ];
    for (const [base, target, contentType] of endpoints) {
      const refused = await call(base, target, contentType, `evil.example:${new URL(base).port}`);
      expect([refused.status, refused.json?.error?.code], base).toEqual([421, 'misdirected_request']);
    }
    // The same calls with the endpoint's own Host reach the service (the local KMS needs no signature).
    const kms = await call(cs.endpoints.kms, 'TrentService.ListAliases', 'application/x-amz-json-1.1');
    expect(kms.status).toBe(200);
    expect(kms.json.Aliases.length).toBeGreaterThan(0);
  });

  it('the local AWS endpoints answer no web page, even one that calls 127.0.0.1 directly (no CORS, no preflight)', async () => {
    const endpoints: Array<[string, string, string]> = [
      [cs.endpoints.kms, 'TrentService.ListAliases', 'application/x-amz-json-1.1'],
      [cs.endpoints.sfn, 'AWSStepFunctions.ListStateMachines', 'application/x-amz-json-1.0'],
      [cs.endpoints.dynamodb, 'DynamoDB_20120810.ListTables', 'application/x-amz-json-1.0'],
    ];
    const browser: Array<Record<string, string>> = [
      { origin: 'http://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'empty' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const [base, target, contentType] of endpoints) {
      const preflight = await raw(base, {
        method: 'OPTIONS',
        path: '/',
        headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-amz-target,content-type' },
      });
      expect([preflight.status, preflight.headers['access-control-allow-origin']], base).toEqual([403, undefined]);
      for (const headers of browser) {
        const answer = await raw(base, { method: 'POST', path: '/', headers: { 'x-amz-target': target, 'content-type': contentType, ...headers }, body: '{}' });
        expect([answer.status, answer.json?.error?.code, answer.headers['access-control-allow-origin']], `${base} ${JSON.stringify(headers)}`).toEqual([
          403,
          'browser_request',
          undefined,
        ]);
      }
    }
    // What the AWS SDK sends (no Origin, no Sec-Fetch-*) still reaches DynamoDB.
    const sdk = new DynamoDBClient({ endpoint: cs.endpoints.dynamodb, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    expect((await sdk.send(new ListTablesCommand({}))).TableNames?.length).toBeGreaterThan(0);
    sdk.destroy();
  });
});

describe('writes to /_local/* from another site', () => {
  it('refuses cross-site POSTs to the inbox (text/plain, another origin, Sec-Fetch-Site) and plants nothing', async () => {
    const before = await inboxSubjects();
    const attempts: Array<[string, Record<string, string>, number, string]> = [
      ['text/plain, the simple request a page can send', { 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
      [
        'text/plain;charset=UTF-8 as a browser sends it',
        { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
        403,
        'cross_site_request',
      ],
      ['a form (urlencoded)', { 'content-type': 'application/x-www-form-urlencoded' }, 415, 'unsupported_media_type'],
      ['multipart', { 'content-type': 'multipart/form-data; boundary=x' }, 415, 'unsupported_media_type'],
      ['no content type', {}, 415, 'unsupported_media_type'],
      ['JSON from another origin', { 'content-type': 'application/json', origin: 'http://evil.example' }, 403, 'cross_site_request'],
      ['JSON from another localhost port', { 'content-type': 'application/json', origin: `http://127.0.0.1:${port + 1}` }, 403, 'cross_site_request'],
      ['JSON from https on the same host', { 'content-type': 'application/json', origin: `https://127.0.0.1:${port}` }, 403, 'cross_site_request'],
      [
        'JSON from localhost while the Host is 127.0.0.1',
        { 'content-type': 'application/json', origin: `http://localhost:${port}` },
        403,
        'cross_site_request',
      ],
      ['JSON from an opaque origin', { 'content-type': 'application/json', origin: 'null' }, 403, 'cross_site_request'],
      ['Sec-Fetch-Site: cross-site', { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' }, 403, 'cross_site_request'],
      [
        'Sec-Fetch-Site: same-site (another port)',
        { 'content-type': 'application/json', 'sec-fetch-site': 'same-site', origin: `http://127.0.0.1:${port + 1}` },
        403,
        'cross_site_request',
      ],
      ['Sec-Fetch-Site: same-site, no Origin', { 'content-type': 'application/json', 'sec-fetch-site': 'same-site' }, 403, 'cross_site_request'],
    ];
    for (const [what, headers, status, code] of attempts) {
      const answer = await raw(cs.url, { method: 'POST', path: '/_local/inbox', headers, body: JSON.stringify(planted(`Planted: ${what}`)) });
      expect([answer.status, answer.json?.error?.code], what).toEqual([status, code]);
    }
    // Rebinding: the page is same-origin with the rebound name, so its headers look right; the Host gives it away.
    const rebound = await raw(cs.url, {
      method: 'POST',
      path: '/_local/inbox',
      host: `evil.example:${port}`,
      headers: { 'content-type': 'application/json', origin: `http://evil.example:${port}`, 'sec-fetch-site': 'same-origin' },
      body: JSON.stringify(planted('Planted: rebound')),
    });
    expect(rebound.status).toBe(421);
    expect(await inboxSubjects()).toEqual(before);
  });

  it('refuses cross-site fault rules and schedule runs the same way, adding no rule', async () => {
    const rule = JSON.stringify({ service: 'kms', operation: 'Sign', status: 500 });
    for (const [method, path, headers, status] of [
      ['POST', '/_local/faults', { 'content-type': 'text/plain' }, 415],
      ['POST', '/_local/faults', { 'content-type': 'application/json', origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }, 403],
      ['DELETE', '/_local/faults', { 'sec-fetch-site': 'cross-site' }, 403],
      ['POST', '/_local/schedules/run', {}, 415],
      ['POST', '/_local/schedules/run', { 'content-type': 'text/plain', origin: 'http://evil.example' }, 403],
    ] as const) {
      const answer = await raw(cs.url, { method, path, headers, ...(method === 'POST' ? { body: path === '/_local/faults' ? rule : '' } : {}) });
      expect(answer.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(status);
    }
    expect((await raw(cs.url, { path: '/_local/faults' })).json).toEqual({ rules: [] });
  });

  it("accepts JSON writes from local mode's own origin and from clients that are not browsers", async () => {
    const writes: Array<[string, string, Record<string, string>]> = [
      ['same origin', `127.0.0.1:${port}`, { 'content-type': 'application/json', origin: own, 'sec-fetch-site': 'same-origin' }],
      [
        'same origin as localhost',
        `localhost:${port}`,
        { 'content-type': 'application/json; charset=utf-8', origin: `http://localhost:${port}`, 'sec-fetch-site': 'same-origin' },
      ],
      ['typed by the user', `127.0.0.1:${port}`, { 'content-type': 'application/json', 'sec-fetch-site': 'none' }],
      ['curl', `127.0.0.1:${port}`, { 'content-type': 'application/json' }],
    ];
    for (const [what, host, headers] of writes) {
      const answer = await raw(cs.url, { method: 'POST', path: '/_local/inbox', host, headers, body: JSON.stringify(planted(`Accepted: ${what}`)) });
      expect(answer.status, what).toBe(201);
    }
    expect((await inboxSubjects()).filter((s) => s.startsWith('Accepted: '))).toEqual(writes.map(([what]) => `Accepted: ${what}`));

    const sameOrigin = { 'content-type': 'application/json', origin: own, 'sec-fetch-site': 'same-origin' };
    const rule = { service: 'email', operation: 'Send', status: 500, times: 1 };
    expect((await raw(cs.url, { method: 'POST', path: '/_local/faults', headers: sameOrigin, body: JSON.stringify(rule) })).status).toBe(201);
    expect((await raw(cs.url, { path: '/_local/faults' })).json.rules).toHaveLength(1);
    expect((await raw(cs.url, { method: 'DELETE', path: '/_local/faults', headers: sameOrigin })).json).toEqual({ rules: [] });
    const ran = await raw(cs.url, { method: 'POST', path: '/_local/schedules/run', headers: { 'content-type': 'application/json' } });
    expect(ran.status).toBe(200);
    expect(ran.json.ran.length).toBeGreaterThan(0);
  });
});

describe('the API routes', () => {
  it('grant no CORS: a preflight finds no route, and answers carry no Access-Control-Allow-* headers', async () => {
    const preflight = await raw(cs.url, {
      method: 'OPTIONS',
      path: '/v1/actions',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(404);
    const key = await raw(cs.url, { path: '/v1/audit/public-key', headers: { origin: 'http://evil.example', authorization: 'Bearer audit-key' } });
    expect(key.status).toBe(200);
    for (const answer of [preflight, key]) {
      expect(Object.keys(answer.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    }
  });

  it("keep the review page's own form POST working (same origin, urlencoded) and the vote counts", async () => {
    const created = await api(cs.url, 'POST', '/v1/actions', 'demo-agent-key', { action: 'deploy.service', resource: 'payments', environment: 'staging' });
    expect(created.status).toBe(202);
    const link = await eventually(async () => {
      const inbox = (await api(cs.url, 'GET', '/_local/inbox.json')).body as Array<{ actionId: string; to: string; reviewUrl?: string }>;
      return inbox.find((m) => m.actionId === created.body.id && m.to === 'alice@example.com')?.reviewUrl;
    });
    const path = new URL(link).pathname;
    const page = await raw(cs.url, { path, headers: { 'sec-fetch-site': 'same-origin' } });
    expect(page.status).toBe(200);
    const vote = await raw(cs.url, {
      method: 'POST',
      path,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: own, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate' },
      body: new URLSearchParams({ decision: 'approve', reason: 'Looks right' }).toString(),
    });
    expect(vote.status).toBe(200);
    expect((await api(cs.url, 'GET', `/v1/actions/${created.body.id}`, 'demo-agent-key')).body.status).toBe('approved');
  });
});
