import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideIntake, deriveState } from '../../lambdas/core/approval';
import { type DetectorName, MASK_MARKER, maskedPaths, maskMarker, maskPathSchema, maskRequest, maskSecrets } from '../../lambdas/core/masking';
import { parametersHash } from '../../lambdas/core/receipt';
import { actionRequestSchema } from '../../lambdas/core/request';
import { markHidden } from '../../lambdas/core/text';
import { HOSTILE_CHARACTERS, render, stateWith } from '../fixtures/surfaces';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const UNSIGNED_JWT = `${b64url({ alg: 'none' })}.${b64url({ sub: 'x' })}.`;
const JWE = `${b64url({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6ji.XFBoMYUZodetZdvTiFvSkQ`;
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
const RSA_KEY = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy\n0AHB7MkQk4lY5EaHrU4q\n-----END RSA PRIVATE KEY-----';
const OPENSSH_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----';
const PGP_KEY = '-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBF0j2ZYBCADc\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----';
const ENCRYPTED_KEY = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQww\n-----END ENCRYPTED PRIVATE KEY-----';

/** The marker a detector leaves for `secret`. */
const by = (detector: DetectorName | 'path') => (secret: string) => maskMarker(detector, Array.from(secret).length);
const key = by('aws_access_key_id');
const secret = by('aws_secret_access_key');
const pem = by('private_key');
const jwt = by('jwt');
const bearer = by('bearer_token');
const password = by('connection_string_password');
const card = by('card_number');
const configured = by('path');
const RSA_BODY = 'MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy\n0AHB7MkQk4lY5EaHrU4q';

