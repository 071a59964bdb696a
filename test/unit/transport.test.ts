/** client/transport.ts against a tiny local HTTP server: endpoint resolution, bearer and SigV4 auth, error mapping. */
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { apiRequest, CountersignApiError, DEFAULT_URL, EndpointError, expectOk, regionFromHost, resolveEndpoint } from '../../client/transport';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];
/** What the server answers next: status and body. */
let answer: { status: number; body: string; type?: string } = { status: 200, body: '{"ok":true}' };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(answer.status, { 'content-type': answer.type ?? 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  seen.length = 0;
  answer = { status: 200, body: '{"ok":true}' };
  vi.unstubAllEnvs();
});

const AWS_ENV = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'COUNTERSIGN_URL',
  'COUNTERSIGN_API_KEY',
];
function cleanEnv(extra: Record<string, string> = {}) {
  for (const name of AWS_ENV) vi.stubEnv(name, undefined);
  for (const [name, value] of Object.entries(extra)) vi.stubEnv(name, value);
}

describe('resolveEndpoint', () => {
  it('takes arguments first, then COUNTERSIGN_URL / COUNTERSIGN_API_KEY, then local mode', () => {
    cleanEnv();
    expect(resolveEndpoint({ apiKey: 'k' })).toEqual({ url: DEFAULT_URL, auth: { kind: 'bearer', apiKey: 'k' } });
    cleanEnv({ COUNTERSIGN_URL: 'https://cs.example.com/prod/', COUNTERSIGN_API_KEY: 'env-key' });
    expect(resolveEndpoint()).toEqual({ url: 'https://cs.example.com/prod', auth: { kind: 'bearer', apiKey: 'env-key' } });
    expect(resolveEndpoint({ url: 'http://127.0.0.1:9999', apiKey: 'arg-key' })).toEqual({
      url: 'http://127.0.0.1:9999',
      auth: { kind: 'bearer', apiKey: 'arg-key' },
    });
  });

  it('without a key, signs with SigV4: region from an execute-api host, else AWS_REGION / AWS_DEFAULT_REGION, else a clear error', () => {
    expect(regionFromHost('abc123.execute-api.eu-west-1.amazonaws.com')).toBe('eu-west-1');
    expect(regionFromHost('abc123.execute-api.cn-north-1.amazonaws.com.cn')).toBe('cn-north-1');
    expect(regionFromHost('api.example.com')).toBeUndefined();
    cleanEnv({ AWS_REGION: 'us-east-2' });
    expect(resolveEndpoint({ url: 'https://abc123.execute-api.eu-west-1.amazonaws.com' }).auth).toMatchObject({ kind: 'sigv4', region: 'eu-west-1' });
    expect(resolveEndpoint({ url: 'https://api.example.com' }).auth).toMatchObject({ kind: 'sigv4', region: 'us-east-2' });
    cleanEnv({ AWS_DEFAULT_REGION: 'ap-south-1' });
    expect(resolveEndpoint({ url: 'https://api.example.com' }).auth).toMatchObject({ kind: 'sigv4', region: 'ap-south-1' });
    cleanEnv();
    expect(() => resolveEndpoint({ url: 'https://api.example.com' })).toThrow(EndpointError);
    expect(() => resolveEndpoint({ url: 'https://api.example.com' })).toThrow(/COUNTERSIGN_API_KEY.*AWS_REGION/);
    expect(() => resolveEndpoint({ url: 'not a url', apiKey: 'k' })).toThrow(EndpointError);
    expect(() => resolveEndpoint({ url: 'https://user:pw@api.example.com', apiKey: 'k' })).toThrow(/must not carry credentials/);
  });
});

/** SigV4 recomputed from the received request, independently of the signer (no special characters in the path). */
function expectedSignature(request: Seen, secret: string, region: string): string {
  const sha = (data: string) => createHash('sha256').update(data).digest('hex');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const signed = /SignedHeaders=([^,]+)/.exec(String(request.headers.authorization))![1]!.split(';');
  const [path, query = ''] = request.url.split('?');
  const canonicalQuery = query.split('&').filter(Boolean).sort().join('&');
  const canonicalHeaders = signed.map((h) => `${h}:${String(request.headers[h]).trim()}\n`).join('');
  const canonical = [request.method, path, canonicalQuery, canonicalHeaders, signed.join(';'), sha(request.body)].join('\n');
  const amzDate = String(request.headers['x-amz-date']);
  const scope = `${amzDate.slice(0, 8)}/${region}/execute-api/aws4_request`;
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, amzDate.slice(0, 8)), region), 'execute-api'), 'aws4_request');
  return createHmac('sha256', key)
    .update(['AWS4-HMAC-SHA256', amzDate, scope, sha(canonical)].join('\n'))
    .digest('hex');
}

