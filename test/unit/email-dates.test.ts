import { describe, expect, it } from 'vitest';
import { formatUtc, relativeWords, timeLeftWords } from '../../lambdas/core/dates';
import { approvalRequestHtml, approvalRequestText } from '../../lambdas/core/notification';
import { sampleState } from '../fixtures/approval-state';

const URL = 'https://cs.example.com/v1/review/tok_abc';
const SENT = new Date('2026-01-01T00:02:00.000Z'); // the sample expires at 01:00 UTC

describe('dates as people read them', () => {
  it('formats a moment as "29 Nov 2026, 21:43 UTC"', () => {
    expect(formatUtc('2026-11-29T21:43:24.441Z')).toBe('29 Nov 2026, 21:43 UTC');
    expect(formatUtc('2026-01-05T03:07:00.000Z')).toBe('5 Jan 2026, 03:07 UTC');
    expect(formatUtc('not a date')).toBeUndefined();
  });

  it('words a span: time left, in, ago', () => {
    expect(timeLeftWords(58 * 60_000)).toBe('58 minutes left');
    expect(timeLeftWords(3 * 3_600_000)).toBe('3 hours left');
    expect(timeLeftWords(-1)).toBe('expired');
    expect(relativeWords(-2 * 60_000)).toBe('2 minutes ago');
    expect(relativeWords(30_000)).toBe('in less than a minute');
  });
});

describe('approval email dates', () => {
  it('the text email shows the readable expiry and the time left at sending, never the raw ISO', () => {
    const { text } = approvalRequestText(sampleState(), URL, SENT);
    expect(text).toContain('Expires       1 Jan 2026, 01:00 UTC (58 minutes left when this was sent)');
    expect(text).not.toContain('2026-01-01T01:00:00.000Z');
  });

  it('the HTML email shows the same, and is made for a phone screen', () => {
    const html = approvalRequestHtml(sampleState(), URL, SENT);
    expect(html).toContain('<b>Expires</b> 1 Jan 2026, 01:00 UTC (58 minutes left when this was sent)');
    expect(html).not.toContain('2026-01-01T01:00:00.000Z');
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('overflow-wrap:anywhere');
  });

  it('says an expiry already past is past', () => {
    const { text } = approvalRequestText(sampleState(), URL, new Date('2026-01-01T02:00:00.000Z'));
    expect(text).toContain('1 Jan 2026, 01:00 UTC (expired when this was sent)');
  });
});
