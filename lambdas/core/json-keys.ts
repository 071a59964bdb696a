/**
 * Duplicate keys in a JSON text. `JSON.parse` keeps the last of two equal keys, but a tool downstream may read the
 * first: policy would judge one value and the tool run another. Requests with a repeated key are refused instead.
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
