import { describe, expect, it } from 'vitest';
import { callbackUrlProblem, isForbiddenAddress } from '../../lambdas/core/callback';
import { vettedLookup } from '../../lambdas/adapters/callback';

describe('callback addresses', () => {
  it.each([
    ['127.0.0.1', true], ['10.1.2.3', true], ['172.16.0.1', true], ['172.31.255.255', true], ['192.168.1.1', true],
    ['169.254.169.254', true], ['100.64.0.1', true], ['0.0.0.0', true], ['224.0.0.1', true], ['::1', true], ['::', true],
    ['fe80::1', true], ['fd00:ec2::254', true], ['::ffff:169.254.169.254', true], ['::ffff:10.0.0.1', true], ['not-an-ip', true],
    ['::ffff:a9fe:a9fe', true], ['::a9fe:a9fe', true], ['2002:a9fe:a9fe::1', true], ['2002:0a00:0001::', true], ['::ffff:808:808', false],
    // near misses that are public
    ['172.32.0.1', false], ['11.0.0.1', false], ['169.255.0.1', false], ['192.169.0.1', false], ['8.8.8.8', false],
    ['2606:4700:4700::1111', false], ['::ffff:8.8.8.8', false],
  ])('%s forbidden: %s', (ip, expected) => {
    expect(isForbiddenAddress(ip)).toBe(expected);
  });

  it.each([
    ['https://hooks.example.com/countersign', 'aws', undefined],
    ['http://hooks.example.com/countersign', 'aws', 'must be https'],
    ['https://169.254.169.254/latest/meta-data', 'aws', 'must not point at a private, loopback or link-local address'],
    ['https://[::ffff:a9fe:a9fe]/', 'aws', 'must not point at a private, loopback or link-local address'],
    ['https://10.0.0.5/hook', 'aws', 'must not point at a private, loopback or link-local address'],
    ['https://localhost/hook', 'aws', 'must not point at a private, loopback or link-local address'],
    ['https://metadata.google.internal/', 'aws', 'must not point at an internal name'],
    ['https://user:pw@hooks.example.com/', 'aws', 'must not carry credentials'],
    ['ftp://hooks.example.com/', 'aws', 'must be https'],
    ['not a url', 'aws', 'not a URL'],
    ['http://127.0.0.1:9000/cb', 'local', undefined],
    ['http://localhost:9000/cb', 'local', undefined],
    ['http://10.0.0.5/hook', 'local', 'must be https (or http to loopback in local mode)'],
    ['https://169.254.169.254/', 'local', 'must not point at a private, loopback or link-local address'],
  ] as const)('%s in %s mode: %s', (url, mode, problem) => {
    expect(callbackUrlProblem(url, mode)).toBe(problem);
  });

  it('refuses, at connection time, a name that resolves to a private address', async () => {
    const result = await new Promise<string>((resolve) => vettedLookup('localhost', {}, (err) => resolve(err ? err.message : 'allowed')));
    expect(result).toMatch(/resolves to a forbidden address/);
  });
});
