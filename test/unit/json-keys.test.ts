import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { duplicateKeyPath, type JsonTextProblem, jsonTextProblem } from '../../lambdas/core/json-keys';

describe('duplicate JSON keys', () => {
  it.each([
    ['{"a":1,"a":2}', ['a']],
    ['{"parameters":{"rows":1,"r\\u006fws":50000}}', ['parameters', 'rows']],
    ['{"a":[{"x":1},{"x":2,"y":"\\"x\\":","x":3}]}', ['a', 1, 'x']],
    ['[1,{"k":"v" , "k" :1}]', [1, 'k']],
  ])('finds %s at %j', (text, path) => {
    expect(duplicateKeyPath(text)).toEqual(path);
  });

  it.each(['{"a":"a","b":{"a":1}}', '{"a":{"b":1},"c":{"b":2}}', '{"a":"{\\"a\\":1,\\"a\\":2}"}', '[]', '"a"', '{}'])('finds none in %s', (text) => {
    expect(duplicateKeyPath(text)).toBeUndefined();
  });

  it('finds unpaired surrogates in keys and values wherever they are, however large or deep the text', () => {
    const late = `{"a":[${Array.from({ length: 120_000 }, () => '0').join(',')}],"b":"\\ud800"}`;
    expect(jsonTextProblem(late)).toEqual({ kind: 'unpaired_surrogate', path: ['b'] });
    expect(jsonTextProblem('{"a":[1,{"k\\udc11":2}]}')).toEqual({ kind: 'unpaired_surrogate', path: ['a', 1, 'k\udc11'] });
    expect(jsonTextProblem('{"a":"\\ud835\\udc11"}')).toBeUndefined(); // a pair is a character
    // Deep nesting is one linear pass: 100,000 levels are read without building a path per level.
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(jsonTextProblem(deep)).toBeUndefined();
    expect(jsonTextProblem(`${'['.repeat(50_000)}{"x":1,"x":2}${']'.repeat(50_000)}`)?.path).toHaveLength(50_001);
  });

  it('property: JSON.stringify never repeats a key; repeating any key of any object is found at its path', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), fc.jsonValue(), (object, other) => {
        const text = JSON.stringify(object);
        if (duplicateKeyPath(text) !== undefined) return false;
        const key = Object.keys(object)[0]!;
        const doubled = `{${JSON.stringify(key)}:${JSON.stringify(other)},${text.slice(1)}`;
        return JSON.stringify(duplicateKeyPath(JSON.stringify({ parameters: 0 }).replace('0', () => doubled))) === JSON.stringify(['parameters', key]);
      }),
    );
  });
});

/** The plain char-by-char reading (what jsonTextProblem did before it took strings by indexOf): the reference. */
function referenceProblem(text: string): JsonTextProblem | undefined {
  const stack: Array<{ keys?: Set<string>; key?: string; index: number }> = [];
  const pathTo = (last?: string | number) => {
    const path: Array<string | number> = stack.map((f) => (f.keys ? (f.key ?? '') : f.index));
    if (last !== undefined) path[path.length - 1] = last;
    return path;
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const value = JSON.parse(text.slice(i, end + 1)) as string;
      i = end + 1;
      const top = stack[stack.length - 1];
      let j = i;
      while (j < text.length && ' \t\n\r'.includes(text[j]!)) j++;
      const isKey = top?.keys !== undefined && text[j] === ':';
      if (isKey) {
        if (top.keys!.has(value)) return { kind: 'duplicate_key', path: pathTo(value) };
        top.keys!.add(value);
        top.key = value;
      }
      if (/\p{Cs}/u.test(value)) return { kind: 'unpaired_surrogate', path: isKey ? pathTo(value) : pathTo() };
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

describe('the linear reading', () => {
  // Strings spelled plainly or with escapes (any character as \uXXXX, quotes and backslashes), holding lone
  // surrogates at times; objects whose keys may repeat; whitespace anywhere between tokens.
  const char = fc.oneof(
    fc.constantFrom('"', '\\', 'a', 'x', ':', ',', '{', '\ud800', '\udc11', '\ud835\udc11', 'é'),
    fc.string({ unit: 'binary', maxLength: 2 }),
  );
  const spelled = fc
    .tuple(fc.array(char, { maxLength: 6 }), fc.array(fc.boolean(), { maxLength: 6 }))
    .map(([chars, escaped]) =>
      chars
        .map((ch, i) =>
          escaped[i]
            ? [...ch].map((u) => [...Array(u.length).keys()].map((k) => `\\u${u.charCodeAt(k).toString(16).padStart(4, '0')}`).join('')).join('')
            : JSON.stringify(ch).slice(1, -1),
        )
        .join(''),
    );
  const ws = fc.constantFrom('', ' ', '\n\t ');
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom('1', 'true', 'null', '-2.5e3'),
      spelled.map((s) => `"${s}"`),
      tie('array'),
      tie('object'),
    ),
    array: fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
    object: fc
      .array(fc.tuple(fc.oneof(fc.constantFrom('k', 'a'), spelled), ws, tie('value')), { maxLength: 4 })
      .map((entries) => `{${entries.map(([k, w, v]) => `"${k}"${w}:${w}${v}`).join(',')}}`),
  }));

  it('property: finds what a char-by-char reading finds, where it finds it', () => {
    fc.assert(
      fc.property(value as fc.Arbitrary<string>, (text) => {
        JSON.parse(text);
        expect(jsonTextProblem(text)).toEqual(referenceProblem(text));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('prototype keys', () => {
  it('are found only when asked, at any depth and in any spelling, and never in a value', () => {
    const text = '{"a":[{"b":1},{"c":{"\\u005f_proto__":{"x":1}}}],"d":"__proto__"}';
    expect(jsonTextProblem(text)).toBeUndefined();
    expect(jsonTextProblem(text, { prototypeKeys: true })).toEqual({ kind: 'prototype_key', path: ['a', 1, 'c', '__proto__'] });
    expect(jsonTextProblem('{"d":"__proto__","e":["__proto__"]}', { prototypeKeys: true })).toBeUndefined();
    expect(jsonTextProblem('{"__proto_":1,"__proto__ ":2}', { prototypeKeys: true })).toBeUndefined();
  });
});
