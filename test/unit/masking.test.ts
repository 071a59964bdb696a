import { describe, expect, it } from 'vitest';
import { MASK, maskPathSchema, maskRequest, maskSecrets, maskedPaths, type DetectorName } from '../../lambdas/core/masking';
import { parametersHash } from '../../lambdas/core/receipt';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const UNSIGNED_JWT = `${b64url({ alg: 'none' })}.${b64url({ sub: 'x' })}.`;
const JWE = `${b64url({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6ji.XFBoMYUZodetZdvTiFvSkQ`;
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
const RSA_KEY = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy\n0AHB7MkQk4lY5EaHrU4q\n-----END RSA PRIVATE KEY-----';
const OPENSSH_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----';
const PGP_KEY = '-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBF0j2ZYBCADc\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----';
const ENCRYPTED_KEY = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQww\n-----END ENCRYPTED PRIVATE KEY-----';

/** [input, expected output] per detector; near misses are inputs that must come back unchanged. */
const positives: Record<DetectorName, [string, string][]> = {
  aws_access_key_id: [
    ['AKIAIOSFODNN7EXAMPLE', MASK],
    ['key id ASIAY34FZKBOKMUTVV7A, region eu-west-1', `key id ${MASK}, region eu-west-1`],
    ['{"AccessKeyId":"ABIAZZZZZZZZZZZZZZZZ"}', `{"AccessKeyId":"${MASK}"}`],
  ],
  aws_secret_access_key: [
    [`aws_secret_access_key=${SECRET}`, `aws_secret_access_key=${MASK}`],
    [`AWS_SECRET_ACCESS_KEY: "${SECRET}"`, `AWS_SECRET_ACCESS_KEY: "${MASK}"`],
    [`the secret key is ${SECRET} ok`, `the secret key is ${MASK} ok`],
  ],
  private_key: [
    [RSA_KEY, `-----BEGIN RSA PRIVATE KEY-----\n${MASK}\n-----END RSA PRIVATE KEY-----`],
    [`key:\n${OPENSSH_KEY}\nthanks`, `key:\n-----BEGIN OPENSSH PRIVATE KEY-----\n${MASK}\n-----END OPENSSH PRIVATE KEY-----\nthanks`],
    [PGP_KEY, `-----BEGIN PGP PRIVATE KEY BLOCK-----\n${MASK}\n-----END PGP PRIVATE KEY BLOCK-----`],
    [ENCRYPTED_KEY, `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${MASK}\n-----END ENCRYPTED PRIVATE KEY-----`],
    // Truncated: no END line, so everything after BEGIN goes.
    ['-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yBxAQ', `-----BEGIN EC PRIVATE KEY-----\n${MASK}`],
  ],
  jwt: [
    [JWT, MASK],
    [`token=${JWT}; path=/`, `token=${MASK}; path=/`],
    [`unsigned ${UNSIGNED_JWT} end`, `unsigned ${MASK} end`],
    [`jwe ${JWE}`, `jwe ${MASK}`],
    [`prefix.${JWT}`, `prefix.${MASK}`],
  ],
  bearer_token: [
    ['Authorization: Bearer abc123def456ghi789', `Authorization: Bearer ${MASK}`],
    ['curl -H "authorization: bearer sk_live_51H8xYz" https://api', `curl -H "authorization: bearer ${MASK}" https://api`],
    ['BEARER dGhpcyBpcyBhIHRva2Vu== then.', `BEARER ${MASK} then.`],
    ['Bearer AbCdEfGhIjKlMnOpQrStUv.', `Bearer ${MASK}.`],
  ],
  connection_string_password: [
    ['postgres://u:hunter2@h/db', `postgres://u:${MASK}@h/db`],
    ['redis://:s3cr3t@cache:6379/0', `redis://:${MASK}@cache:6379/0`],
    ['mongodb+srv://admin:p%40ss@cluster0.example.net/?retryWrites=true', `mongodb+srv://admin:${MASK}@cluster0.example.net/?retryWrites=true`],
    ['Server=db;Database=app;User Id=sa;Password=my pass;Encrypt=true', `Server=db;Database=app;User Id=sa;Password=${MASK};Encrypt=true`],
    ['jdbc:mysql://db:3306/app?user=app&password=pa55&ssl=true', `jdbc:mysql://db:3306/app?user=app&password=${MASK}&ssl=true`],
    ['Driver={ODBC Driver 18};Uid=sa;PWD={a;b};', `Driver={ODBC Driver 18};Uid=sa;PWD=${MASK};`],
    ['export DB_PASSWORD = "x y z"', `export DB_PASSWORD = ${MASK}`],
  ],
  card_number: [
    ['4111111111111111', MASK],
    ['card 4111 1111 1111 1111, exp 12/29', `card ${MASK}, exp 12/29`],
    ['5555-5555-5555-4444', MASK],
    ['amex 3782 822463 10005 ok', `amex ${MASK} ok`],
    ['6011111111111117.', `${MASK}.`],
    ['two: 4111111111111111 4012888888881881', `two: ${MASK} ${MASK}`],
    ['ref 12 4111 1111 1111 1111', `ref 12 ${MASK}`],
  ],
};

