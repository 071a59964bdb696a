/**
 * ASL intrinsic functions in `.$` fields: `States.Format`, `States.StringToJson`, `States.JsonToString`,
 * `States.Array`, `States.MathAdd`, `States.UUID`. Parsed when the definition is created (unknown functions and
 * wrong argument counts are definition errors, as on AWS); evaluated at run time.
 */
import { randomUUID } from 'node:crypto';
import { StatesError } from './errors';
import { lookup, type ParsedPath, PathSyntaxError, parsePath } from './jsonpath';

export type IntrinsicArg =
  | { readonly kind: 'string'; readonly raw: string }
  | { readonly kind: 'literal'; readonly value: number | boolean | null }
  | { readonly kind: 'path'; readonly text: string; readonly path: ParsedPath }
  | { readonly kind: 'call'; readonly call: IntrinsicCall };

export interface IntrinsicCall {
  readonly name: string;
  readonly args: readonly IntrinsicArg[];
}

/** Argument counts per supported function: [min, max]. */
const ARITY: Readonly<Record<string, readonly [number, number]>> = {
  'States.Format': [1, Infinity],
  'States.StringToJson': [1, 1],
  'States.JsonToString': [1, 1],
  'States.Array': [0, Infinity],
  'States.MathAdd': [2, 2],
  'States.UUID': [0, 0],
};

export class IntrinsicSyntaxError extends Error {}

export function isIntrinsic(text: string): boolean {
  return /^States\.[A-Za-z0-9]+\s*\(/.test(text);
}

/** Parses an intrinsic call, throwing IntrinsicSyntaxError naming an unsupported function or bad syntax. */
export function parseIntrinsic(text: string): IntrinsicCall {
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i] ?? '')) i++;
  };
  const fail = (what: string): never => {
    throw new IntrinsicSyntaxError(`"${text}": ${what} at offset ${i}`);
  };

  const parseCall = (): IntrinsicCall => {
    const m = /^States\.[A-Za-z0-9]+/.exec(text.slice(i));
    if (!m) return fail('expected a function name');
    const name = m[0];
    i += name.length;
    const arity = ARITY[name];
    if (!arity) throw new IntrinsicSyntaxError(`intrinsic function "${name}" is not supported by local Step Functions`);
    skipSpace();
    if (text[i] !== '(') fail('expected "("');
    i++;
    const args: IntrinsicArg[] = [];
    skipSpace();
    if (text[i] === ')') {
      i++;
    } else {
      for (;;) {
        skipSpace();
        args.push(parseArg());
        skipSpace();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ')') {
          i++;
          break;
        }
        fail('expected "," or ")"');
      }
    }
    if (args.length < arity[0] || args.length > arity[1]) {
      const expected = arity[0] === arity[1] ? `${arity[0]}` : `at least ${arity[0]}`;
      throw new IntrinsicSyntaxError(`"${name}" takes ${expected} argument(s), got ${args.length}`);
    }
    if (name === 'States.Format' && args[0]?.kind !== 'string' && args[0]?.kind !== 'path') {
      throw new IntrinsicSyntaxError('the first argument of "States.Format" must be a string');
    }
    return { name, args };
  };

  const parseArg = (): IntrinsicArg => {
    const ch = text[i];
    if (ch === "'") {
      let j = i + 1;
      let raw = '';
      while (j < text.length && text[j] !== "'") {
        if (text[j] === '\\' && j + 1 < text.length) {
          raw += text.slice(j, j + 2);
          j += 2;
        } else {
          raw += text[j];
          j++;
        }
      }
      if (text[j] !== "'") fail('unterminated string');
      i = j + 1;
      return { kind: 'string', raw };
    }
    if (ch === '$') {
      // A path runs to the next "," or ")" outside brackets and quotes.
      let j = i;
      let quote: string | undefined;
      let depth = 0;
      while (j < text.length) {
        const c = text[j];
        if (quote) {
          if (c === '\\') j++;
          else if (c === quote) quote = undefined;
        } else if (c === "'" || c === '"') quote = c;
        else if (c === '[') depth++;
        else if (c === ']') depth--;
        else if (depth === 0 && (c === ',' || c === ')')) break;
        j++;
      }
      const pathText = text.slice(i, j).trim();
      i = j;
      try {
        return { kind: 'path', text: pathText, path: parsePath(pathText) };
      } catch (err) {
        if (err instanceof PathSyntaxError) throw new IntrinsicSyntaxError(err.message);
        throw err;
      }
    }
    if (text.startsWith('States.', i)) return { kind: 'call', call: parseCall() };
    const lit = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i));
    if (lit) {
      i += lit[0].length;
      return { kind: 'literal', value: JSON.parse(lit[0]) as number | boolean | null };
    }
    return fail('expected a string, number, boolean, null, path or function');
  };

  skipSpace();
  const call = parseCall();
  skipSpace();
  if (i !== text.length) fail('unexpected text after the call');
  return call;
}

function unescapeString(raw: string): string {
  return raw.replace(/\\(.)/gs, '$1');
}

function failure(call: IntrinsicCall, message: string): StatesError {
  // AWS reports failed intrinsics as a runtime error of the execution, not a catchable task error.
  return new StatesError('States.Runtime', `The function '${call.name}' had the following error: ${message}`);
}

export function evaluateIntrinsic(call: IntrinsicCall, input: unknown, context: unknown): unknown {
  const values = call.args.map((arg) => evaluateArg(arg, input, context));
  switch (call.name) {
    case 'States.Format': {
      const first = call.args[0];
      const template = first?.kind === 'string' ? first.raw : values[0];
      if (typeof template !== 'string') throw failure(call, 'the template must be a string');
      const params = values.slice(1);
      let out = '';
      let used = 0;
      for (let k = 0; k < template.length; k++) {
        const c = template[k];
        if (c === '\\' && k + 1 < template.length) {
          out += template[++k];
        } else if (c === '{' && template[k + 1] === '}') {
          if (used >= params.length) throw failure(call, 'more placeholders than arguments');
          const v = params[used++];
          if (typeof v === 'object' && v !== null) throw failure(call, 'arguments must be strings, numbers, booleans or null');
          out += typeof v === 'string' ? v : JSON.stringify(v);
          k++;
        } else {
          out += c;
        }
      }
      if (used !== params.length) throw failure(call, 'more arguments than placeholders');
      return out;
    }
    case 'States.StringToJson': {
      if (typeof values[0] !== 'string') throw failure(call, 'the argument must be a string');
      try {
        return JSON.parse(values[0]);
      } catch {
        throw failure(call, 'the argument is not valid JSON');
      }
    }
    case 'States.JsonToString':
      return JSON.stringify(values[0]);
    case 'States.Array':
      return values;
    case 'States.MathAdd': {
      const [a, b] = values;
      if (!Number.isInteger(a) || !Number.isInteger(b)) throw failure(call, 'both arguments must be integers');
      return (a as number) + (b as number);
    }
    case 'States.UUID':
      return randomUUID();
    default:
      throw failure(call, 'unsupported function');
  }
}

function evaluateArg(arg: IntrinsicArg, input: unknown, context: unknown): unknown {
  switch (arg.kind) {
    case 'string':
      return unescapeString(arg.raw);
    case 'literal':
      return arg.value;
    case 'call':
      return evaluateIntrinsic(arg.call, input, context);
    case 'path': {
      const found = lookup(arg.path.context ? context : input, arg.path.segments);
      if (!found.found) throw new StatesError('States.Runtime', `The JSONPath '${arg.text}' could not be found in the input`);
      return found.value;
    }
  }
}
