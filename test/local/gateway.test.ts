import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../lambdas/adapters/config-file';
import type { HttpEvent } from '../../lambdas/adapters/http';
import { closeServer, listenLoopback } from '../../local/aws-json';
import { LocalGateway, routesFromTemplate } from '../../local/gateway';
import { LocalInbox } from '../../local/inbox';
import { synthesizeForLocal } from '../../local/synth';

const config = loadConfigFile(join(import.meta.dirname, '../../countersign.config.yaml'));

describe('local API gateway', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cs-gw-'));
  const seen: Array<{ functionId: string; event: HttpEvent }> = [];
  let answer: (event: HttpEvent) => unknown = () => ({ statusCode: 200, body: 'ok' });
  let server: Server;
  let url: string;
  let routes: ReturnType<typeof routesFromTemplate>;
  let functionIds: Map<string, string>;

  beforeAll(async () => {
    const { template, functions } = synthesizeForLocal(config);
    functionIds = new Map([...functions.values()].map((f) => [f.entry.split('/').at(-2)!, f.logicalId]));
    routes = routesFromTemplate(
      template,
      {
        ref: () => undefined,
        getAtt: (id, attr) => (attr === 'Arn' && functions.has(id) ? `arn:aws:lambda:us-east-1:000000000000:function:${id}` : undefined),
      },
      (arn) => arn.split(':').at(-1)!,
    );
    const gateway = new LocalGateway({
      routes,
      invoke: async (functionId, event) => {
        seen.push({ functionId, event });
        return answer(event);
      },
      apiKeys: () => config.local.apiKeys,
      inbox: new LocalInbox(dataDir),
      ready: () => true,
    });
    server = createServer(gateway.handler);
    url = await listenLoopback(server, 0, { browsers: true });
  });
  afterAll(async () => {
    await closeServer(server);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const last = () => seen.at(-1)!;

  it('serves every route of the synthesized HTTP API with its authorization type', () => {
    const keys = routes.map((r) => `${r.routeKey} ${r.auth}`).sort();
    expect(keys).toEqual(
      [
        'GET /v1/actions/{id} AWS_IAM',
        'GET /v1/actions/{id}/audit AWS_IAM',
        'GET /v1/audit/public-key AWS_IAM',
        'GET /v1/audit/export AWS_IAM',
        'GET /v1/me/pending AWS_IAM',
        'GET /v1/review/{token} NONE',
        'POST /v1/actions AWS_IAM',
        'POST /v1/actions/{id}/cancel AWS_IAM',
        'POST /v1/actions/{id}/redeem AWS_IAM',
        'POST /v1/actions/{id}/decision AWS_IAM',
        'GET /v1/grants AWS_IAM',
        'POST /v1/grants/{id}/revoke AWS_IAM',
        'POST /v1/review/{token} NONE',
        'POST /v1/slack/interactions NONE',
        'GET /v1/actions/{id}/review NONE',
        'POST /v1/actions/{id}/review-link NONE',
        'GET /v1/auth/login NONE',
        'GET /v1/auth/callback NONE',
        'GET /console NONE',
        'GET /console/sign-in NONE',
        'POST /console/sign-out NONE',
        'GET /console/requests/{id} NONE',
        'POST /console/requests/{id}/decision NONE',
        'GET /console/audit NONE',
        'GET /console/grants NONE',
        'POST /console/grants/{id}/revoke NONE',
        'GET /console/ledger NONE',
        'POST /console/ledger/verify NONE',
        'GET /console/ledger/export NONE',
        'GET /console/policy NONE',
        'GET /console/assets/{name} NONE',
      ].sort(),
    );
  });

  it('builds a payload 2.0 event with the API key principal as the IAM caller', async () => {
    const res = await fetch(`${url}/v1/actions/act_1%2Fx?wait=5&a=1&a=2`, {
      headers: { authorization: 'Bearer alice-key', 'X-Custom': 'v', cookie: 'a=1; b=2' },
    });
    expect(res.status).toBe(200);
    const { functionId, event } = last();
    expect(functionId).toBe(functionIds.get('intake'));
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /v1/actions/{id}',
      rawPath: '/v1/actions/act_1%2Fx',
      rawQueryString: 'wait=5&a=1&a=2',
      queryStringParameters: { wait: '5', a: '1,2' },
      pathParameters: { id: 'act_1/x' },
      cookies: ['a=1', 'b=2'],
      isBase64Encoded: false,
      requestContext: {
        accountId: '000000000000',
        routeKey: 'GET /v1/actions/{id}',
        stage: '$default',
        http: { method: 'GET', path: '/v1/actions/act_1%2Fx', sourceIp: '127.0.0.1' },
        authorizer: { iam: { userArn: 'alice@example.com', callerId: 'alice@example.com' } },
      },
    });
    expect(event.headers['x-custom']).toBe('v');
    expect(event.headers.cookie).toBeUndefined();
    expect(event.body).toBeUndefined();
  });

  it('answers 401 on IAM routes without a known key, before any handler runs', async () => {
    const before = seen.length;
    for (const authorization of [undefined, 'Bearer nope-not-a-key', 'Basic YWxpY2U6eA==', 'alice-key']) {
      const res = await fetch(`${url}/v1/actions`, { method: 'POST', headers: authorization ? { authorization } : {}, body: '{}' });
      expect(res.status).toBe(401);
      expect(((await res.json()) as any).error.code).toBe('unauthorized');
    }
    expect(seen.length).toBe(before);
  });

  it('passes self-authenticating routes through without an identity, even with a key', async () => {
    await fetch(`${url}/v1/review/tok123`, { headers: { authorization: 'Bearer alice-key' } });
    expect(last().functionId).toBe(functionIds.get('decision'));
    expect(last().event.pathParameters).toEqual({ token: 'tok123' });
    expect(last().event.requestContext.authorizer).toBeUndefined();
  });

  it('passes text bodies as strings and binary bodies as base64', async () => {
    await fetch(`${url}/v1/slack/interactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'payload=%7B%7D',
    });
    expect(last().event).toMatchObject({ body: 'payload=%7B%7D', isBase64Encoded: false });
    await fetch(`${url}/v1/slack/interactions`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array([0, 255, 1]) });
    expect(last().event).toMatchObject({ body: Buffer.from([0, 255, 1]).toString('base64'), isBase64Encoded: true });
  });

  it('prefers the route with more literal segments and answers 404 for unknown routes and methods', async () => {
    await fetch(`${url}/v1/actions/abc/cancel`, { method: 'POST', headers: { authorization: 'Bearer demo-agent-key' } });
    expect(last().event.routeKey).toBe('POST /v1/actions/{id}/cancel');
    const before = seen.length;
    for (const [method, path] of [
      ['GET', '/v1/nothing'],
      ['DELETE', '/v1/actions/abc'],
      ['GET', '/v1/actions/'],
    ]) {
      const res = await fetch(`${url}${path}`, { method, headers: { authorization: 'Bearer demo-agent-key' } });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as any).error.code).toBe('not_found');
    }
    expect(seen.length).toBe(before);
  });

  it('maps structured results, bare results and handler crashes as API Gateway does', async () => {
    answer = () => ({
      statusCode: 201,
      headers: { 'X-A': 'b' },
      cookies: ['s=1; HttpOnly'],
      body: Buffer.from('hi').toString('base64'),
      isBase64Encoded: true,
    });
    let res = await fetch(`${url}/v1/review/t`);
    expect([res.status, res.headers.get('x-a'), res.headers.get('set-cookie'), await res.text()]).toEqual([201, 'b', 's=1; HttpOnly', 'hi']);
    answer = () => ({ ok: 1 });
    res = await fetch(`${url}/v1/review/t`);
    expect([res.status, res.headers.get('content-type'), await res.json()]).toEqual([200, 'application/json', { ok: 1 }]);
    answer = () => {
      throw new Error('boom');
    };
    res = await fetch(`${url}/v1/review/t`);
    expect([res.status, await res.json()]).toEqual([500, { message: 'Internal Server Error' }]);
    answer = () => ({ statusCode: 200, body: 'ok' });
  });

  it("refuses bodies over API Gateway's 10 MB limit", async () => {
    const before = seen.length;
    const res = await fetch(`${url}/v1/slack/interactions`, { method: 'POST', body: 'x'.repeat(10 * 1024 * 1024 + 1) });
    expect(res.status).toBe(413);
    expect(seen.length).toBe(before);
  });

  it('keeps inbox messages, validates them, and escapes them on the page', async () => {
    const message = {
      channel: 'email',
      to: 'alice@example.com',
      subject: '<script>alert(1)</script>',
      text: 'a & b',
      actionId: 'act_1',
      reviewUrl: 'javascript:alert(1)',
    };
    expect(
      (await fetch(`${url}/_local/inbox`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message) })).status,
    ).toBe(201);
    expect(
      (await fetch(`${url}/_local/inbox`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'fax' }) }))
        .status,
    ).toBe(400);
    const list = (await (await fetch(`${url}/_local/inbox.json`)).json()) as any[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ ...message, id: expect.any(String), at: expect.any(String) });
    // One request's messages only.
    expect(await (await fetch(`${url}/_local/inbox.json?actionId=act_1`)).json()).toEqual(list);
    expect(await (await fetch(`${url}/_local/inbox.json?actionId=act_2`)).json()).toEqual([]);
    const page = await (await fetch(`${url}/_local/inbox`)).text();
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('javascript:');
    expect(new LocalInbox(dataDir).list()).toHaveLength(1);
  });

  it('refuses a rebound Host and a cross-site write to /_local/ before any handler runs or anything is kept', async () => {
    const send = (path: string, method: string, headers: Record<string, string>, body = '') =>
      new Promise<number>((resolve, reject) => {
        const { hostname, port } = new URL(url);
        const req = httpRequest({ hostname, port, path, method, setHost: false, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    const before = seen.length;
    const inbox = new LocalInbox(dataDir).list().length;
    expect(await send('/v1/actions', 'POST', { host: 'evil.example', authorization: 'Bearer demo-agent-key', 'content-type': 'application/json' }, '{}')).toBe(
      421,
    );
    expect(await send('/v1/review/t', 'GET', { host: '127.0.0.1.evil.example' })).toBe(421);
    const message = JSON.stringify({ channel: 'email', to: 'a@example.com', subject: 's', text: 't', actionId: 'act_1' });
    const host = new URL(url).host;
    expect(await send('/_local/inbox', 'POST', { host, 'content-type': 'text/plain' }, message)).toBe(415);
    expect(await send('/_local/inbox', 'POST', { host, 'content-type': 'application/json', origin: 'http://evil.example' }, message)).toBe(403);
    expect(await send('/_local/inbox', 'POST', { host, 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' }, message)).toBe(403);
    expect(seen.length).toBe(before);
    expect(new LocalInbox(dataDir).list()).toHaveLength(inbox);
    // The same message, same-origin, is kept.
    expect(
      await send('/_local/inbox', 'POST', { host, 'content-type': 'application/json', origin: `http://${host}`, 'sec-fetch-site': 'same-origin' }, message),
    ).toBe(201);
    expect(new LocalInbox(dataDir).list()).toHaveLength(inbox + 1);
  });

  it('sends / to the console, and answers /_local with a page that leads to the local inbox', async () => {
    const root = await fetch(`${url}/`, { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([302, '/console']);
    const res = await fetch(`${url}/_local`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'");
    const html = await res.text();
    expect(html).toContain('<a class="start" href="/_local/inbox" data-testid="inbox-link">Open the local inbox</a>');
    // It names no request and carries no review link: those stay on the inbox page.
    expect(html).not.toContain('/v1/review/');
    expect((await fetch(`${url}/`, { method: 'POST' })).status).toBe(404);
  });

  it('reports health', async () => {
    const res = await fetch(`${url}/healthz`);
    expect([res.status, await res.json()]).toEqual([200, { ok: true }]);
  });
});
