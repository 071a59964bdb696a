/**
 * The CLI's IO context: main(argv, io) writes only to io's streams, reads '-' from io's stdin and the connection from
 * io's environment, answers the exit code without setting process.exitCode, and leaves no signal listener behind.
 */
import { createServer, type Server } from 'node:http';
import { Readable, Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CliIo } from '../../cli/io';
import { main } from '../../cli/main';

function testIo(env: NodeJS.ProcessEnv, input = '') {
  const written = { stdout: '', stderr: '' };
  let stream: Readable | undefined;
  const collect = (to: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        written[to] += chunk.toString('utf8');
        callback();
      },
    });
  const io: CliIo = {
    stdout: collect('stdout'),
    stderr: collect('stderr'),
    stdin: { readAll: () => input, stream: () => (stream ??= Readable.from([input])) },
    env,
    ownsProcess: false,
  };
  return { io, written };
}

/** An API that answers every call 404 not_found at once (a network error would be retried). */
let api: Server;
let url: string;
beforeAll(async () => {
  api = createServer((_req, res) =>
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'no such request' } })),
  );
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => api.close(() => resolve())));

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('main(argv, io)', () => {
  it('writes help to io.stdout and a usage error to io.stderr, never to the process, and answers the exit code', async () => {
    const stdout = vi.spyOn(process.stdout, 'write');
    const stderr = vi.spyOn(process.stderr, 'write');
    const exitCode = process.exitCode;
    const help = testIo({});
    expect(await main(['--help'], help.io)).toBe(0);
    expect(help.written.stdout).toMatch(/^usage: countersign <command>\n/);
    expect(help.written.stderr).toBe('');
    const unknown = testIo({});
    expect(await main(['nonsense'], unknown.io)).toBe(2);
    expect(unknown.written).toEqual({
      stdout: '',
      stderr: expect.stringMatching(/^countersign: unknown command "nonsense"\n\nusage: countersign <command>\n/),
    });
    expect(stdout).not.toHaveBeenCalled();
    expect(stderr).not.toHaveBeenCalled();
    expect(process.exitCode).toBe(exitCode);
  });

  it("takes the connection from io's environment, not the process's", async () => {
    vi.stubEnv('COUNTERSIGN_API_KEY', 'from-the-process');
    vi.stubEnv('COUNTERSIGN_URL', 'http://127.0.0.1:9');
    const none = testIo({});
    expect(await main(['status', 'act_x'], none.io)).toBe(2);
    expect(none.written.stderr).toContain('countersign status: no API key and no AWS region for 127.0.0.1:8787');
    const given = testIo({ COUNTERSIGN_URL: url, COUNTERSIGN_API_KEY: 'k' });
    expect(await main(['status', 'act_x', '--json'], given.io)).toBe(3);
    expect(JSON.parse(given.written.stdout)).toEqual({ ok: false, error: { code: 'not_found', message: 'no such request' } });
  });

  it("reads '-' from io.stdin", async () => {
    const env = { COUNTERSIGN_URL: url, COUNTERSIGN_API_KEY: 'k' };
    const list = testIo(env, '[1,2]');
    expect(await main(['request', '--action', 'infra.apply', '--parameters', '@-'], list.io)).toBe(2);
    expect(list.written.stderr).toContain('--parameters must be a JSON object');
    const object = testIo(env, '{"plan":"p-1"}');
    // Read and accepted: the request goes out (and the API answers not_found).
    expect(await main(['request', '--action', 'infra.apply', '--parameters', '@-'], object.io)).toBe(3);
    expect(object.written.stderr).toContain('not_found');
    const receipt = testIo(env, '   \n');
    expect(await main(['receipt', 'verify', '-'], receipt.io)).toBe(2);
    expect(receipt.written.stderr).toContain('the receipt is empty');
  });

  it('leaves no SIGINT or SIGTERM listener behind after waiting', async () => {
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const { io } = testIo({ COUNTERSIGN_URL: url, COUNTERSIGN_API_KEY: 'k' });
    expect(await main(['wait', 'act_x', '--timeout', '1'], io)).toBe(3);
    expect(await main(['run', '--action', 'infra.apply', '--', 'true'], io)).toBe(3);
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
  });
});
