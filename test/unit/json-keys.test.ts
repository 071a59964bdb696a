import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { duplicateKeyPath, jsonTextProblem } from '../../lambdas/core/json-keys';

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