const nearMisses: Record<DetectorName, string[]> = {
  aws_access_key_id: [
    'AKIAIOSFODNN7EXAMPL', // 19 characters
    'AKIAIOSFODNN7EXAMPLE1', // 21 characters
    'XAKIAIOSFODNN7EXAMPLE',
    'akiaiosfodnn7example',
    'AKIDIOSFODNN7EXAMPLE', // not an access key prefix
  ],
  aws_secret_access_key: [
    SECRET, // 40 base64 characters, no context
    `commit ${SHA1}`,
    `secret commit ${SHA1}`, // hex even with context: a SHA-1
    `aws_secret_access_key=${SECRET}X`, // 41 characters
    'secret: abcdefghijklmnopqrstuvwxyzabcdefghijklmn', // one case only
    `${'x'.repeat(70)}secret${'y'.repeat(70)} ${SECRET}`, // indicator too far away
  ],
  private_key: [
    '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----',
    '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUK\n-----END CERTIFICATE-----',
    'rotate the BEGIN PRIVATE KEY block in the vault',
  ],
  jwt: [
    'com.example.app',
    'version 1.2.3 of lib.min.js',
    `${b64url({ foo: 'bar' })}.${b64url({ sub: 'x' })}.c2ln`, // JSON header without alg
    `${b64url(['alg'])}.${b64url({ sub: 'x' })}.c2ln`, // not an object
    'aGVsbG8gd29ybGQ.aGVsbG8.aGVsbG8', // base64url, not JSON
  ],
  bearer_token: [
    'the bearer of bad news',
    'Bearer instruments.',
    'Bearer',
    'Bearer tok-1', // too short to be a credential
  ],
  connection_string_password: [
    'https://example.com:8443/path?email=a@b.com',
    'git@github.com:org/repo.git',
    'http://user@host/db',
    'postgres://u:@h/db', // empty password
    'password_reset=true&passwordless=yes',
    'password=',
    'mailto:ops@example.com',
  ],
  card_number: [
    '4111 1111 1111 1112', // fails Luhn
    '4111111111111112',
    'order 1000234567890127', // passes Luhn, but no card starts with 1
    'at 1718035200001 ms', // epoch ms, passes Luhn
    '+44 20 7946 0958',
    'call 004420794609582', // passes Luhn, trunk 0
    '2024-06-01T12:00:00Z',
    '0000 0000 0000 0000', // passes Luhn, a placeholder
    'ORD4111111111111111', // glued to an id
    'pi 3.4111111111111111',
    '4111 1111-1111 1111', // mixed separators
    '411 1111 1111 1111 1', // not card grouping
  ],
};

describe('maskSecrets detectors', () => {
  for (const [detector, cases] of Object.entries(positives) as [DetectorName, [string, string][]][]) {
    it.each(cases)(`${detector}: masks %j`, (input, expected) => {
      const result = maskSecrets(input);
      expect(result.text).toBe(expected);
      expect(result.found).toEqual([detector]);
    });
  }
  for (const [detector, cases] of Object.entries(nearMisses) as [DetectorName, string[]][]) {
    it.each(cases)(`${detector}: leaves %j alone`, (input) => {
      expect(maskSecrets(input)).toEqual({ text: input, found: [] });
    });
  }

  it('has at least two positives and two near misses per detector', () => {
    for (const detector of Object.keys(positives) as DetectorName[]) {
      expect(positives[detector].length).toBeGreaterThanOrEqual(2);
      expect(nearMisses[detector].length).toBeGreaterThanOrEqual(2);
    }
  });

  it('masks a secret key in the same string as an access key id, and reports both', () => {
    expect(maskSecrets(`AKIAIOSFODNN7EXAMPLE ${SECRET}`)).toEqual({ text: `${MASK} ${MASK}`, found: ['aws_access_key_id', 'aws_secret_access_key'] });
  });

  it('reports a JWT after Bearer once, as a jwt', () => {
    expect(maskSecrets(`Authorization: Bearer ${JWT}`)).toEqual({ text: `Authorization: Bearer ${MASK}`, found: ['jwt'] });
  });

  it('masks several kinds in one string, keeping the text between them', () => {
    const result = maskSecrets(`db postgres://a:b@h, card 4111111111111111, id AKIAIOSFODNN7EXAMPLE`);
    expect(result.text).toBe(`db postgres://a:${MASK}@h, card ${MASK}, id ${MASK}`);
    expect(result.found.sort()).toEqual(['aws_access_key_id', 'card_number', 'connection_string_password']);
  });

  it('does not report matches inside a private key block twice', () => {
    const block = `-----BEGIN PRIVATE KEY-----\nAKIAIOSFODNN7EXAMPLE 4111111111111111\n-----END PRIVATE KEY-----`;
    expect(maskSecrets(block).found).toEqual(['private_key']);
  });

  it('stays fast on large adversarial strings', () => {
    const inputs = [
      'a.'.repeat(100_000),
      'x'.repeat(200_000),
      'a+b-'.repeat(50_000) + '://',
      '1 '.repeat(100_000),
      'password=a '.repeat(20_000),
      '-----BEGIN PRIVATE KEY-----'.repeat(5_000),
      'eyJhbGciOiJub25lIn0.'.repeat(10_000),
    ];
    const started = performance.now();
    for (const input of inputs) maskSecrets(input);
    expect(performance.now() - started).toBeLessThan(3_000);
  });
});

