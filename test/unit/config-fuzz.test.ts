/**
 * The config loader under hostile input (fast-check): random YAML and JSON, mutations of the shipped config,
 * prototype-pollution keys at every level, YAML's own features (anchors, tags, directives), huge and deep documents.
 * Whatever the text, `parseConfig` answers a valid Config or throws a ConfigError listing problems with paths:
 * never another exception, and never a polluted Object.prototype. Each property logs its run count and seed.
 *
 * The last block holds what this found, each as its minimal case, now a regression test.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { loadConfigFile } from '../../lambdas/adapters/config-file';
import { ConfigError, configSchema } from '../../lambdas/core/config';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { checkProperty, hostileKey, isEntries, type JsonTree, jsonScalar, jsonTree, nest, oddString, preview, toJson, toValue } from '../fixtures/hostile';

const SHIPPED = readFileSync(join(import.meta.dirname, '../../countersign.config.yaml'), 'utf8');
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

type Outcome = { kind: 'config' } | { kind: 'problems'; count: number };

/** Parses, checking the contract: a valid Config, or a ConfigError with at least one `{path, message}`. */
function parseChecked(text: string): Outcome {
  let config: unknown;
  try {
    config = parseConfig(text, 'fuzz.yaml');
  } catch (err) {
    if (!(err instanceof ConfigError))
      throw new Error(`parseConfig threw ${(err as Error)?.name ?? typeof err}: ${(err as Error)?.message ?? String(err)}\ninput: ${preview(text, 500)}`);
    expect(err.problems.length, preview(text)).toBeGreaterThan(0);
    for (const problem of err.problems) {
      expect(typeof problem.path).toBe('string');
      expect(typeof problem.message).toBe('string');
      expect(problem.message.length).toBeGreaterThan(0);
    }
    expect(err.message).toContain('Invalid config fuzz.yaml');
    return { kind: 'problems', count: err.problems.length };
  }
  // What parseConfig answers is a valid config by the full schema.
  expect(configSchema.safeParse(config).success, preview(text)).toBe(true);
  return { kind: 'config' };
}

function expectPrototypeClean(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_NAMES);
}

