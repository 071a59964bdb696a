/** The agent CLI's argument parsing, its printing of untrusted text, and the spinner, without a server. */
import { describe, expect, it } from 'vitest';
import { buildRequest, formatDuration, OUTCOME_EXIT, parseParameters, parseTimeout, pendingTable, summaryLines, viewDoc } from '../../cli/actions';
import { UsageError } from '../../cli/connection';
import { formatLeft, progressLine, SPINNER_FRAMES, Spinner } from '../../cli/progress';
import type { ActionView } from '../../lambdas/core/request';

const view = (over: Partial<ActionView> = {}): ActionView => ({
  id: 'act_abc',
  status: 'pending',
  action: 'infra.apply',
  resource: 'vpc-prod',
  environment: 'production',
  requester: 'arn:aws:iam::000000000000:role/agent',
  rule: 'infra',
  requiredApprovals: 1,
  votes: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-01T01:00:00.000Z',
  missing: ['1 more from security'],
  ...over,
});

describe('--timeout', () => {
  it('takes 90s, 15m, 2h, 1d or plain seconds; 15 minutes by default', () => {
    expect(parseTimeout(undefined)).toBe(15 * 60_000);
    expect(parseTimeout('90s')).toBe(90_000);
    expect(parseTimeout('15m')).toBe(900_000);
    expect(parseTimeout('2h')).toBe(7_200_000);
    expect(parseTimeout('1d')).toBe(86_400_000);
    expect(parseTimeout('45')).toBe(45_000);
    expect(parseTimeout('0')).toBe(0);
  });

  it('refuses anything else as a usage error', () => {
    for (const bad of ['', '5x', '1.5h', '-3', 'soon', '15 m', '400d']) expect(() => parseTimeout(bad), bad).toThrow(UsageError);
  });

  it('is shown as people write it', () => {
    expect([2_000, 90_000, 900_000, 5_400_000, 86_400_000].map(formatDuration)).toEqual(['2s', '1m30s', '15m', '1h30m', '1d']);
  });
});

describe('the request flags', () => {
  it('build the API request, checked by its schema', () => {
    expect(
      buildRequest({
        action: 'infra.apply',
        resource: 'vpc',
        environment: 'prod',
        justification: 'j',
        parameters: '{"a":1}',
        'on-behalf-of': 'carol@example.com',
        'agent-name': 'bot',
      }),
    ).toEqual({
      action: 'infra.apply',
      resource: 'vpc',
      environment: 'prod',
      justification: 'j',
      parameters: { a: 1 },
      onBehalfOf: 'carol@example.com',
      agent: { name: 'bot' },
    });
    expect(() => buildRequest({})).toThrow('--action is required');
    expect(() => buildRequest({ action: 'Infra Apply' })).toThrow(/^--action: expected 1-128 characters/);
    expect(() => buildRequest({ action: 'a', resource: '' })).toThrow(/^--resource: /);
    expect(() => buildRequest({ action: 'a', 'agent-name': 'x'.repeat(300) })).toThrow(/^--agent-name: /);
  });

  it('--parameters is a JSON object', () => {
    expect(parseParameters('{"table":"customers"}')).toEqual({ table: 'customers' });
    expect(() => parseParameters('{nope')).toThrow(/--parameters is not JSON/);
    for (const notObject of ['[1]', 'null', '"s"', '3']) expect(() => parseParameters(notObject)).toThrow('--parameters must be a JSON object');
    expect(() => parseParameters('@/nonexistent/params.json')).toThrow(/cannot read \/nonexistent\/params\.json/);
  });
});

describe('exit codes', () => {
  it('are distinct per outcome', () => {
    expect(OUTCOME_EXIT).toEqual({ approved: 0, denied: 4, expired: 5, cancelled: 6, pending: 7 });
  });
});

describe('printing', () => {
  const evil = 'x\u001b[2J\n\u202eboom';

  it('summaries and the pending table neutralize what the API answered', () => {
    const denied = view({
      status: 'denied',
      decidedBy: 'approvers',
      reason: evil,
      votes: [{ approver: `alice${evil}`, decision: 'deny', reason: evil, at: 'now' }],
    });
    const text = [
      ...summaryLines(denied, true),
      ...pendingTable([view({ action: evil, resource: evil, requester: evil, missing: [evil] })], Date.parse('2026-01-01T00:05:00Z')),
    ].join('\n');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the text must hold no control character but newline
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(text).toContain('x\\x1b[2J\\n[U+202E]boom');
  });

  it('the first line of a summary is `<id> <status>`; a pending one says what is missing', () => {
    expect(summaryLines(view())[0]).toBe('act_abc pending');
    expect(summaryLines(view())[1]).toBe('  missing  1 more from security');
    const lines = pendingTable([view()], Date.parse('2026-01-01T00:05:00Z'));
    expect(lines[1]).toBe('act_abc  infra.apply  vpc-prod  production   arn:aws:iam::000000000000:role/agent  5m   in 55m   1 more from security');
  });

  it('the JSON document has the id, status and outcome on top of the whole answer', () => {
    const approved = view({ status: 'approved', receipt: 'r.r.r', missing: [] });
    expect(viewDoc(approved)).toEqual({ ok: true, id: 'act_abc', status: 'approved', receipt: 'r.r.r', request: approved });
  });
});

describe('the spinner', () => {
  const stream = (isTTY: boolean, columns = 200) => {
    const writes: string[] = [];
    return { writes, isTTY, columns, write: (text: string) => writes.push(text) > 0 };
  };

  it('shows the action, the id, the time left and what is missing', () => {
    expect(progressLine('⠋', view(), 14 * 60_000 + 32_000)).toBe('⠋ waiting for approval of infra.apply (act_abc): 14:32 left · 1 more from security');
    expect(formatLeft(3_725_000)).toBe('1:02:05');
    expect(formatLeft(-5)).toBe('0:00');
    expect(progressLine('⠋', view({ action: 'a\u001b[2Jb', missing: [] }), 0)).toBe('⠋ waiting for approval of a\\x1b[2Jb (act_abc): 0:00 left');
  });

  it('draws only on a terminal and never with --json, redraws in place, fits the width, and clears at the end', () => {
    const off = stream(false);
    Spinner.forCommand(false, off).update(view(), Date.now() + 60_000);
    const json = stream(true);
    Spinner.forCommand(true, json).update(view(), Date.now() + 60_000);
    expect([...off.writes, ...json.writes]).toEqual([]);

    const tty = stream(true, 40);
    const now = 1_000_000;
    const spinner = new Spinner(tty, true, () => now);
    spinner.update(view(), now + 90_000);
    spinner.update(view({ missing: [] }), now + 89_000);
    spinner.stop();
    spinner.stop();
    expect(tty.writes).toHaveLength(3);
    expect(tty.writes[0]).toMatch(new RegExp(`^\\r\\x1b\\[2K${SPINNER_FRAMES[0]} waiting for approval of infra\\.apply.*…$`));
    expect([...tty.writes[0]!.slice(5)].length).toBeLessThan(40);
    expect(tty.writes[1]!.startsWith(`\r\x1b[2K${SPINNER_FRAMES[1]}`)).toBe(true);
    expect(tty.writes[2]).toBe('\r\x1b[2K');
  });
});
