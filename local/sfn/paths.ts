/**
 * Input and output processing of a state, in the order the ASL specifies:
 * InputPath -> Parameters -> (task) -> ResultSelector -> ResultPath -> OutputPath.
 * Every failure here is a `States.Runtime` error, which AWS reports as an execution failure that no Catch handles.
 */
import { StatesError } from './errors';
import { evaluateIntrinsic, isIntrinsic, parseIntrinsic } from './intrinsics';
import { assign, isObject, lookup, PathSyntaxError, parsePath } from './jsonpath';

function runtime(message: string): StatesError {
  return new StatesError('States.Runtime', message);
}

/** Resolves a path (`$...` on `data`, `$$...` on `context`); `undefined` when nothing is there. */
export function resolvePath(path: string, data: unknown, context: unknown): { found: boolean; value?: unknown } {
  const parsed = parsePath(path);
  return lookup(parsed.context ? context : data, parsed.segments);
}

/** A path that must resolve (Reference Paths such as SecondsPath, TimeoutSecondsPath, Choice variables). */
export function readPath(path: string, data: unknown, context: unknown, field: string): unknown {
  const r = resolvePath(path, data, context);
  if (!r.found) throw runtime(`Invalid path '${path}' for field '${field}': no value there in the input '${preview(data)}'`);
  return r.value;
}

/** InputPath / OutputPath: absent means `$`, `null` means an empty object. */
export function selectPath(path: string | null | undefined, data: unknown, context: unknown, field: string): unknown {
  if (path === undefined || path === '$') return data;
  if (path === null) return {};
  return readPath(path, data, context, field);
}

/** ResultPath: absent means `$` (the result replaces the input), `null` discards the result and keeps the input. */
export function applyResultPath(path: string | null | undefined, input: unknown, result: unknown): unknown {
  if (path === undefined || path === '$') return result;
  if (path === null) return input;
  const parsed = parsePath(path);
  try {
    return assign(input, parsed.segments, result);
  } catch (err) {
    if (err instanceof PathSyntaxError) {
      throw runtime(`Unable to apply ResultPath '${path}' to input '${preview(input)}': ${err.message}`);
    }
    throw err;
  }
}

/**
 * A payload template (Parameters, ResultSelector): keys ending in `.$` take a path on `input`, a `$$.` path on the
 * context object, or an intrinsic function; the `.$` suffix is dropped from the key.
 */
export function evaluateTemplate(template: unknown, input: unknown, context: unknown): unknown {
  if (Array.isArray(template)) return template.map((item) => evaluateTemplate(item, input, context));
  if (!isObject(template)) return template;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$') && typeof value === 'string') {
      const name = key.slice(0, -2);
      if (isIntrinsic(value)) {
        out[name] = evaluateIntrinsic(parseIntrinsic(value), input, context);
      } else {
        const r = resolvePath(value, input, context);
        if (!r.found) {
          const source = value.startsWith('$$') ? 'the context object' : `the input '${preview(input)}'`;
          throw runtime(`The JSONPath '${value}' specified for the field '${key}' could not be found in ${source}`);
        }
        out[name] = r.value;
      }
    } else {
      out[key] = evaluateTemplate(value, input, context);
    }
  }
  return out;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