/** Counts outcomes per property, so a property that only ever hits one branch shows in the log. */
function tally() {
  const counts = new Map<string, number>();
  return {
    add(outcome: Outcome) {
      const key = outcome.kind;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
    log(name: string) {
      console.log(`[property] ${name} outcomes: ${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    },
    get: (key: string) => counts.get(key) ?? 0,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Generators

/** A value with prototype-pollution payloads at every level (as own keys). */
const pollutingTree: fc.Arbitrary<JsonTree> = jsonTree({
  key: fc.oneof({ arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'polluted'), weight: 3 }, { arbitrary: hostileKey, weight: 2 }),
  maxDepth: 4,
});
const pollutionPayload: fc.Arbitrary<JsonTree> = fc.constantFrom<JsonTree>(
  { entries: [['__proto__', { entries: [['polluted', 'yes']] }]] },
  { entries: [['constructor', { entries: [['prototype', { entries: [['polluted', 'yes']] }]] }]] },
  { entries: [['prototype', { entries: [['polluted', 'yes']] }]] },
);

/** Every path (as keys) to a value inside a plain JSON value. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  return out;
}

const shipped = parseYaml(SHIPPED) as Record<string, unknown>;
const shippedPaths = pathsOf(shipped).filter((p) => p.length > 0);

type Mutation = { path: (string | number)[]; op: 'set' | 'delete' | 'add-key'; value: JsonTree; key: string };

/** The shipped config with a few fields replaced, removed or joined by hostile keys: config-shaped input reaches the cross-field checks. */
const mutatedConfig: fc.Arbitrary<unknown> = fc
  .array(
    fc.record({
      path: fc.constantFrom(...shippedPaths),
      op: fc.constantFrom<Mutation['op']>('set', 'set', 'delete', 'add-key'),
      value: fc.oneof(
        jsonScalar,
        jsonTree({ maxDepth: 3 }),
        pollutionPayload,
        fc.constantFrom<JsonTree>(
          { entries: [['toString', 1]] },
          {
            entries: [
              ['valueOf', { entries: [] }],
              ['toString', null],
            ],
          },
          'require_approval',
          'allow',
          'deny',
          '1h',
          '400d',
          '0s',
          'data-owners',
          'env:X',
          'email',
          'slack',
          'teams',
          101,
          0,
          -1,
          true,
        ),
      ),
      key: fc.oneof(
        fc.constantFrom(
          '__proto__',
          'constructor',
          'prototype',
          'require',
          'minApprovals',
          'remindAfter',
          'escalateAfter',
          'escalateTo',
          'channels',
          'requireSignIn',
          'mask',
          'teams',
          'oidc',
        ),
        hostileKey,
      ),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((mutations) => {
    const doc = structuredClone(shipped) as Record<string, unknown>;
    for (const { path, op, value, key } of mutations) {
      let parent: any = doc;
      for (const step of path.slice(0, -1)) {
        if (parent === null || typeof parent !== 'object' || !Object.hasOwn(parent, step)) break;
        parent = parent[step];
      }
      const last = path[path.length - 1]!;
      if (parent === null || typeof parent !== 'object') continue;
      if (op === 'delete') delete parent[last];
      else if (op === 'set') Object.defineProperty(parent, last, { value: toValue(value), enumerable: true, configurable: true, writable: true });
      else if (!Array.isArray(parent[last]) && parent[last] !== null && typeof parent[last] === 'object') {
        Object.defineProperty(parent[last], key, { value: toValue(value), enumerable: true, configurable: true, writable: true });
      }
    }
    return doc;
  });

/** YAML-significant characters: random text of them exercises the parser's error paths. */
const yamlish = fc.string({ unit: fc.constantFrom(...'ab1 :-\n\t[]{},&*!|>\'"%@`#?<=~.\\'.split('')), maxLength: 60 });

/** YAML features a config never needs but a file may hold. */
const yamlFeature = fc.constantFrom(
  '%YAML 1.1\n---\nversion: 1\n',
  '%TAG ! tag:example.com,2000:\n---\nversion: 1\n',
  'version: 1\n---\nversion: 1\n',
  'version: !!str 1\n',
  'version: !!int "1"\n',
  'version: 1\ngroups: !!set { a, b }\n',
  'version: 1\ngroups: !!omap [ a: 1 ]\n',
  'version: 1\nrules: !!binary aGVsbG8=\n',
  'version: 1\nrules: !!timestamp 2001-12-14\n',
  'version: 1\nx: !!js/function "function(){}"\n',
  'version: 1\nx: !custom { a: 1 }\n',
  'version: &v 1\nauditors: [*v]\n',
  'base: &b { effect: allow }\nversion: 1\ndefault: *b\n',
  'version: 1\n<<: { auditors: [a] }\n',
  'version: 1\n? [a, b]\n: 1\n',
  'version: 1\n? { a: 1 }\n: 1\n',
  '\uFEFFversion: 1\n',
  'version: 1\r\nauditors: [a]\r\n',
  'version:\t1\n',
  'version: 1\nversion: 1\n',
  '"version": 1\n"version": 1\n',
  'version: 1\nauditors: ["\\uD800"]\n',
  'version: 1\nauditors: ["\\0"]\n',
  'version: 1 # comment\n# only comments\n',
  '',
  '---\n',
  '...\n',
  'null\n',
  '[version, 1]\n',
  '"version: 1"\n',
);

// ---------------------------------------------------------------------------------------------------------------

describe('config loader under hostile input', () => {
  afterEach(expectPrototypeClean);

  it('random YAML and JSON documents: a Config or a ConfigError naming paths', async () => {
    const t = tally();
    const document = fc.oneof(
      jsonTree({ maxDepth: 5 }),
      pollutingTree,
      jsonTree().map((tree): JsonTree => (isEntries(tree) ? { entries: [['version', 1], ...tree.entries] } : tree)),
    );
    await checkProperty(
      'config: random documents',
      fc.asyncProperty(document, fc.constantFrom('yaml', 'json'), async (tree, format) => {
        const text = format === 'json' ? toJson(tree) : stringify(toValue(tree));
        t.add(parseChecked(text));
        expectPrototypeClean();
      }),
      { numRuns: 400 },
    );
    t.log('config: random documents');
  });

  it('the shipped config mutated at random paths: a Config or a ConfigError naming paths', async () => {
    const t = tally();
    await checkProperty(
      'config: mutations of the shipped config',
      fc.asyncProperty(mutatedConfig, fc.constantFrom('yaml', 'json'), async (doc, format) => {
        t.add(parseChecked(format === 'json' ? JSON.stringify(doc) : stringify(doc)));
        expectPrototypeClean();
      }),
      { numRuns: 500 },
    );
    t.log('config: mutations of the shipped config');
    // The mutations reach both answers, not only one.
    expect(t.get('config')).toBeGreaterThan(0);
    expect(t.get('problems')).toBeGreaterThan(0);
  });

  it('prototype-pollution keys at every level (YAML and JSON) never pollute Object.prototype', async () => {
    const t = tally();
    const at = fc.oneof(
      fc.constant<(string | number)[]>([]),
      fc.constantFrom<(string | number)[]>(
        ['groups'],
        ['groups', 'data-owners'],
        ['groups', 'data-owners', 'members', 0],
        ['rules', 0],
        ['rules', 0, 'match'],
        ['rules', 0, 'match', 'parameters'],
        ['default'],
        ['channels'],
        ['local', 'apiKeys'],
        ['auth'],
      ),
    );
    await checkProperty(
      'config: prototype keys',
      fc.asyncProperty(at, pollutionPayload, pollutingTree, fc.constantFrom('yaml', 'json', 'flow'), async (path, payload, extra, format) => {
        const doc = structuredClone(shipped) as Record<string, unknown>;
        // The deepest object along the path (the shipped config has no rules.0.match.parameters, say).
        let node: any = doc;
        for (const step of path) {
          const next = node[step];
          if (next === null || typeof next !== 'object') break;
          node = next;
        }
        for (const [k, v] of (payload as { entries: [string, JsonTree][] }).entries)
          Object.defineProperty(node, k, { value: toValue(v), enumerable: true, configurable: true, writable: true });
        Object.defineProperty(node, '__proto__', { value: toValue(extra), enumerable: true, configurable: true, writable: true });
        const text = format === 'json' ? JSON.stringify(doc) : format === 'flow' ? stringify(doc, { collectionStyle: 'flow' }) : stringify(doc);
        expect(text).toContain('__proto__');
        t.add(parseChecked(text));
        expectPrototypeClean();
      }),
      { numRuns: 300 },
    );
    t.log('config: prototype keys');
  });

  it('raw text: YAML syntax fragments, YAML features and odd strings', async () => {
    const t = tally();
    const text = fc.oneof(
      yamlish,
      yamlFeature,
      oddString,
      fc.tuple(yamlFeature, yamlish).map(([a, b]) => a + b),
      fc.tuple(fc.constant(SHIPPED), fc.nat({ max: SHIPPED.length }), yamlish).map(([s, at, insert]) => s.slice(0, at) + insert + s.slice(at)),
      fc.tuple(fc.constant(SHIPPED), fc.nat({ max: SHIPPED.length })).map(([s, at]) => s.slice(0, at)),
    );
    await checkProperty(
      'config: raw text',
      fc.asyncProperty(text, async (input) => {
        t.add(parseChecked(input));
        expectPrototypeClean();
      }),
      { numRuns: 500 },
    );
    t.log('config: raw text');
  });

  it('huge and deep documents answer a ConfigError (or a Config), in bounded time', async () => {
    const t = tally();
    const deepText = fc.oneof(
      fc.integer({ min: 50, max: 20_000 }).map((n) => `version: 1\nx: ${'['.repeat(n)}${']'.repeat(n)}\n`),
      fc.integer({ min: 50, max: 20_000 }).map((n) => `{"version":1,"x":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`),
      fc.integer({ min: 50, max: 1_500 }).map((n) => `version: 1\nx:\n${Array.from({ length: n }, (_, i) => `${'  '.repeat(i + 1)}a:`).join('\n')} 1\n`),
      fc
        .integer({ min: 20, max: 200 })
        .map((n) => `version: 1\nrules:\n  - name: r\n    match: ${toJson(nest({ entries: [['a', 1]] }, n, 'object'))}\n    effect: allow\n`),
    );
    const hugeText = fc.oneof(
      fc
        .integer({ min: 1_000, max: 3_000 })
        .map(
          (n) =>
            `version: 1\nchannels: {email: {from: a@example.com}}\ngroups: {g: {members: [{id: a}]}}\nrules:\n${Array.from({ length: n }, (_, i) => `  - {name: r${i}, match: {action: "a.${i}"}, effect: require_approval, approvers: [g], timeout: 1h}`).join('\n')}\n`,
        ),
      fc
        .integer({ min: 1_000, max: 5_000 })
        .map(
          (n) =>
            `version: 1\ngroups:\n${Array.from({ length: n }, (_, i) => `  g${i}: {members: [{id: "m${i}@example.com", email: "m${i}@example.com"}]}`).join('\n')}\n`,
        ),
      fc.integer({ min: 100_000, max: 1_500_000 }).map((n) => `version: 1\nauditors: ["${'x'.repeat(n)}"]\n`),
      fc
        .integer({ min: 1_000, max: 5_000 })
        .map((n) => `version: 1\nlocal: {apiKeys: {${Array.from({ length: n }, (_, i) => `"key-${i}-xxxx": p${i}`).join(', ')}}}\n`),
    );
    await checkProperty(
      'config: huge and deep',
      fc.asyncProperty(fc.oneof(deepText, hugeText), async (input) => {
        const started = Date.now();
        t.add(parseChecked(input));
        expect(Date.now() - started, `${input.length} chars`).toBeLessThan(10_000);
        expectPrototypeClean();
      }),
      { numRuns: 24, interruptAfterTimeLimit: 40_000, minRuns: 10 },
    );
    t.log('config: huge and deep');
  }, 60_000);

  it('loadConfigFile: unreadable, binary, empty and hostile files are ConfigErrors naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-config-fuzz-'));
    try {
      const files: Record<string, string | Buffer> = {
        'binary.yaml': Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x7b, 0x0a]),
        'empty.yaml': '',
        'proto.yaml': 'version: 1\n__proto__: { polluted: yes }\nconstructor: { prototype: { polluted: yes } }\n',
        'utf16.yaml': Buffer.from('\uFEFFversion: 1\n', 'utf16le'),
      };
      for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
      mkdirSync(join(dir, 'a-directory.yaml'));
      for (const name of [...Object.keys(files), 'a-directory.yaml', 'missing.yaml']) {
        const path = join(dir, name);
        let thrown: unknown;
        try {
          loadConfigFile(path);
        } catch (err) {
          thrown = err;
        }
        expect(thrown, name).toBeInstanceOf(ConfigError);
        expect((thrown as ConfigError).source).toBe(path);
        expect((thrown as ConfigError).message).toContain(path);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // -------------------------------------------------------------------------------------------------------------
  // What the properties found, each as its minimal case: now a ConfigError naming the problem.

  describe('found by the properties (regressions)', () => {
    const expectConfigError = (text: string) => {
      let thrown: unknown;
      try {
        parseConfig(text, 'bug.yaml');
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
    };

    it('an alias to an anchor that does not exist is a ConfigError', () => {
      expectConfigError('version: 1\ngroups: *nope\n');
    });

    it('a YAML alias bomb is a ConfigError', () => {
      expectConfigError(
        [
          'a: &a [x, x, x, x, x, x, x, x, x]',
          'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
          'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
          'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
          'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]',
          'version: 1',
          '',
        ].join('\n'),
      );
    });

    it('a member id { toString: 1 } in a group a quorum names is a ConfigError', () => {
      expectConfigError(
        'version: 1\nchannels: { email: { from: a@example.com } }\ngroups: { g: { members: [ { id: { toString: 1 } } ] } }\nrules: [ { name: r, match: {}, effect: require_approval, require: [ { group: g, min: 1 } ] } ]\n',
      );
    });

    it('a timeout { toString: 1 } next to remindAfter is a ConfigError', () => {
      expectConfigError(
        'version: 1\nchannels: { email: { from: a@example.com } }\ngroups: { g: { members: [ { id: a } ] } }\nrules: [ { name: r, match: {}, effect: require_approval, approvers: [g], timeout: { toString: 1 }, remindAfter: 2h } ]\n',
      );
    });
  });
});
