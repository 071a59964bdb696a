/**
 * Hidden characters on every surface: one table of hostile characters, planted in everything an agent (or an
 * approver) supplies, must reach no surface raw and show on each as that surface's marker (core/text.ts markHidden).
 */
import { describe, expect, it } from 'vitest';
import { codePointName, hasHiddenCharacters, markHidden } from '../../lambdas/core/text';
import { FIELDS, type Field, HOSTILE_CHARACTERS, MARKERS, render, type Surface, stateWith } from '../fixtures/surfaces';

/** What each surface shows; the terminal summary (`countersign status --full`) shows no parameters and no agent. */
const SHOWN: Readonly<Record<Surface, readonly Field[]>> = {
  'email subject': ['environment'],
  'email text': ['resource', 'environment', 'requester', 'onBehalfOf', 'agentName', 'agentModel', 'agentRunId', 'justification', 'paramKey', 'paramValue'],
  'email html': ['resource', 'environment', 'requester', 'onBehalfOf', 'agentName', 'agentModel', 'agentRunId', 'justification', 'paramKey', 'paramValue'],
  slack: FIELDS,
  teams: ['resource', 'environment', 'requester', 'onBehalfOf', 'agentName', 'agentModel', 'agentRunId', 'justification', 'paramKey', 'paramValue'],
  'review page': FIELDS,
  terminal: ['resource', 'environment', 'requester', 'onBehalfOf', 'justification', 'voteReason', 'outcomeReason'],
};

const SURFACES = Object.keys(MARKERS) as Surface[];
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('hidden characters on every surface', () => {
  describe.each(SURFACES)('%s', (surface) => {
    it.each(HOSTILE_CHARACTERS)('%s: never raw, shown marked in every field', (_what, c) => {
      const output = render(stateWith(c))[surface].join('\n');
      expect(output.includes(c), `raw ${codePointName(c)} on ${surface}`).toBe(false);
      const marker = escapeRegExp(MARKERS[surface](codePointName(c)));
      // Teams' Markdown reads a carriage return as the line break it is (a fact shows it as a space): not raw, not marked.
      if (surface === 'teams' && c === '\r') return;
      for (const field of SHOWN[surface]) {
        // Parameters are JSON: JSON.stringify already shows a C0 control as \r or \u00XX (Teams escapes the backslash).
        const escaped = JSON.stringify(c).slice(1, -1);
        const json = field.startsWith('param') && escaped !== c ? `|\\\\{1,2}${escapeRegExp(escaped.slice(1))}` : '';
        expect(output, `${field} on ${surface}`).toMatch(new RegExp(`${field}X(?:[^X]*${marker}${json})Xend`));
      }
    });
  });

  it('every surface shows each field (the table above is not vacuous)', () => {
    const output = render(stateWith('-'));
    for (const surface of SURFACES)
      for (const field of SHOWN[surface]) expect(output[surface].join('\n'), `${field} on ${surface}`).toMatch(new RegExp(`${field}X`));
  });

  it('a one-line email subject: no CR or LF, each shown marked', () => {
    const {
      'email subject': [subject],
    } = render(stateWith('\r\nBcc: everyone@example.com'));
    expect(subject).not.toMatch(/[\r\n]/);
    expect(subject).toContain('environmentX[U+000D][U+000A]Bcc: everyone@example.comXend');
  });

  it('email one-line fields cannot fake another line; the justification keeps its lines', () => {
    const {
      'email text': [text],
    } = render(stateWith('\nRule          none\n'));
    expect(text).toContain('Resource      resourceX[U+000A]Rule          none[U+000A]Xend');
    expect(text).toContain('> justificationX\n> Rule          none\n> Xend');
    expect(text).not.toMatch(/^Rule {10}none$/m);
  });

  it('leaves tab, newline and an emoji joiner alone, and marks a joiner anywhere else', () => {
    expect(markHidden('a\tb\nc 👩\u200D💻')).toBe('a\tb\nc 👩\u200D💻');
    expect(markHidden('pay\u200Dpal')).toBe('pay[U+200D]pal');
    expect(hasHiddenCharacters('a\tb')).toBe(true);
  });
});
