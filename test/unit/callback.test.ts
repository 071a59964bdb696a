import { afterEach, describe, expect, it } from 'vitest';
import { callbackSender, vettedLookup } from '../../lambdas/adapters/callback';
import { callbackNetwork, FUNCTION_ENV } from '../../lambdas/adapters/environment';
import { callbackUrlProblem, isForbiddenAddress } from '../../lambdas/core/callback';
import { memorySigner } from '../fixtures/memory-ports';

describe('callback addresses', () => {
  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['::1', true],
    ['::', true],
    ['fe80::1', true],
    ['fd00:ec2::254', true],
    ['::ffff:169.254.169.254', true],
    ['::ffff:10.0.0.1', true],
    ['not-an-ip', true],
    ['::ffff:a9fe:a9fe', true],
    ['::a9fe:a9fe', true],
    ['2002:a9fe:a9fe::1', true],
    ['2002:0a00:0001::', true],
    ['::ffff:808:808', false],
    // near misses that are public
    ['172.32.0.1', false],
    ['11.0.0.1', false],
    ['169.255.0.1', false],
    ['192.169.0.1', false],
    ['8.8.8.8', false],
    ['2606:4700:4700::1111', false],
    ['::ffff:8.8.8.8', false],
  ])('%s forbidden: %s', (ip, expected) => {
    expect(isForbiddenAddress(ip)).toBe(expected);
  });

  it.each([
    ['https://hooks.example.com/countersign', 'public', undefined],
    ['http://hooks.example.com/countersign', 'public', 'must be https'],
    ['https://169.254.169.254/latest/meta-data', 'public', 'must not point at a private, loopback or link-local address'],
    ['https://[::ffff:a9fe:a9fe]/', 'public', 'must not point at a private, loopback or link-local address'],
    ['https://10.0.0.5/hook', 'public', 'must not point at a private, loopback or link-local address'],
    ['https://localhost/hook', 'public', 'must not point at a private, loopback or link-local address'],
    ['https://metadata.google.internal/', 'public', 'must not point at an internal name'],
    ['https://user:pw@hooks.example.com/', 'public', 'must not carry credentials'],
    ['ftp://hooks.example.com/', 'public', 'must be https'],
    ['not a url', 'public', 'not a URL'],
    ['http://127.0.0.1:9000/cb', 'loopback', undefined],
    ['http://localhost:9000/cb', 'loopback', undefined],
    ['http://10.0.0.5/hook', 'loopback', 'must be https (or http to loopback in local mode)'],
    ['https://169.254.169.254/', 'loopback', 'must not point at a private, loopback or link-local address'],
  ] as const)('%s on the %s network: %s', (url, network, problem) => {
    expect(callbackUrlProblem(url, network)).toBe(problem);
  });

  it('refuses, at connection time, a name that resolves to a private address', async () => {
    const result = await new Promise<string>((resolve) => vettedLookup('localhost', {}, (err) => resolve(err ? err.message : 'allowed')));
    expect(result).toMatch(/resolves to a forbidden address/);
  });
});

describe('the callback network a deployment allows', () => {
  const saved = process.env[FUNCTION_ENV.callbackNetwork];
  afterEach(() => {
    if (saved === undefined) delete process.env[FUNCTION_ENV.callbackNetwork];
    else process.env[FUNCTION_ENV.callbackNetwork] = saved;
  });
  const body = { id: 'act_1', status: 'approved', action: 'data.export' };

  it('is public when CALLBACK_NETWORK is unset, empty or unknown: loopback is refused', async () => {
    for (const value of [undefined, '', 'public', 'LOOPBACK', 'local', 'loopback ']) {
      if (value === undefined) delete process.env.CALLBACK_NETWORK;
      else process.env.CALLBACK_NETWORK = value;
      expect(callbackNetwork(), String(value)).toBe('public');
      expect(callbackUrlProblem('http://127.0.0.1:9000/cb', callbackNetwork())).toBe('must be https');
      expect(callbackUrlProblem('https://127.0.0.1:9000/cb', callbackNetwork())).toBe('must not point at a private, loopback or link-local address');
    }
    // Refused before anything is signed or sent.
    const signer = memorySigner();
    await expect(callbackSender(signer, callbackNetwork()).send('http://127.0.0.1:9000/cb', body)).rejects.toThrow(/callback URL refused: must be https/);
    expect(signer.calls).toBe(0);
  });

  it('allows http and https to loopback when CALLBACK_NETWORK is loopback, and still nothing private', () => {
    process.env.CALLBACK_NETWORK = 'loopback';
    expect(callbackNetwork()).toBe('loopback');
    expect(callbackUrlProblem('http://127.0.0.1:9000/cb', callbackNetwork())).toBeUndefined();
    expect(callbackUrlProblem('https://localhost:9000/cb', callbackNetwork())).toBeUndefined();
    expect(callbackUrlProblem('http://10.0.0.5/cb', callbackNetwork())).toBe('must be https (or http to loopback in local mode)');
    expect(callbackUrlProblem('https://169.254.169.254/', callbackNetwork())).toBe('must not point at a private, loopback or link-local address');
  });
});