/** [input, expected output] per detector; near misses are inputs that must come back unchanged. */
const positives: Record<DetectorName, [string, string][]> = {
  aws_access_key_id: [
    ['AKIAIOSFODNN7EXAMPLE', key('AKIAIOSFODNN7EXAMPLE')],
    ['key id ASIAY34FZKBOKMUTVV7A, region eu-west-1', `key id ${key('ASIAY34FZKBOKMUTVV7A')}, region eu-west-1`],
    ['{"AccessKeyId":"ABIAZZZZZZZZZZZZZZZZ"}', `{"AccessKeyId":"${key('ABIAZZZZZZZZZZZZZZZZ')}"}`],
  ],
  aws_secret_access_key: [
    [`aws_secret_access_key=${SECRET}`, `aws_secret_access_key=${secret(SECRET)}`],
    [`AWS_SECRET_ACCESS_KEY: "${SECRET}"`, `AWS_SECRET_ACCESS_KEY: "${secret(SECRET)}"`],
    [`the secret key is ${SECRET} ok`, `the secret key is ${secret(SECRET)} ok`],
  ],
  private_key: [
    [RSA_KEY, `-----BEGIN RSA PRIVATE KEY-----\n${pem(RSA_BODY)}\n-----END RSA PRIVATE KEY-----`],
    [
      `key:\n${OPENSSH_KEY}\nthanks`,
      `key:\n-----BEGIN OPENSSH PRIVATE KEY-----\n${pem('b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ')}\n-----END OPENSSH PRIVATE KEY-----\nthanks`,
    ],
    // Armor headers hold no secret: they stay.
    [PGP_KEY, `-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n${pem('lQOYBF0j2ZYBCADc\n=abcd')}\n-----END PGP PRIVATE KEY BLOCK-----`],
    [ENCRYPTED_KEY, `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${pem('MIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQww')}\n-----END ENCRYPTED PRIVATE KEY-----`],
    // Truncated: no END line, so the key lines it has go.
    ['-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yBxAQ', `-----BEGIN EC PRIVATE KEY-----\n${pem('MHcCAQEEIBkg4LVWM9nuwNSk3yBxAQ')}`],
    // Flattened to one line: still a complete block.
    [
      '-----BEGIN RSA PRIVATE KEY----- MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy 0AHB7MkQk4lY5EaHrU4q -----END RSA PRIVATE KEY-----',
      `-----BEGIN RSA PRIVATE KEY----- ${pem('MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy 0AHB7MkQk4lY5EaHrU4q')} -----END RSA PRIVATE KEY-----`,
    ],
    // Other text before the END line: only the key line goes, the rest stays.
    [
      '-----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\n--force yes\n-----END PRIVATE KEY-----',
      `-----BEGIN PRIVATE KEY-----\n${pem('MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn')}\n--force yes\n-----END PRIVATE KEY-----`,
    ],
    // Truncated, then a blank line and a command's flags: the flags stay.
    [
      'deploy --key "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yBxAQ\nAwEHoUQDQgAEtruncated12345\n\n--force --delete-all\nyes',
      `deploy --key "-----BEGIN EC PRIVATE KEY-----\n${pem('MHcCAQEEIBkg4LVWM9nuwNSk3yBxAQ\nAwEHoUQDQgAEtruncated12345')}\n\n--force --delete-all\nyes`,
    ],
    // Written out with \n, inside a command: the flags after it stay.
    [
      String.raw`ssh-add --key "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\n-----END RSA PRIVATE KEY-----" --force`,
      String.raw`ssh-add --key "-----BEGIN RSA PRIVATE KEY-----\n` +
        pem('MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn') +
        String.raw`\n-----END RSA PRIVATE KEY-----" --force`,
    ],
  ],
  jwt: [
    [JWT, jwt(JWT)],
    [`token=${JWT}; path=/`, `token=${jwt(JWT)}; path=/`],
    [`unsigned ${UNSIGNED_JWT} end`, `unsigned ${jwt(UNSIGNED_JWT)} end`],
    [`jwe ${JWE}`, `jwe ${jwt(JWE)}`],
    [`prefix.${JWT}`, `prefix.${jwt(JWT)}`],
  ],
  bearer_token: [
    ['Authorization: Bearer abc123def456ghi789', `Authorization: Bearer ${bearer('abc123def456ghi789')}`],
    ['curl -H "authorization: bearer sk_live_51H8xYz" https://api', `curl -H "authorization: bearer ${bearer('sk_live_51H8xYz')}" https://api`],
    ['BEARER dGhpcyBpcyBhIHRva2Vu== then.', `BEARER ${bearer('dGhpcyBpcyBhIHRva2Vu==')} then.`],
    ['Bearer AbCdEfGhIjKlMnOpQrStUv.', `Bearer ${bearer('AbCdEfGhIjKlMnOpQrStUv')}.`],
  ],
  connection_string_password: [
    ['postgres://u:hunter2@h/db', `postgres://u:${password('hunter2')}@h/db`],
    ['redis://:s3cr3t@cache:6379/0', `redis://:${password('s3cr3t')}@cache:6379/0`],
    ['mongodb+srv://admin:p%40ss@cluster0.example.net/?retryWrites=true', `mongodb+srv://admin:${password('p%40ss')}@cluster0.example.net/?retryWrites=true`],
    // In a key=value; list a value runs to the `;`, spaces and all, as ADO reads it.
    ['Server=db;Database=app;User Id=sa;Password=my pass;Encrypt=true', `Server=db;Database=app;User Id=sa;Password=${password('my pass')};Encrypt=true`],
    ['Password=my pass;Server=db', `Password=${password('my pass')};Server=db`],
    ['jdbc:mysql://db:3306/app?user=app&password=pa55&ssl=true', `jdbc:mysql://db:3306/app?user=app&password=${password('pa55')}&ssl=true`],
    // Braces and quotes are syntax: what is inside them is the secret.
    ['Driver={ODBC Driver 18};Uid=sa;PWD={a;b};', `Driver={ODBC Driver 18};Uid=sa;PWD={${password('a;b')}};`],
    ['export DB_PASSWORD = "x y z"', `export DB_PASSWORD = "${password('x y z')}"`],
    // Outside such a list, one token: what follows it is shown.
    ['WHERE pwd = x OR TRUE', `WHERE pwd = ${password('x')} OR TRUE`],
    ['UPDATE users SET role = 1 WHERE pwd = x OR TRUE;', `UPDATE users SET role = 1 WHERE pwd = ${password('x')} OR TRUE;`],
    ['pwd = x OR TRUE;', `pwd = ${password('x')} OR TRUE;`],
    ["WHERE pwd='x' OR '1'='1'", `WHERE pwd='${password('x')}' OR '1'='1'`],
  ],
  card_number: [
    ['4111111111111111', card('4111111111111111')],
    ['card 4111 1111 1111 1111, exp 12/29', `card ${card('4111 1111 1111 1111')}, exp 12/29`],
    ['5555-5555-5555-4444', card('5555-5555-5555-4444')],
    ['amex 3782 822463 10005 ok', `amex ${card('3782 822463 10005')} ok`],
    ['6011111111111117.', `${card('6011111111111117')}.`],
    ['two: 4111111111111111 4012888888881881', `two: ${card('4111111111111111')} ${card('4012888888881881')}`],
    ['ref 12 4111 1111 1111 1111', `ref 12 ${card('4111 1111 1111 1111')}`],
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
    // A BEGIN line with no key after it hides nothing: the flags stay.
    'openssl rsa -----BEGIN RSA PRIVATE KEY----- --passout pass:x',
    // SQL reads the PEM lines as comments: a statement between them is not a key.
    '-----BEGIN PRIVATE KEY-----\nVACUUM\n-----END PRIVATE KEY-----',
    '-----BEGIN PRIVATE KEY-----\nDROP TABLE users\n-----END PRIVATE KEY-----',
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
    'password=""', // nothing inside the quotes
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
    expect(maskSecrets(`AKIAIOSFODNN7EXAMPLE ${SECRET}`)).toEqual({
      text: `${key('AKIAIOSFODNN7EXAMPLE')} ${secret(SECRET)}`,
      found: ['aws_access_key_id', 'aws_secret_access_key'],
    });
  });

  it('reports a JWT after Bearer once, as a jwt', () => {
    expect(maskSecrets(`Authorization: Bearer ${JWT}`)).toEqual({ text: `Authorization: Bearer ${jwt(JWT)}`, found: ['jwt'] });
  });

  it('masks several kinds in one string, keeping the text between them', () => {
    const result = maskSecrets(`db postgres://a:b@h, card 4111111111111111, id AKIAIOSFODNN7EXAMPLE`);
    expect(result.text).toBe(`db postgres://a:${password('b')}@h, card ${card('4111111111111111')}, id ${key('AKIAIOSFODNN7EXAMPLE')}`);
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
      `${'a+b-'.repeat(50_000)}://`,
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
      justification: configured('Quarterly churn analysis'),
      parameters: {
        ...request.parameters,
        db: { host: 'db.internal', password: configured('hunter2'), port: 5432 },
        cache: { password: configured('p'), user: 'c' },
        users: [
          { name: 'a', token: configured('t1') },
          { name: 'b', token: configured('t2') },
        ],
        connection: {
          url: configured('postgres://app:pw@db/app'),
          options: { tls: configured('true'), pin: configured('1234'), ca: [configured('x'), configured('y')] },
          none: null,
        },
        note: `pay with ${card('4111 1111 1111 1111')}`,
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
    expect(result.value).toEqual({ parameters: { urls: ['https://ok.example', `postgres://u:${password('pw')}@h/db`], n: 4111111111111111 } });
    expect(result.masked).toEqual([{ path: 'parameters.urls.1', reason: 'connection_string_password' }]);
  });

  it('uses a key named like secret as context for AWS secret keys, in values and in the keys below it', () => {
    const value = { parameters: { secretAccessKey: SECRET, secrets: [SECRET], other: SECRET, [SECRET]: 'x', secretSha: SHA1, secret: { [SECRET]: 1 } } };
    const result = maskRequest(value);
    expect(result.value).toEqual({
      parameters: {
        secretAccessKey: secret(SECRET),
        secrets: [secret(SECRET)],
        other: SECRET,
        [SECRET]: 'x',
        secretSha: SHA1,
        secret: { [secret(SECRET)]: 1 },
      },
    });
    expect(result.masked).toEqual([
      { path: 'parameters.secretAccessKey', reason: 'aws_secret_access_key' },
      { path: 'parameters.secrets.0', reason: 'aws_secret_access_key' },
      { path: `parameters.secret.${secret(SECRET)}`, reason: 'aws_secret_access_key', key: true },
    ]);
  });

  it('masks secrets used as keys, records each with its masked path, and keeps every value', () => {
    const value = {
      parameters: {
        AKIAIOSFODNN7EXAMPLE: 1,
        'password=hunter2': true,
        nested: { 'postgres://u:pw@h': { AKIAIOSFODNN7EXAMPLE: 'AKIAIOSFODNN7EXAMPLE' } },
        plain: 'kept',
      },
    };
    const result = maskRequest(value);
    const masked = key('AKIAIOSFODNN7EXAMPLE');
    expect(result.value).toEqual({
      parameters: {
        [masked]: 1,
        [`password=${password('hunter2')}`]: true,
        nested: { [`postgres://u:${password('pw')}@h`]: { [masked]: masked } },
        plain: 'kept',
      },
    });
    expect(JSON.stringify(result.value)).not.toMatch(/AKIAIOSFODNN7EXAMPLE|hunter2|:pw@/);
    expect(result.masked).toEqual([
      { path: `parameters.${masked}`, reason: 'aws_access_key_id', key: true },
      { path: `parameters.password=${password('hunter2')}`, reason: 'connection_string_password', key: true },
      { path: `parameters.nested.postgres://u:${password('pw')}@h`, reason: 'connection_string_password', key: true },
      { path: `parameters.nested.postgres://u:${password('pw')}@h.${masked}`, reason: 'aws_access_key_id', key: true },
      { path: `parameters.nested.postgres://u:${password('pw')}@h.${masked}`, reason: 'aws_access_key_id' },
    ]);
  });

  it('keeps masked keys unique: none collides with another masked key or with a key as written', () => {
    const masked = key('AKIAIOSFODNN7EXAMPLE');
    const value = { parameters: { AKIAIOSFODNN7EXAMPLE: 1, AKIAIOSFODNN7EXAMPLF: 2, [masked]: 3, [`${masked} (2)`]: 4, AKIAIOSFODNN7EXAMPLG: 5 } };
    const result = maskRequest(value);
    expect(result.value.parameters).toEqual({ [`${masked} (3)`]: 1, [`${masked} (4)`]: 2, [masked]: 3, [`${masked} (2)`]: 4, [`${masked} (5)`]: 5 });
    expect(Object.values(result.value.parameters).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(maskedPaths(result)).toEqual([`parameters.${masked} (3)`, `parameters.${masked} (4)`, `parameters.${masked} (5)`]);
  });

  it('matches configured paths against keys as written, and masks secret keys under a masked path', () => {
    const value = { parameters: { 'postgres://u:pw@h': 1, password: { password: 'x', AKIAIOSFODNN7EXAMPLE: 7 } } };
    const result = maskRequest(value, { paths: ['parameters.password'] });
    expect(result.value.parameters).toEqual({
      [`postgres://u:${password('pw')}@h`]: 1,
      password: { password: configured('x'), [key('AKIAIOSFODNN7EXAMPLE')]: configured('7') },
    });
    expect(result.masked).toEqual([
      { path: `parameters.postgres://u:${password('pw')}@h`, reason: 'connection_string_password', key: true },
      { path: `parameters.password.${key('AKIAIOSFODNN7EXAMPLE')}`, reason: 'aws_access_key_id', key: true },
      { path: 'parameters.password.password', reason: 'path' },
      { path: `parameters.password.${key('AKIAIOSFODNN7EXAMPLE')}`, reason: 'path' },
    ]);
  });

  it('treats a path that does not exist as a no-op', () => {
    const value = { parameters: { a: 'b' } };
    const result = maskRequest(value, { paths: ['parameters.missing.password', 'parameters.a.deeper', 'resource', 'agent.name'] });
    expect(result).toEqual({ value, masked: [] });
  });

  it('masks non-string leaves and empty strings at a masked path, but leaves null alone', () => {
    const result = maskRequest({ parameters: { pin: 1234, ok: false, big: 10n, empty: '', gone: null, when: new Date(0) } }, { paths: ['parameters.*'] });
    expect(result.value).toEqual({
      parameters: {
        pin: configured('1234'),
        ok: configured('false'),
        big: configured('10'),
        empty: configured(''),
        gone: null,
        when: configured('1970-01-01T00:00:00.000Z'),
      },
    });
    expect(result.value.parameters.empty).toBe('[masked: configured path, 0 chars]');
    expect(maskedPaths(result)).toEqual(['parameters.pin', 'parameters.ok', 'parameters.big', 'parameters.empty', 'parameters.when']);
  });

  it('masks everything under a root, and agent fields', () => {
    const result = maskRequest(request, { paths: ['parameters', 'agent.*', 'resource'] });
    expect(JSON.stringify(result.value.parameters)).not.toMatch(/hunter2|customers|5432|t1/);
    expect(result.value.agent).toEqual({ name: configured('analyst-bot'), model: configured('some-llm') });
    expect(result.value.resource).toBe(configured(request.resource));
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
    expect(result.value.parameters.list).toEqual([key('AKIAIOSFODNN7EXAMPLE')]);
    expect(parametersHash(value.parameters)).toBe(hash);
    expect(parametersHash(result.value.parameters)).not.toBe(hash);
  });

  it('keeps a __proto__ key as data', () => {
    const value = JSON.parse('{"parameters":{"__proto__":{"password":"x"}}}') as { parameters: Record<string, unknown> };
    const result = maskRequest(value, { paths: ['parameters.*.password'] });
    expect(Object.getPrototypeOf(result.value.parameters)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(result.value.parameters, '__proto__')?.value).toEqual({ password: configured('x') });
  });

  it('refuses invalid paths and cyclic values', () => {
    expect(() => maskRequest({}, { paths: ['secrets.password'] })).toThrow(/invalid mask path "secrets.password"/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => maskRequest({ parameters: cyclic })).toThrow(/cyclic/);
  });

  it('masks a root string and reports path ""', () => {
    expect(maskRequest('Bearer abc123def456')).toEqual({ value: `Bearer ${bearer('abc123def456')}`, masked: [{ path: '', reason: 'bearer_token' }] });
  });
});