describe('maskRequest', () => {
  const request = {
    action: 'data.export',
    resource: 'arn:aws:rds:eu-west-1:123456789012:db:customers',
    justification: 'Quarterly churn analysis',
    parameters: {
      table: 'customers',
      db: { host: 'db.internal', password: 'hunter2', port: 5432 },
      cache: { password: 'p', user: 'c' },
      users: [
        { name: 'a', token: 't1' },
        { name: 'b', token: 't2' },
      ],
      connection: { url: 'postgres://app:pw@db/app', options: { tls: true, pin: 1234, ca: ['x', 'y'] }, none: null },
      commit: SHA1,
      note: 'pay with 4111 1111 1111 1111',
    },
    agent: { name: 'analyst-bot', model: 'some-llm' },
  };

  it('masks listed paths with wildcards, arrays and nested values, and detector hits elsewhere', () => {
    const before = structuredClone(request);
    const result = maskRequest(request, { paths: ['parameters.*.password', 'parameters.users.*.token', 'parameters.connection', 'justification'] });
    expect(request).toEqual(before);
    expect(result.value).toEqual({
      ...request,
      justification: MASK,
      parameters: {
        ...request.parameters,
        db: { host: 'db.internal', password: MASK, port: 5432 },
        cache: { password: MASK, user: 'c' },
        users: [
          { name: 'a', token: MASK },
          { name: 'b', token: MASK },
        ],
        connection: { url: MASK, options: { tls: MASK, pin: MASK, ca: [MASK, MASK] }, none: null },
        note: `pay with ${MASK}`,
      },
    });
    expect(result.masked).toEqual([
      { path: 'justification', reason: 'path' },
      { path: 'parameters.db.password', reason: 'path' },
      { path: 'parameters.cache.password', reason: 'path' },
      { path: 'parameters.users.0.token', reason: 'path' },
      { path: 'parameters.users.1.token', reason: 'path' },
      { path: 'parameters.connection.url', reason: 'path' },
      { path: 'parameters.connection.options.tls', reason: 'path' },
      { path: 'parameters.connection.options.pin', reason: 'path' },
      { path: 'parameters.connection.options.ca.0', reason: 'path' },
      { path: 'parameters.connection.options.ca.1', reason: 'path' },
      { path: 'parameters.note', reason: 'card_number' },
    ]);
    expect(maskedPaths(result)).toContain('parameters.users.1.token');
  });

  it('runs detectors without paths, in arrays too', () => {
    const result = maskRequest({ parameters: { urls: ['https://ok.example', 'postgres://u:pw@h/db'], n: 4111111111111111 } });
    expect(result.value).toEqual({ parameters: { urls: ['https://ok.example', `postgres://u:${MASK}@h/db`], n: 4111111111111111 } });
    expect(result.masked).toEqual([{ path: 'parameters.urls.1', reason: 'connection_string_password' }]);
  });

  it('uses a key named like secret as context for AWS secret keys, values only', () => {
    const value = { parameters: { secretAccessKey: SECRET, secrets: [SECRET], other: SECRET, [SECRET]: 'x', secretSha: SHA1 } };
    const result = maskRequest(value);
    expect(result.value).toEqual({ parameters: { secretAccessKey: MASK, secrets: [MASK], other: SECRET, [SECRET]: 'x', secretSha: SHA1 } });
    expect(maskedPaths(result)).toEqual(['parameters.secretAccessKey', 'parameters.secrets.0']);
  });

  it('never alters keys, even when a key looks like a secret or a path matches it', () => {
    const value = { parameters: { 'postgres://u:pw@h': 1, password: { password: 'x' } } };
    const result = maskRequest(value, { paths: ['parameters.password'] });
    expect(Object.keys(result.value.parameters)).toEqual(['postgres://u:pw@h', 'password']);
    expect(result.value.parameters.password).toEqual({ password: MASK });
  });

  it('treats a path that does not exist as a no-op', () => {
    const value = { parameters: { a: 'b' } };
    const result = maskRequest(value, { paths: ['parameters.missing.password', 'parameters.a.deeper', 'resource', 'agent.name'] });
    expect(result).toEqual({ value, masked: [] });
  });

  it('masks non-string leaves and empty strings at a masked path, but leaves null alone', () => {
    const result = maskRequest({ parameters: { pin: 1234, ok: false, big: 10n, empty: '', gone: null, when: new Date(0) } }, { paths: ['parameters.*'] });
    expect(result.value).toEqual({ parameters: { pin: MASK, ok: MASK, big: MASK, empty: MASK, gone: null, when: MASK } });
    expect(maskedPaths(result)).toEqual(['parameters.pin', 'parameters.ok', 'parameters.big', 'parameters.empty', 'parameters.when']);
  });

  it('masks everything under a root, and agent fields', () => {
    const result = maskRequest(request, { paths: ['parameters', 'agent.*', 'resource'] });
    expect(JSON.stringify(result.value.parameters)).not.toMatch(/hunter2|customers|5432|t1/);
    expect(result.value.agent).toEqual({ name: MASK, model: MASK });
    expect(result.value.resource).toBe(MASK);
    expect(result.value.action).toBe('data.export');
    expect(result.masked.every((entry) => entry.reason === 'path')).toBe(true);
  });

  it('does not mutate the input and keeps the unmasked parameters hashable', () => {
    const value = { parameters: { db: { password: 'hunter2' }, list: ['AKIAIOSFODNN7EXAMPLE'] } };
    const frozen = structuredClone(value);
    const hash = parametersHash(value.parameters);
    const result = maskRequest(value, { paths: ['parameters.db.password'] });
    expect(value).toEqual(frozen);
    expect(result.value.parameters.db).not.toBe(value.parameters.db);
    expect(result.value.parameters.list).toEqual([MASK]);
    expect(parametersHash(value.parameters)).toBe(hash);
    expect(parametersHash(result.value.parameters)).not.toBe(hash);
  });

  it('keeps a __proto__ key as data', () => {
    const value = JSON.parse('{"parameters":{"__proto__":{"password":"x"}}}') as { parameters: Record<string, unknown> };
    const result = maskRequest(value, { paths: ['parameters.*.password'] });
    expect(Object.getPrototypeOf(result.value.parameters)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(result.value.parameters, '__proto__')?.value).toEqual({ password: MASK });
  });

  it('refuses invalid paths and cyclic values', () => {
    expect(() => maskRequest({}, { paths: ['secrets.password'] })).toThrow(/invalid mask path "secrets.password"/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => maskRequest({ parameters: cyclic })).toThrow(/cyclic/);
  });

  it('masks a root string and reports path ""', () => {
    expect(maskRequest('Bearer abc123def456')).toEqual({ value: `Bearer ${MASK}`, masked: [{ path: '', reason: 'bearer_token' }] });
  });
});

describe('maskPathSchema', () => {
  it.each([
    'parameters',
    'parameters.*.password',
    'parameters.db.connection',
    'parameters.users.*.token',
    'parameters.a-b.c_d.0',
    `parameters${'.x'.repeat(15)}`,
    'justification',
    'resource',
    'agent',
    'agent.name',
    'agent.*',
  ])('accepts %j', (path) => {
    expect(maskPathSchema.safeParse(path).success).toBe(true);
  });

  it.each([
    '',
    'parameters.',
    '.parameters',
    'parameters..password',
    'parameters.pass word',
    'parameters.pass.word!',
    'parameters.**',
    'parameters.pa*',
    `parameters${'.x'.repeat(16)}`,
    '*.password',
    'secrets',
    'action',
    'Parameters.x',
    'justification.text',
    'resource.*',
    'agent.owner',
    'agent.name.first',
  ])('rejects %j', (path) => {
    expect(maskPathSchema.safeParse(path).success).toBe(false);
  });

  it('rejects non-strings', () => {
    expect(maskPathSchema.safeParse(['parameters']).success).toBe(false);
  });
});
