import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config';
import { parsePrincipal } from '../../lambdas/core/identity';
import { evaluatePolicy } from '../../lambdas/core/policy';
import { mixedScriptWord } from '../../lambdas/core/text';

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
  ])('%j mixes scripts in %j', (text, word) => {
    expect(mixedScriptWord(text)).toBe(word);
  });

  it('never lets a respelled value skip a rule: refused instead', () => {
    const environment = evaluatePolicy(config, { action: 'db.query', environment: '\u0440roduction' });
    expect(environment).toMatchObject({ refused: true });
    const format = evaluatePolicy(config, { action: 'data.export', parameters: { format: '\u0441sv' } });
    expect(format).toMatchObject({ refused: true, rule: 'csv-exports' });
    expect(evaluatePolicy(config, { action: 'data.export', parameters: { format: 'CSV' } })).toMatchObject({ rule: 'csv-exports', outcome: { effect: 'deny' } });
  });

  it('refuses an identity that mixes scripts', () => {
    expect(() => parsePrincipal('\u0430lice@example.com')).toThrow(/look-alike/);
    expect(() => parsePrincipal('alice@ex\u0430mple.com')).toThrow(/look-alike/);
  });
});
