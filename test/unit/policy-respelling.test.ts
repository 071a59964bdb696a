/**
 * Policy under respelling (fast-check): random configs of rules with varied conditions and strictness, random
 * requests, and random respellings of what the request says. Whenever policy decides, a respelled request (case,
 * surrounding and inner white space, full-width and other compatibility forms, ligatures, invisible characters,
 * numbers as text, values wrapped in one-element lists, parameter keys respelled or dotted) gets the same outcome
 * or is refused: never a less strict one. And a value a reached rule cannot judge never lets a later rule decide.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Config } from '../../lambdas/core/config';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { evaluatePolicy, type PolicyInput, type PolicyVerdict } from '../../lambdas/core/policy';

const STRICTNESS = { allow: 0, require_approval: 1, deny: 2 } as const;
type Effect = keyof typeof STRICTNESS;

// ---------------------------------------------------------------------------------------------------------------
// Vocabulary: what rules name and requests send overlap, so rules match often.

const ENVIRONMENTS = ['production', 'staging', 'dev', 'eu west'];
const RESOURCES = ['arn:aws:rds:eu-west-1:123456789012:db:prod-main', 'arn:aws:s3:::prod-files', 'arn:aws:s3:::dev-logs'];
const RESOURCE_GLOBS = ['arn:aws:rds:*:*:db:prod-*', 'arn:aws:s3:::prod-*', '*logs', '*fi*', '*'];
const AGENTS = ['analyst-bot', 'ops bot', 'Reporter'];
const AGENT_GLOBS = ['analyst-*', 'ops *', '*bot', 'reporter'];
const PEOPLE = ['carol@example.com', 'dan@other.org'];
const PEOPLE_GLOBS = ['*@example.com', 'carol@*', 'dan@other.org'];
const FORMATS = ['csv', 'parquet', 'json', 'csv gz'];
const TABLES = ['customers', 'orders', 'office files'];
const HOSTS = ['prod-db', 'dev-db'];
const NUMBERS = [0, 5, 100, 9999, 10000, 10001, 50000, 0.5, -3];

/** A condition on one parameter: one or two operators, with bounds and values of every type. */
const scalarValue = fc.oneof(
  fc.constantFrom<string | number | boolean>(...FORMATS, ...TABLES, ...HOSTS, 'true'),
  fc.constantFrom(...NUMBERS),
  fc.constantFrom('10000', '5e4', '100'),
  fc.boolean(),
);
const operator = fc.oneof(
  fc.record({ gt: fc.constantFrom(...NUMBERS) }),
  fc.record({ gte: fc.constantFrom(...NUMBERS) }),
  fc.record({ lt: fc.constantFrom(...NUMBERS) }),
  fc.record({ lte: fc.constantFrom(...NUMBERS) }),
  fc.record({ equals: scalarValue }),
  fc.record({ in: fc.array(scalarValue, { minLength: 1, maxLength: 3 }) }),
  fc.record({ not: fc.oneof(scalarValue, fc.array(scalarValue, { minLength: 1, maxLength: 2 })) }),
  fc.record({ exists: fc.boolean() }),
  fc.record({ glob: fc.constantFrom('cust*', 'prod-*', '*', 'c*', '1*', '5*', '*s', 'office *') }),
);
const condition = fc.array(operator, { minLength: 1, maxLength: 2 }).map((ops) => Object.assign({}, ...ops) as Record<string, unknown>);
const PATHS = ['rows', 'format', 'dryRun', 'table', 'db.host'] as const;

/** A match of up to three fields, so rules match often enough to decide. */
const match = fc
  .record({
    environment: fc.oneof(fc.constantFrom(...ENVIRONMENTS), fc.uniqueArray(fc.constantFrom(...ENVIRONMENTS), { minLength: 1, maxLength: 3 })),
    resource: fc.constantFrom(...RESOURCE_GLOBS),
    agent: fc.constantFrom(...AGENT_GLOBS).map((name) => ({ name })),
    onBehalfOf: fc.constantFrom(...PEOPLE_GLOBS),
    parameters: fc.dictionary(fc.constantFrom(...PATHS), condition, { minKeys: 1, maxKeys: 2 }),
  })
  .chain((all) =>
    fc.subarray(Object.keys(all) as Array<keyof typeof all>, { minLength: 1, maxLength: 3 }).map((keys) => Object.fromEntries(keys.map((k) => [k, all[k]]))),
  );
