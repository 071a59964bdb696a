import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { parsePrincipal } from '../../lambdas/core/identity';
import { evaluatePolicy } from '../../lambdas/core/policy';
import { lookAlikeWord } from '../../lambdas/core/text';

const config = parseConfig(
  stringify({
    version: 1,
    rules: [
      { name: 'no-prod', match: { environment: 'production' }, effect: 'deny' },
      { name: 'csv-exports', match: { action: 'data.export', parameters: { format: { in: ['csv', 'parquet'] } } }, effect: 'deny' },
    ],
    default: { effect: 'allow' },
  }),
);

describe('look-alike letters of other scripts', () => {
  it.each([
    ['\u0440roduction', '\u0440roduction'], // Cyrillic er
    ['pr\u03BFduction', 'pr\u03BFduction'], // Greek omicron
    ['db \u0441sv', '\u0441sv'],
    ['production', undefined],
    ['\u043E\u0442\u0447\u0451\u0442 2026', undefined], // wholly Cyrillic
    ['bucket/\u043E\u0442\u0447\u0451\u0442', undefined],
    ['\u03BC-service', undefined], // a Greek word next to a Latin one is two words
    ['product\u0131on', 'product\u0131on'], // dotless i
    ['PRODUCT\u0130ON'.toLowerCase(), 'producti\u0307on'], // I with a dot, lower-cased: i and a combining dot
    ['\u1D04sv', '\u1D04sv'], // a small capital
    ['\u0251lice@example.com', '\u0251lice'], // IPA alpha
    ['al\uA4F2ce', 'al\uA4F2ce'], // Lisu
    ['example.c\u2C9Fm', 'c\u2C9Fm'], // Coptic
    ['alice\u0336', 'alice\u0336'], // an overlay stroke
    ['caf\u00E9', undefined],
    ['na\u00EFve', undefined],
    ['\u65E5\u672C\u8A9E\u30C6\u30AD\u30B9\u30C8', undefined], // Han and Katakana together
  ])('%j could pass for another word: %j', (text, word) => {
    expect(lookAlikeWord(text)).toBe(word);
  });

  it('never lets a respelled value skip a rule: refused instead', () => {
    const environment = evaluatePolicy(config, { action: 'db.query', environment: '\u0440roduction' });
    expect(environment).toMatchObject({ refused: true });
    const format = evaluatePolicy(config, { action: 'data.export', parameters: { format: '\u0441sv' } });
    expect(format).toMatchObject({ refused: true, rule: 'csv-exports' });
    expect(evaluatePolicy(config, { action: 'data.export', parameters: { format: 'CSV' } })).toMatchObject({
      rule: 'csv-exports',
      outcome: { effect: 'deny' },
    });
  });

  it('refuses an identity that mixes scripts', () => {
    expect(() => parsePrincipal('\u0430lice@example.com')).toThrow(/look-alike/);
    expect(() => parsePrincipal('alice@ex\u0430mple.com')).toThrow(/look-alike/);
  });
});
