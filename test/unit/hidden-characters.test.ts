/**
 * Hidden characters on every surface: one table of hostile characters, planted in everything an agent (or an
 * approver) supplies, must reach no surface raw and show on each as that surface's marker (core/text.ts markHidden).
 */
import { describe, expect, it } from 'vitest';
import type { ApprovalState } from '../../lambdas/core/approval';
import { codePointName, hasHiddenCharacters, markHidden } from '../../lambdas/core/text';
import { sampleState } from '../fixtures/approval-state';
import { MARKERS, render, type Surface } from '../fixtures/surfaces';

/** The hostile characters, by what they do. */
export const HOSTILE_CHARACTERS: ReadonlyArray<readonly [string, string]> = [
  ['right-to-left override (Trojan Source)', '\u202E'],
  ['zero-width space', '\u200B'],
  ['left-to-right isolate', '\u2066'],
  ['tag character (smuggled ASCII "A")', '\u{E0041}'],
  ['soft hyphen', '\u00AD'],
  ['NUL (C0)', '\u0000'],
  ['BEL (C0)', '\u0007'],
  ['ESC (C0, ANSI sequences)', '\u001B'],
  ['carriage return (C0)', '\r'],
  ['NEL (C1)', '\u0085'],
  ['CSI (C1)', '\u009B'],
  ['line separator', '\u2028'],
  ['paragraph separator', '\u2029'],
  ['zero-width no-break space (BOM)', '\uFEFF'],
  ['Arabic letter mark', '\u061C'],
  ['Hangul filler', '\u3164'],
];

/** Every field an agent or approver supplies, each tagged so the test can find it on a surface. */
const FIELDS = ['resource', 'environment', 'requester', 'onBehalfOf', 'agentName', 'agentModel', 'agentRunId', 'justification', 'paramKey', 'paramValue', 'voteReason', 'outcomeReason'] as const;
type Field = (typeof FIELDS)[number];

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

/** A settled request with every field holding `<field>X<c>Xend`. */
export function stateWith(c: string, value: (field: Field) => string = (field) => `${field}X${c}Xend`): ApprovalState {
  return sampleState(
    {
      resource: value('resource'),
      environment: value('environment'),
      onBehalfOf: value('onBehalfOf'),
      agent: { name: value('agentName'), model: value('agentModel'), runId: value('agentRunId') },
      justification: value('justification'),
      parameters: { [value('paramKey')]: value('paramValue') },
    },
    {
      requester: value('requester'),
      votes: [
        { approver: 'alice@example.com', decision: 'approve', reason: value('voteReason'), at: '2026-01-01T00:01:00.000Z' },
        { approver: 'bob@example.com', decision: 'deny', reason: value('voteReason'), at: '2026-01-01T00:02:00.000Z' },
      ],
      outcome: { status: 'denied', decidedBy: 'approvers', reason: value('outcomeReason'), at: '2026-01-01T00:02:00.000Z' },
    },
  );
}

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
    for (const surface of SURFACES) for (const field of SHOWN[surface]) expect(output[surface].join('\n'), `${field} on ${surface}`).toMatch(new RegExp(`${field}X`));
  });

  it('a one-line email subject: no CR or LF, each shown marked', () => {
    const { 'email subject': [subject] } = render(stateWith('\r\nBcc: everyone@example.com'));
    expect(subject).not.toMatch(/[\r\n]/);
    expect(subject).toContain('environmentX[U+000D][U+000A]Bcc: everyone@example.comXend');
  });

  it('email one-line fields cannot fake another line; the justification keeps its lines', () => {
    const { 'email text': [text] } = render(stateWith('\nRule          none\n'));
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
