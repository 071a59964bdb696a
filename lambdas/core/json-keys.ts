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

/** The first repeated key or unpaired surrogate (in a key or a string value) in a JSON text, if any. */
export function jsonTextProblem(text: string): JsonTextProblem | undefined {
  // One frame per open object or array: the keys seen so far (objects) and the current key, or the current index.
  const stack: Array<{ keys?: Set<string>; key?: string; index: number }> = [];
  const pathTo = (last?: string | number): Array<string | number> => {
    const path = stack.map((f) => (f.keys ? (f.key ?? '') : f.index));
    if (last !== undefined) path[path.length - 1] = last;
    return path;
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const raw = text.slice(i, end + 1);
      i = end + 1;
      const value = JSON.parse(raw) as string;
      const top = stack[stack.length - 1];
      // A string is a key when it is followed by a colon inside an object.
      let j = i;
      while (j < text.length && (text[j] === ' ' || text[j] === '\t' || text[j] === '\n' || text[j] === '\r')) j++;
      const isKey = top?.keys !== undefined && text[j] === ':';
      if (isKey) {
        if (top.keys!.has(value)) return { kind: 'duplicate_key', path: pathTo(value) };
        top.keys!.add(value);
        top.key = value;
      }
      if (UNPAIRED.test(value)) return { kind: 'unpaired_surrogate', path: isKey ? pathTo(value) : pathTo() };
      continue;
    }
    if (c === '{') stack.push({ keys: new Set<string>(), index: 0 });
    else if (c === '[') stack.push({ index: 0 });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') {
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
