/**
 * JSON the API refuses although `JSON.parse` takes it, because readers disagree on what it says:
 * - duplicate keys: `JSON.parse` keeps the last of two equal keys, but a tool downstream may read the first, so
 *   policy would judge one value and the tool run another;
 * - unpaired surrogates (`"\ud835"` alone): no character at all, which each reader repairs, drops or refuses its own
 *   way, so a key or value holding one is not the text policy compared.
 */

/** The path of the first object key that appears twice in one object (keys compared after JSON unescaping), if any. */
export function duplicateKeyPath(text: string): Array<string | number> | undefined {
  // One frame per open object or array: the keys seen so far (objects), the next index (arrays), and the path to it.
  const stack: Array<{ keys?: Set<string>; index: number; path: Array<string | number>; key?: string }> = [];
  let i = 0;
  const pathOf = () => {
    const top = stack[stack.length - 1];
    if (!top) return [];
    return top.keys ? [...top.path, top.key ?? ''] : [...top.path, top.index];
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const raw = text.slice(i, end + 1);
      i = end + 1;
      const top = stack[stack.length - 1];
      // A string is a key when it is followed by a colon inside an object.
      let j = i;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (top?.keys && text[j] === ':') {
        const key = JSON.parse(raw) as string;
        if (top.keys.has(key)) return [...top.path, key];
        top.keys.add(key);
        top.key = key;
      }
      continue;
    }
    if (c === '{' || c === '[') {
      stack.push({ ...(c === '{' ? { keys: new Set<string>() } : {}), index: 0, path: pathOf() });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top && !top.keys) top.index += 1;
    }
    i += 1;
  }
  return undefined;
}

/** The path of the first key or string value that holds an unpaired surrogate, if any (checks at most `limit` values). */
export function unpairedSurrogatePath(value: unknown, limit = 100_000): Array<string | number> | undefined {
  const stack: Array<{ value: unknown; path: Array<string | number> }> = [{ value, path: [] }];
  for (let seen = 0; stack.length > 0 && seen < limit; seen++) {
    const { value: v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (UNPAIRED.test(v)) return path;
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push({ value: item, path: [...path, i] }));
    } else if (v !== null && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        if (UNPAIRED.test(key)) return [...path, key];
        stack.push({ value: item, path: [...path, key] });
      }
    }
  }
  return undefined;
}

const UNPAIRED = /\p{Cs}/u;