const effect = fc.constantFrom<Effect>('allow', 'require_approval', 'deny');

const configArb = fc.record({ rules: fc.array(fc.record({ match, effect }), { minLength: 1, maxLength: 5 }), fallback: effect }).map(({ rules, fallback }) => {
  const outcome = (e: Effect) => (e === 'require_approval' ? { effect: e, approvers: ['owners'] } : { effect: e });
  return parseConfig(
    stringify({
      version: 1,
      groups: { owners: { members: [{ id: 'alice@example.com' }] } },
      channels: { email: { from: 'countersign@example.com' } },
      rules: rules.map((r, i) => ({ name: `r${i}`, match: r.match, ...outcome(r.effect) })),
      default: outcome(fallback),
    }),
  );
});

const requestArb: fc.Arbitrary<PolicyInput> = fc
  .record(
    {
      environment: fc.constantFrom(...ENVIRONMENTS),
      resource: fc.constantFrom(...RESOURCES),
      agent: fc.constantFrom(...AGENTS).map((name) => ({ name })),
      onBehalfOf: fc.constantFrom(...PEOPLE),
      parameters: fc.record(
        {
          rows: fc.constantFrom(...NUMBERS),
          format: fc.constantFrom(...FORMATS),
          dryRun: fc.boolean(),
          table: fc.constantFrom(...TABLES),
          db: fc.constantFrom(...HOSTS).map((host) => ({ host })),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  )
  .map((r) => ({ action: 'data.export', ...r }));

// ---------------------------------------------------------------------------------------------------------------
// Respellings: each keeps the canonical form (or adds what intake refuses).

const FULL_WIDTH = (s: string) => s.replace(/[!-~]/g, (c) => String.fromCodePoint(c.codePointAt(0)! - 0x21 + 0xff01)).replace(/ /g, '\u3000');
const MATH_BOLD = (s: string) =>
  s.replace(/[A-Za-z0-9]/g, (c) => {
    const code = c.codePointAt(0)!;
    if (c >= 'a') return String.fromCodePoint(0x1d41a + code - 0x61);
    if (c >= 'A') return String.fromCodePoint(0x1d400 + code - 0x41);
    return String.fromCodePoint(0x1d7ce + code - 0x30);
  });
const INVISIBLE = ['\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD', '\u202E', '\u0000'];
const SPACES = [' ', '\u00A0', '\u3000', '\u2003', '  '];

type TextRespelling =
  | { kind: 'upper' | 'mixed' | 'full-width' | 'math-bold' | 'ligature' }
  | { kind: 'pad' | 'inner-space' | 'invisible'; pick: number; at: number };
// Invisible characters are rarer: in the fields rules name things by, intake refuses them, which ends the run.
const textRespelling: fc.Arbitrary<TextRespelling> = fc.oneof(
  {
    arbitrary: fc.constantFrom<TextRespelling>({ kind: 'upper' }, { kind: 'mixed' }, { kind: 'full-width' }, { kind: 'math-bold' }, { kind: 'ligature' }),
    weight: 5,
  },
  { arbitrary: fc.record({ kind: fc.constantFrom('pad' as const, 'inner-space' as const), pick: fc.nat(), at: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('invisible' as const), pick: fc.nat(), at: fc.nat() }), weight: 1 },
);

function respellText(text: string, how: TextRespelling): string {
  switch (how.kind) {
    case 'upper':
      return text.toUpperCase();
    case 'mixed':
      return [...text].map((c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase())).join('');
    case 'full-width':
      return FULL_WIDTH(text);
    case 'math-bold':
      return MATH_BOLD(text);
    case 'ligature':
      return text.replace(/fi/g, '\uFB01').replace(/ff/g, '\uFB00');
    case 'pad':
      return `${SPACES[how.pick % SPACES.length]}${text}${SPACES[(how.pick + 1) % SPACES.length]}`;
    case 'inner-space':
      return text.replace(/ /g, SPACES[how.pick % SPACES.length]!);
    case 'invisible': {
      const at = how.at % (text.length + 1);
      return `${text.slice(0, at)}${INVISIBLE[how.pick % INVISIBLE.length]}${text.slice(at)}`;
    }
  }
}

type ValueRespelling = { text: TextRespelling[]; number: number; wrap: number };
const valueRespelling: fc.Arbitrary<ValueRespelling> = fc.record({
  text: fc.array(textRespelling, { maxLength: 2 }),
  number: fc.nat({ max: 6 }),
  wrap: fc.nat({ max: 3 }),
});

/** A number as text (plain, padded, signed, with a decimal point, in exponent form, full-width), or left a number. */
function respellNumber(n: number, how: number): string | number {
  switch (how) {
    case 1:
      return String(n);
    case 2:
      return ` ${n} `;
    case 3:
      return n >= 0 ? `+${n}` : String(n);
    case 4:
      return Number.isInteger(n) ? `${n}.0` : String(n);
    case 5:
      return n.toExponential();
    case 6:
      return FULL_WIDTH(String(n));
    default:
      return n;
  }
}

function respellValue(value: unknown, how: ValueRespelling): unknown {
  let out: unknown = value;
  if (typeof value === 'number') out = respellNumber(value, how.number);
  else if (typeof value === 'boolean' && how.number > 0) out = respellText(String(value), how.text[0] ?? { kind: 'upper' });
  if (typeof out === 'string') out = how.text.reduce((text, t) => respellText(text, t), out);
  // One-element lists: [x] ([[x]] too) is x.
  for (let i = 0; i < how.wrap - 1; i += 1) out = [out];
  return out;
}

interface RequestRespelling {
  readonly fields: Partial<Record<'environment' | 'resource' | 'agent' | 'onBehalfOf', TextRespelling[]>>;
  readonly keys: Partial<Record<'rows' | 'format' | 'dryRun' | 'table' | 'db' | 'host', TextRespelling[]>>;
  readonly values: Partial<Record<'rows' | 'format' | 'dryRun' | 'table' | 'host', ValueRespelling>>;
  /** Sends `db.host` as one dotted key. */
  readonly flattenDb: boolean;
}
const texts = fc.array(textRespelling, { minLength: 1, maxLength: 3 });
const requestRespelling: fc.Arbitrary<RequestRespelling> = fc.record({
  fields: fc.record({ environment: texts, resource: texts, agent: texts, onBehalfOf: texts }, { requiredKeys: [] }),
  keys: fc.record({ rows: texts, format: texts, dryRun: texts, table: texts, db: texts, host: texts }, { requiredKeys: [] }),
  values: fc.record(
    { rows: valueRespelling, format: valueRespelling, dryRun: valueRespelling, table: valueRespelling, host: valueRespelling },
    { requiredKeys: [] },
  ),
  flattenDb: fc.boolean(),
});

function respellRequest(request: PolicyInput, how: RequestRespelling): PolicyInput {
  const text = (value: string | undefined, ts: TextRespelling[] | undefined) => (value === undefined || !ts ? value : ts.reduce(respellText, value));
  const key = (k: keyof RequestRespelling['keys']) => text(k, how.keys[k])!;
  const parameters: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(request.parameters ?? {})) {
    if (k === 'db') {
      const host = respellValue((v as { host: string }).host, how.values.host ?? { text: [], number: 0, wrap: 0 });
      if (how.flattenDb) parameters[`${key('db')}.${key('host')}`] = host;
      else parameters[key('db')] = { [key('host')]: host };
    } else {
      const name = k as 'rows' | 'format' | 'dryRun' | 'table';
      parameters[key(name)] = respellValue(v, how.values[name] ?? { text: [], number: 0, wrap: 0 });
    }
  }
  return {
    action: request.action,
    ...(request.environment !== undefined ? { environment: text(request.environment, how.fields.environment)! } : {}),
    ...(request.resource !== undefined ? { resource: text(request.resource, how.fields.resource)! } : {}),
    ...(request.onBehalfOf !== undefined ? { onBehalfOf: text(request.onBehalfOf, how.fields.onBehalfOf)! } : {}),
    ...(request.agent ? { agent: { name: text(request.agent.name, how.fields.agent)! } } : {}),
    ...(request.parameters ? { parameters } : {}),
  };
}

const show = (v: PolicyVerdict) => (v.refused ? `refused at ${v.rule ?? '(fields)'}` : `${v.rule} -> ${v.outcome.effect}`);

describe('policy under respelling', () => {
  it('a respelled request gets the same outcome or a refusal, never a less strict one', () => {
    const seen = { decided: 0, byRule: 0, sameAfterRespelling: 0, refusedAfterRespelling: 0 };
    fc.assert(
      fc.property(configArb, requestArb, requestRespelling, (config, request, how) => {
        const original = evaluatePolicy(config, request);
        if (original.refused) return;
        seen.decided += 1;
        if (original.rule !== 'default') seen.byRule += 1;
        const respelled = respellRequest(request, how);
        const again = evaluatePolicy(config, respelled);
        const context = `${show(original)}, respelled ${show(again)}: ${JSON.stringify(respelled)}`;
        if (again.refused) {
          seen.refusedAfterRespelling += 1;
          return;
        }
        expect(STRICTNESS[again.outcome.effect], context).toBeGreaterThanOrEqual(STRICTNESS[original.outcome.effect]);
        expect(again.outcome.effect, context).toBe(original.outcome.effect);
        seen.sameAfterRespelling += 1;
      }),
      { numRuns: 2000 },
    );
    console.log(`[property] respelling: ${JSON.stringify(seen)}`);
    // The property saw rules decide, and respellings that policy read as the same request.
    expect(seen.byRule).toBeGreaterThan(100);
    expect(seen.sameAfterRespelling).toBeGreaterThan(100);
  });

  it('a value the deciding rule compares, made unjudgeable, is refused: it never reaches a later rule', () => {
    // No operator can judge a structure; a numeric operator cannot judge text that is no number either.
    const STRUCTURES: unknown[] = [null, {}, { value: 50000 }, [1, 2], [], [['a', 'b']]];
    const NOT_NUMBERS: unknown[] = ['lots', '50,000', '0x10', 'Infinity', '', true];
    let refused = 0;
    fc.assert(
      fc.property(configArb, requestArb, fc.nat(), fc.nat(), (config, request, pick, pickValue) => {
        const original = evaluatePolicy(config, request);
        if (original.refused || original.rule === 'default') return;
        const rule = config.rules.find((r) => r.name === original.rule)!;
        const paths = Object.keys(rule.match.parameters ?? {}).filter((p) => parameterPresent(request, p));
        if (paths.length === 0) return;
        const path = paths[pick % paths.length]!;
        const ops = Object.keys(rule.match.parameters![path]!);
        const numericOnly = ops.some((op) => ['gt', 'gte', 'lt', 'lte'].includes(op)) && !ops.some((op) => ['equals', 'in', 'not', 'glob'].includes(op));
        const junk = numericOnly ? [...STRUCTURES, ...NOT_NUMBERS] : STRUCTURES;
        const value = junk[pickValue % junk.length];
        const changed = withParameter(request, path, value);
        const again = evaluatePolicy(config, changed);
        const context = `${show(original)}, with parameters.${path} = ${JSON.stringify(value)}: ${show(again)}`;
        if (again.refused) refused += 1;
        // Only a condition that is `exists` alone (or a value that still judges) lets the same rule decide.
        expect(again.refused || again.rule === original.rule, context).toBe(true);
        if (again.refused) expect(ruleIndex(config, again.rule!), context).toBeLessThanOrEqual(ruleIndex(config, original.rule));
      }),
      { numRuns: 2000 },
    );
    console.log(`[property] unjudgeable values: ${refused} refused`);
    expect(refused).toBeGreaterThan(20);
  });
});

const ruleIndex = (config: Config, name: string) => config.rules.findIndex((r) => r.name === name);

function parameterPresent(request: PolicyInput, path: string): boolean {
  const p = request.parameters ?? {};
  return path === 'db.host' ? p.db !== undefined : p[path] !== undefined;
}

function withParameter(request: PolicyInput, path: string, value: unknown): PolicyInput {
  const parameters = { ...request.parameters };
  if (path === 'db.host') parameters.db = { host: value };
  else parameters[path] = value;
  return { ...request, parameters };
}
