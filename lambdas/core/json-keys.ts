/**
 * JSON the API refuses although `JSON.parse` takes it, because readers disagree on what it says:
 * - duplicate keys: `JSON.parse` keeps the last of two equal keys, but a tool downstream may read the first, so
 *   policy would judge one value and the tool run another;
 * - unpaired surrogates (`"\ud835"` alone): no character at all, which each reader repairs, drops or refuses its own
 *   way, so a key or value holding one is not the text policy compared.
 * One linear pass over the text finds both (call it on text `JSON.parse` accepted). Paths are built only for the
 * problem reported, so nesting depth costs nothing extra.
 */

export interface JsonTextProblem {
  /** `prototype_key`: a key `__proto__`, reported only when asked (`prototypeKeys`). */
  readonly kind: 'duplicate_key' | 'unpaired_surrogate' | 'prototype_key';
  /** Where: object keys and array indexes from the root. */
  readonly path: Array<string | number>;
}

const UNPAIRED = /\p{Cs}/u;
/** The rest of a string that holds no escape, to its closing quote. */
const PLAIN_STRING = /[^"\\]*"/y;
/** Where a text could hold an unpaired surrogate at all: a raw surrogate, or an escape of one. */
const MAYBE_SURROGATE = /[\ud800-\udfff]|\\u[dD]/;

interface Frame {
  keys?: Set<string>;
  key?: string;
  index: number;
}

/** The path to the current position. */
function pathTo(stack: readonly Frame[], last?: string | number): Array<string | number> {
  const path = stack.map((f) => (f.keys ? (f.key ?? '') : f.index));
  if (last !== undefined) path[path.length - 1] = last;
  return path;
}

/**
 * The first repeated key or unpaired surrogate (in a key or a string value) in a JSON text, if any; with
 * `prototypeKeys`, also the first key `__proto__`, which `JSON.parse` keeps as an own key and zod's objects and
 * records drop: in text whose parsed copy was signed, such a key is content no signature covers.
 */
export function jsonTextProblem(text: string, options: { readonly prototypeKeys?: boolean } = {}): JsonTextProblem | undefined {
  const prototypeKeys = options.prototypeKeys === true;
  // One frame per open object or array: the keys seen so far (objects) and the current key, or the current index.
  const stack: Frame[] = [];
  // The ledger verifier reads every line through here: a string is read out of the text (sliced, or parsed when it
  // holds an escape) only when it is a key or could hold an unpaired surrogate. (Finding each string's end with
  // indexOf made a checkpoint leaf page, 200 KB, 40 times slower once V8 optimized the scan.)
  const surrogates = MAYBE_SURROGATE.test(text);
  const length = text.length;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      // A string without an escape ends at the next quote: a sticky regex finds it faster than a loop over its chars.
      PLAIN_STRING.lastIndex = start + 1;
      let end: number;
      let escaped = false;
      if (PLAIN_STRING.test(text)) {
        end = PLAIN_STRING.lastIndex - 1;
      } else {
        escaped = true;
        end = start + 1;
        for (let d = text.charCodeAt(end); end < length && d !== 0x22; d = text.charCodeAt(end)) end += d === 0x5c /* \ */ ? 2 : 1;
      }
      i = end + 1;
      const top = stack[stack.length - 1];
      // A string is a key when it is followed by a colon inside an object.
      let isKey = false;
      if (top?.keys !== undefined) {
        let j = i;
        let d = text.charCodeAt(j);
        while (d === 0x20 || d === 0x09 || d === 0x0a || d === 0x0d) d = text.charCodeAt(++j);
        isKey = d === 0x3a /* : */;
      }
      if (!isKey && !surrogates) continue;
      const value = escaped ? (JSON.parse(text.slice(start, end + 1)) as string) : text.slice(start + 1, end);
      if (isKey) {
        if (top!.keys!.has(value)) return { kind: 'duplicate_key', path: pathTo(stack, value) };
        if (prototypeKeys && value === '__proto__') return { kind: 'prototype_key', path: pathTo(stack, value) };
        top!.keys!.add(value);
        top!.key = value;
      }
      if (surrogates && UNPAIRED.test(value)) return { kind: 'unpaired_surrogate', path: pathTo(stack, isKey ? value : undefined) };
      continue;
    }
    if (c === 0x7b /* { */) stack.push({ keys: new Set<string>(), index: 0 });
    else if (c === 0x5b /* [ */) stack.push({ index: 0 });
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top && !top.keys) top.index += 1;
    }
    i += 1;
  }
  return undefined;
}

/** The path of the first object key that appears twice in one object (keys compared after JSON unescaping), if any. */
export function duplicateKeyPath(text: string): Array<string | number> | undefined {
  const problem = jsonTextProblem(text);
  return problem?.kind === 'duplicate_key' ? problem.path : undefined;
}