describe('masking as readers read', () => {
  it('masks a URL password up to the last @ before the host, as a URL parser reads it', () => {
    const cases: Array<[string, string]> = [
      ['mongodb://u:p@ss@w0rd@host/db', 'mongodb://u:[masked: connection_string_password, 9 chars]@host/db'],
      ['https://u:p@evil.example@good.example/', 'https://u:[masked: connection_string_password, 14 chars]@good.example/'],
      ['mongodb://user@x:pass@host', 'mongodb://user@x:[masked: connection_string_password, 4 chars]@host'],
      ['https://host:8443/a?to=x@y', 'https://host:8443/a?to=x@y'],
    ];
    for (const [text, shown] of cases) {
      expect(maskSecrets(text).text).toBe(shown);
      // What a URL parser takes for the password never shows.
      const password = URL.canParse(text) ? decodeURIComponent(new URL(text).password) : '';
      if (password) expect(maskSecrets(text).text.replace(new RegExp(MASK_MARKER.source, 'g'), '')).not.toContain(password);
    }
  });

  it('matches configured paths as policy reads keys: canonical, dotted, through lists', () => {
    const parameters = {
      PIN: '4821',
      'pin ': '1',
      '\uFF50\uFF49\uFF4E': '2',
      'pin\u200B': '3',
      customer: [{ ssn: '123-45-6789' }],
      'customer.ssn': '987-65-4321',
      other: 'x',
    };
    const { value } = maskRequest({ parameters }, { paths: ['parameters.pin', 'parameters.customer.ssn'] });
    const shown = JSON.stringify(value);
    for (const secret of ['4821', '123-45-6789', '987-65-4321']) expect(shown).not.toContain(secret);
    expect(value.parameters.other).toBe('x');
    expect(Object.values(value.parameters).filter((v) => typeof v === 'string' && MASK_MARKER.test(v))).toHaveLength(5);
  });

  it('a * segment matches one key, and a dotted key for every segment it spells', () => {
    for (const key of ['db.password', 'DB.PASSWORD', ' db . password']) {
      const { value } = maskRequest({ parameters: { [key]: 'hunter2' } }, { paths: ['parameters.*.password'] });
      expect(JSON.stringify(value), key).not.toContain('hunter2');
    }
    const nested = maskRequest({ parameters: { db: { password: 'hunter2' }, other: { user: 'ada' } } }, { paths: ['parameters.*.password'] });
    expect(JSON.stringify(nested.value)).not.toContain('hunter2');
    expect(JSON.stringify(nested.value)).toContain('ada');
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

describe('masking a recorded request', () => {
  it('a marker may make a field longer than intake allows: the recorded request still reads back', () => {
    const request = actionRequestSchema.parse({ action: 'db.query', environment: `${'e'.repeat(120)} pwd=ab`, parameters: { q: 'x' } });
    const masked = maskRequest(request).value;
    expect(masked.environment).toBe(`${'e'.repeat(120)} pwd=${password('ab')}`);
    expect(actionRequestSchema.safeParse(masked).success).toBe(false);
    const records = decideIntake([], {
      requester: 'agent',
      request: masked,
      bodyCommitment: 'h',
      parametersCommitment: 'p',
      masked: [],
      policy: { rule: 'r', effect: 'require_approval', requiredApprovals: 1, approvers: ['a'] },
    });
    const chain = records.map((e, i) => ({
      requestId: 'act_1',
      seq: i + 1,
      at: '2026-01-01T00:00:00Z',
      prevHash: '0'.repeat(64),
      hash: '0'.repeat(64),
      signature: '',
      keyId: 'k',
      ...e,
    }));
    expect(deriveState(chain)?.request.environment).toBe(masked.environment);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties

/** Text around a secret that no detector reads: words of letters and harmless punctuation. */
const surrounding = fc.array(fc.stringMatching(/^[A-Za-z.,!?()-]{1,12}$/), { maxLength: 6 }).map((words) => words.join(' '));
const b64 = (chars: string, min: number, max: number) => fc.array(fc.constantFrom(...chars), { minLength: min, maxLength: max }).map((a) => a.join(''));
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const BASE64 = `${UPPER}abcdefghijklmnopqrstuvwxyz0123456789+/`;
/** A card number with a network's first digit that passes Luhn. */
const cardNumber = fc.tuple(fc.constantFrom('4', '5', '6'), b64('0123456789', 14, 14)).map(([first, rest]) => {
  const body = first + rest;
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return body + String((10 - (sum % 10)) % 10);
});

/** [the text to plant, the secret in it] for each detector. */
const planted: fc.Arbitrary<readonly [string, string]> = fc.oneof(
  b64(`${UPPER}0123456789`, 16, 16).map((tail) => [`AKIA${tail}`, `AKIA${tail}`] as const),
  b64(BASE64, 40, 40)
    .filter((s) => /[A-Z]/.test(s) && /[a-z]/.test(s) && !/^[0-9a-fA-F]+$/.test(s))
    .map((s) => [`aws_secret_access_key=${s}`, s] as const),
  fc.tuple(b64(BASE64.replace('+/', '_-'), 20, 60), fc.string({ maxLength: 12 })).map(([signature, sub]) => {
    const token = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub })}.${signature}`;
    return [token, token] as const;
  }),
  b64(`${BASE64}!#$%^*`, 8, 24).map((pw) => [`password=${pw}`, pw] as const),
  b64(`${BASE64.replace('/', '')}!$%^*`, 8, 24).map((pw) => [`postgres://app:${pw}@db.internal/app`, pw] as const),
  b64(`${BASE64}-._~`, 24, 48)
    .filter((t) => !/\.$/.test(t) && !t.includes('.') /* a dotted token might read as a JWT */)
    .map((t) => [`Authorization: Bearer ${t}`, t] as const),
  cardNumber.map((n) => [n, n] as const),
  fc.array(b64(BASE64, 64, 64), { minLength: 1, maxLength: 4 }).map((lines) => {
    const body = lines.join('\n');
    return [`-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`, body] as const;
  }),
  fc.array(b64(BASE64, 64, 64), { minLength: 1, maxLength: 4 }).map((lines) => {
    const body = lines.join('\n');
    return [`-----BEGIN EC PRIVATE KEY-----\n${body}`, body] as const; // truncated: no END line
  }),
);

describe('masking properties', () => {
  it('a planted secret never reaches the output; the text around it does, with a marker of its length', () => {
    fc.assert(
      fc.property(surrounding, planted, surrounding, (before, [text, secret], after) => {
        const result = maskSecrets(`${before} ${text} ${after}`);
        expect(result.text).not.toContain(secret);
        expect(result.text.startsWith(`${before} `)).toBe(true);
        expect(result.text.endsWith(` ${after}`)).toBe(true);
        expect(result.found.length).toBeGreaterThan(0);
        expect(result.text).toMatch(MASK_MARKER);
        expect(result.text).toContain(`, ${Array.from(secret).length} char`);
      }),
      { numRuns: 300 },
    );
  });

  it('the flags of a command after a truncated key, past a blank line, stay visible', () => {
    fc.assert(
      fc.property(fc.array(b64(BASE64, 64, 64), { minLength: 1, maxLength: 3 }), surrounding, (lines, flags) => {
        const result = maskSecrets(`deploy --key "-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n\n--force ${flags}`);
        for (const line of lines) expect(result.text).not.toContain(line);
        expect(result.text.endsWith(`\n\n--force ${flags}`)).toBe(true);
      }),
    );
  });

  it('a planted secret used as a key, or inside one, never reaches the output, and no value is lost', () => {
    fc.assert(
      fc.property(surrounding, planted, fc.integer(), (before, [text, secret], n) => {
        const parameters = { [`${before} ${text}`]: n, [text]: n + 1, plain: before };
        const result = maskRequest({ parameters });
        expect(JSON.stringify(result.value)).not.toContain(secret);
        expect(Object.values(result.value.parameters).sort()).toEqual(Object.values(parameters).sort());
        expect(result.value.parameters.plain).toBe(before);
        expect(result.masked.filter((entry) => entry.key).length).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 200 },
    );
  });
});

describe('hidden character properties', () => {
  /** Text mixing hostile characters with anything else (lone surrogates, markup, emoji joiners included). */
  const hostileText = fc
    .array(
      fc.oneof(fc.constantFrom(...HOSTILE_CHARACTERS.map(([, c]) => c), '\u200D', '👩\u200D💻', '\t', '\n'), fc.string({ unit: 'binary', maxLength: 4 })),
      { maxLength: 12 },
    )
    .map((parts) => parts.join(''));

  it('never appear raw on any surface: marking what a surface shows changes nothing', () => {
    fc.assert(
      fc.property(hostileText, (text) => {
        const output = render(stateWith(text, (field) => `${field}${text}`));
        for (const [surface, strings] of Object.entries(output)) {
          for (const shown of strings) expect(markHidden(shown), surface).toBe(shown);
        }
      }),
      { numRuns: 150 },
    );
  });
});