describe('apiRequest', () => {
  it('sends the API key as a bearer token, the body as JSON, and the query RFC 3986-encoded', async () => {
    const endpoint = resolveEndpoint({ url: base, apiKey: 'demo-agent-key' });
    const res = await apiRequest(endpoint, { method: 'POST', path: '/v1/actions', query: { wait: 5, q: 'a b' }, body: { action: 'data.export' } });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ ok: true });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/actions?wait=5&q=a%20b', body: '{"action":"data.export"}' });
    expect(seen[0]!.headers.authorization).toBe('Bearer demo-agent-key');
    expect(seen[0]!.headers['content-type']).toBe('application/json');
  });

  it('keeps a stage path of the base URL', async () => {
    await apiRequest(resolveEndpoint({ url: `${base}/prod/`, apiKey: 'k' }), { method: 'GET', path: '/v1/audit/public-key' });
    expect(seen[0]!.url).toBe('/prod/v1/audit/public-key');
  });

  it('signs with SigV4 (execute-api) using credentials from the environment', async () => {
    cleanEnv({
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      AWS_SESSION_TOKEN: 'session-token',
      AWS_REGION: 'eu-west-1',
    });
    const endpoint = resolveEndpoint({ url: base });
    expect(endpoint.auth).toMatchObject({ kind: 'sigv4', region: 'eu-west-1' });
    await apiRequest(endpoint, { method: 'POST', path: '/v1/actions/act_1/decision', body: { decision: 'approve' }, query: { wait: 1 } });
    const headers = seen[0]!.headers;
    const date = /^(\d{8})T\d{6}Z$/.exec(String(headers['x-amz-date']))?.[1];
    expect(date).toBeDefined();
    expect(headers.authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${date}/eu-west-1/execute-api/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$`,
      ),
    );
    expect(headers.authorization).toContain('x-amz-date');
    expect(headers['x-amz-security-token']).toBe('session-token');
    expect(seen[0]!.body).toBe('{"decision":"approve"}');
    // The signature holds for the request as the server received it (host with port, path, query, body).
    expect(/Signature=([0-9a-f]{64})/.exec(String(headers.authorization))?.[1]).toBe(
      expectedSignature(seen[0]!, 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', 'eu-west-1'),
    );
  });

  it('reports an unreachable API as network_error, status 0', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await apiRequest(resolveEndpoint({ url: `http://127.0.0.1:${port}`, apiKey: 'secret-key' }), { method: 'GET', path: '/healthz' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CountersignApiError);
    expect(error).toMatchObject({ status: 0, code: 'network_error' });
    expect(String((error as Error).message)).not.toContain('secret-key');
  });
});

describe('expectOk', () => {
  const endpoint = () => resolveEndpoint({ url: base, apiKey: 'k' });

  it('passes 2xx through', async () => {
    answer = { status: 202, body: '{"status":"pending"}' };
    const res = await apiRequest(endpoint(), { method: 'GET', path: '/x' });
    expect(expectOk(res)).toBe(res);
  });

  it("maps the API's error envelope to CountersignApiError with its status, code, message and details", async () => {
    answer = { status: 404, body: JSON.stringify({ error: { code: 'not_found', message: 'no such request', details: [] } }) };
    const res = await apiRequest(endpoint(), { method: 'GET', path: '/v1/actions/act_nope' });
    expect(() => expectOk(res)).toThrow(CountersignApiError);
    expect(() => expectOk(res)).toThrow(expect.objectContaining({ status: 404, code: 'not_found', message: 'no such request' }));

    answer = { status: 400, body: JSON.stringify({ error: { code: 'invalid_request', message: 'bad', details: [{ path: 'action', message: 'required' }] } }) };
    const bad = await apiRequest(endpoint(), { method: 'POST', path: '/v1/actions', body: {} });
    expect(() => expectOk(bad)).toThrow(expect.objectContaining({ code: 'invalid_request', details: [{ path: 'action', message: 'required' }] }));
  });

  it("maps API Gateway's own answers and non-JSON bodies too", async () => {
    answer = { status: 403, body: '{"message":"Forbidden"}' };
    const forbidden = await apiRequest(endpoint(), { method: 'GET', path: '/x' });
    expect(() => expectOk(forbidden)).toThrow(expect.objectContaining({ status: 403, code: 'http_403', message: 'Forbidden' }));
    answer = { status: 502, body: '<html>bad gateway</html>', type: 'text/html' };
    const gateway = await apiRequest(endpoint(), { method: 'GET', path: '/x' });
    expect(() => expectOk(gateway)).toThrow(expect.objectContaining({ status: 502, code: 'http_502' }));
    expect(() => gateway.json()).toThrow(expect.objectContaining({ code: 'invalid_response' }));
  });
});
