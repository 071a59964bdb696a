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
  readonly kind: 'duplicate_key' | 'unpaired_surrogate';
  /** Where: object keys and array indexes from the root. */
  readonly path: Array<string | number>;
}

const UNPAIRED = /\p{Cs}/u;
/** Where a text could hold an unpaired surrogate at all: a raw surrogate, or an escape of one. */
const MAYBE_SURROGATE = /[\ud800-\udfff]|\\u[dD]/;

/** The first repeated key or unpaired surrogate (in a key or a string value) in a JSON text, if any. */
export function jsonTextProblem(text: string): JsonTextProblem | undefined {
  // One frame per open object or array: the keys seen so far (objects) and the current key, or the current index.
  const stack: Array<{ keys?: Set<string>; key?: string; index: number }> = [];
  const pathTo = (last?: string | number): Array<string | number> => {
    const path = stack.map((f) => (f.keys ? (f.key ?? '') : f.index));
    if (last !== undefined) path[path.length - 1] = last;
    return path;
  };
  // The ledger verifier reads every line through here: strings are found with indexOf and taken as they stand when
  // they hold no escape (the next backslash, kept as the scan moves on, is past their end), so one pass stays linear.
  const surrogates = MAYBE_SURROGATE.test(text);
  const length = text.length;
  let backslash = text.indexOf('\\');
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      if (backslash !== -1 && backslash <= i) backslash = text.indexOf('\\', i + 1);
      let end = text.indexOf('"', i + 1);
      let value: string;
      if (backslash === -1 || backslash > end) {
        if (end === -1) end = length;
        value = text.slice(i + 1, end);
      } else {
        end = i + 1;
        while (end < length && text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c /* \ */ ? 2 : 1;
        value = JSON.parse(text.slice(i, end + 1)) as string;
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
      if (isKey) {
        if (top!.keys!.has(value)) return { kind: 'duplicate_key', path: pathTo(value) };
        top!.keys!.add(value);
        top!.key = value;
      }
      if (surrogates && UNPAIRED.test(value)) return { kind: 'unpaired_surrogate', path: isKey ? pathTo(value) : pathTo() };
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
