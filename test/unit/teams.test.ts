import { describe, expect, it } from 'vitest';
import { postTeamsCard, retryAfterMs, TeamsWebhookError } from '../../lambdas/adapters/teams';
import type { ApprovalState } from '../../lambdas/core/approval';
import { RetryableError } from '../../lambdas/core/retry';
import { approvalRequestCard, CARD_LIMITS, escapeTeamsMarkdown, requestLandingUrl, teamsMessageSchema } from '../../lambdas/core/teams';
import { sampleState } from '../fixtures/approval-state';

const LANDING = requestLandingUrl('https://cs.example.com/', 'act_abc123');

const stateWith = (request: Partial<ApprovalState['request']> = {}, extra: Partial<ApprovalState> = {}): ApprovalState =>
  sampleState(request, {
    requester: 'arn:aws:iam::123456789012:role/analyst',
    notified: false,
    policy: { ...sampleState().policy!, approvers: ['alice@example.com', 'bob@example.com'] },
    ...extra,
  });

type Block = { type: string; text?: string; facts?: Array<{ title: string; value: string }> };
const cardOf = (state: ApprovalState) => {
  const message = teamsMessageSchema.parse(approvalRequestCard(state, { landingUrl: LANDING }));
  return message.attachments[0]!.content as unknown as {
    body: Block[];
    actions: Array<{ type: string; title: string; url: string }>;
    version: string;
    $schema: string;
  };
};
const facts = (state: ApprovalState) =>
  Object.fromEntries(
    cardOf(state)
      .body.find((b) => b.type === 'FactSet')!
      .facts!.map((f) => [f.title, f.value]),
  );
/** The blocks after a heading: parameters and justification. */
const blockAfter = (state: ApprovalState, heading: RegExp) => {
  const body = cardOf(state).body;
  return body[body.findIndex((b) => heading.test(b.text ?? '')) + 1]!;
};

/** What a CommonMark renderer shows for backslash escapes: the character itself. */
const unescapeMarkdown = (text: string) => text.replace(/\\([!-/:-@[-`{-~])/g, '$1');
/** Every Markdown-significant character that is not backslash-escaped, outside our `[U+XXXX]` hidden-character markers. */
function unescapedSignificant(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') {
      i++;
      continue;
    }
    const marker = /^\[U\+[0-9A-F]{4,6}\]/.exec(text.slice(i));
    if (marker) {
      i += marker[0].length - 1;
      continue;
    }
    if ('`*_{}[]()#+-.!<>|~&:='.includes(text[i]!)) found.push(text[i]!);
  }
  return found;
}

describe('Teams approval card', () => {
  it('is a Workflows webhook message holding an Adaptive Card 1.5 with the facts and one OpenUrl to the landing page', () => {
    const message = approvalRequestCard(stateWith(), { landingUrl: LANDING });
    expect(message).toMatchObject({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null }] });
    const card = cardOf(stateWith());
    expect(card.$schema).toBe('http://adaptivecards.io/schemas/adaptive-card.json');
    expect(card.version).toBe('1.5');
    expect(card.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Review and decide', url: 'https://cs.example.com/v1/actions/act_abc123/review' }]);
    expect(Object.keys(facts(stateWith()))).toEqual([
      'Action',
      'Resource',
      'Environment',
      'Requester',
      'On behalf of',
      'Agent',
      'Rule',
      'Approvals needed',
      'Expires',
    ]);
    expect(unescapeMarkdown(facts(stateWith()).Requester!)).toBe('arn:aws:iam::123456789012:role/analyst');
    expect(unescapeMarkdown(facts(stateWith()).Agent!)).toBe('analyst-bot, model some-llm, run r-42');
    expect(facts(stateWith())['Approvals needed']).toBe('2');
    expect(unescapeMarkdown(facts(stateWith()).Expires!)).toBe('1 Jan 2026, 01:00 UTC');
    const sent = approvalRequestCard(stateWith(), { landingUrl: LANDING, now: new Date('2026-01-01T00:02:00.000Z') });
    const sentFacts = (sent.attachments[0]!.content.body as Array<{ type: string; facts?: Array<{ title: string; value: string }> }>).find(
      (b) => b.type === 'FactSet',
    )!.facts!;
    expect(unescapeMarkdown(sentFacts.find((f) => f.title === 'Expires')!.value)).toBe('1 Jan 2026, 01:00 UTC (58 minutes left when this was sent)');
    expect(blockAfter(stateWith(), /^Parameters$/)).toMatchObject({ fontType: 'Monospace' });
    expect(unescapeMarkdown(blockAfter(stateWith(), /^Parameters$/).text!)).toBe('"table": "customers"\n\n"format": "csv"');
    expect(cardOf(stateWith()).body.some((b) => b.text === 'Justification (supplied by the agent, not verified)')).toBe(true);
    expect(unescapeMarkdown(blockAfter(stateWith(), /^Justification/).text!)).toBe('Quarterly churn analysis');
  });

  it('carries no review token and no personal link, only the landing URL', () => {
    const json = JSON.stringify(approvalRequestCard(stateWith(), { landingUrl: LANDING }));
    expect(json).not.toContain('/v1/review/');
    expect(json).not.toMatch(/[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{43}/);
    expect(json.match(/https?:\/\/[^"\s\\]+/g)).toEqual(['http://adaptivecards.io/schemas/adaptive-card.json', LANDING]);
  });

  it('leaves out facts that were not given and says when no justification was', () => {
    const bare = stateWith({
      resource: undefined,
      environment: undefined,
      onBehalfOf: undefined,
      agent: undefined,
      justification: undefined,
      parameters: undefined,
    });
    expect(Object.keys(facts(bare))).toEqual(['Action', 'Requester', 'Rule', 'Approvals needed', 'Expires']);
    expect(blockAfter(bare, /^Justification/).text).toBe('No justification was given.');
    expect(blockAfter(bare, /^Parameters$/).text).toBe('No parameters.');
  });

  it('says, where the rule offers grants, that the review page can approve for up to maxFor, and only while pending', () => {
    const grant = { maxForSeconds: 8 * 3600, scope: ['action' as const, 'resource' as const, 'requester' as const], ruleDigest: 'd' };
    const granting = stateWith({}, { policy: { ...stateWith().policy!, grant } });
    const texts = cardOf(granting).body.map((b) => unescapeMarkdown(String(b.text ?? '')));
    expect(texts).toContain(
      'On the review page you may approve for a while, up to 8 hours, instead of this call only: later requests from the same requester that this rule decides, with the same action, resource and requester, are then approved without asking until that time has passed (an approver of the rule or an auditor can revoke it).',
    );
    expect(JSON.stringify(cardOf(stateWith()))).not.toContain('approve for a while');
    const settled = { ...granting, outcome: { status: 'approved' as const, decidedBy: 'approvers' as const, at: '2026-01-01T00:10:00Z' } };
    expect(JSON.stringify(cardOf(settled))).not.toContain('approve for a while');
  });

  it('shows the status of a request that is no longer pending', () => {
    const settled = stateWith({}, { outcome: { status: 'approved', decidedBy: 'approvers', at: '2026-01-01T00:10:00Z' } });
    expect(facts(settled).Status).toBe('approved');
  });

  describe('agent text is inert Markdown', () => {
    const cases: Array<[string, string, string]> = [
      ['bold', '**urgent**', '\\*\\*urgent\\*\\*'],
      ['italic', '_now_', '\\_now\\_'],
      ['link', '[click here](https://evil.example/x)', '\\[click here\\]\\(https\\://evil\\.example/x\\)'],
      ['image', '![x](https://evil.example/p.png)', '\\!\\[x\\]\\(https\\://evil\\.example/p\\.png\\)'],
      ['autolink', '<https://evil.example>', '\\<https\\://evil\\.example\\>'],
      ['bare URL', 'see https://evil.example', 'see https\\://evil\\.example'],
      ['www link', 'www.evil.example', 'www\\.evil\\.example'],
      ['bare domain', 'evil.example/login', 'evil\\.example/login'],
      ['heading', '# Approved by security', '\\# Approved by security'],
      ['bullet list', '- a\n+ b\n* c', '\\- a\n\\+ b\n\\* c'],
      ['ordered list', '1. first\n2) second', '1\\. first\n2\\) second'],
      ['code', '`rm -rf /`', '\\`rm \\-rf /\\`'],
      ['quote', '> trust me', '\\> trust me'],
      ['table', '| a | b |', '\\| a \\| b \\|'],
      ['strikethrough', '~~no~~', '\\~\\~no\\~\\~'],
      ['setext heading', 'Title\n===', 'Title\n\\=\\=\\='],
      ['entity', '&#42;&#42;x&#42;&#42;', '\\&\\#42;\\&\\#42;x\\&\\#42;\\&\\#42;'],
      ['mention', '<at>General</at>', '\\<at\\>General\\</at\\>'],
      ['date substitution', '{{DATE(2026-01-01T00:00:00Z, SHORT)}}', '\\{\\{DATE\\(2026\\-01\\-01T00\\:00\\:00Z, SHORT\\)\\}\\}'],
      ['pre-escaped', '\\*not bold\\*', '\\\\\\*not bold\\\\\\*'],
      ['CRLF', 'a\r\nb\rc', 'a\nb\nc'],
      // Escaped first, then marked: the marker is ours and its brackets open no link (the agent's `(` is escaped).
      ['bidi override', 'ok\u202Eevil', 'ok[U+202E]evil'],
      ['zero-width space', 'pay\u200Bpal', 'pay[U+200B]pal'],
      ['marker then a link', '\u202E(https://evil.example)', '[U+202E]\\(https\\://evil\\.example\\)'],
      // Near misses: nothing significant, so nothing changes.
      ['plain words', 'Quarterly churn analysis 2026', 'Quarterly churn analysis 2026'],
      ['email-like', 'alice@example', 'alice@example'],
      ['punctuation that means nothing', 'a/b, c; d? "e" \'f\' $5 %', 'a/b, c; d? "e" \'f\' $5 %'],
      ['non-ASCII', 'Zürich – 東京 😀', 'Zürich – 東京 😀'],
      ['tab and newline', 'a\tb\nc', 'a\tb\nc'],
    ];
    it.each(cases)('%s', (_name, input, expected) => {
      const escaped = escapeTeamsMarkdown(input);
      expect(escaped).toBe(expected);
      expect(unescapedSignificant(escaped)).toEqual([]);
    });

    it('shows what the agent wrote: unescaping gives the text back', () => {
      for (const [, input] of cases.filter(([name]) => !/CRLF|bidi|zero-width|marker/.test(name)))
        expect(unescapeMarkdown(escapeTeamsMarkdown(input))).toBe(input);
    });

    it('escapes every agent-supplied value on the card', () => {
      const evil = '[x](https://evil.example) **b** <at>All</at> {{DATE(2026-01-01T00:00:00Z)}}';
      const state = stateWith(
        { resource: evil, environment: evil, onBehalfOf: evil, justification: evil, agent: { name: evil }, parameters: { [evil]: evil } },
        { requester: evil },
      );
      const values = Object.entries(facts(state)).filter(([title]) => !['Action', 'Rule', 'Approvals needed', 'Expires'].includes(title));
      expect(values).toHaveLength(5);
      for (const [, value] of values) expect(unescapedSignificant(value)).toEqual([]);
      for (const heading of [/^Parameters$/, /^Justification/]) {
        const text = blockAfter(state, heading).text!;
        expect(text).toContain('evil');
        expect(unescapedSignificant(text)).toEqual([]);
      }
      expect(unescapedSignificant(cardOf(stateWith({ action: 'db.drop_all_-x:y' })).body[1]!.text!)).toEqual([]);
    });

    it('keeps a fact on one line', () => {
      expect(facts(stateWith({ resource: 'a\n\n# b\r\n- c' })).Resource).toBe('a \\# b \\- c');
    });
  });

  describe('truncation is visible', () => {
    it('cuts a long justification and says how much is left out', () => {
      const text = blockAfter(stateWith({ justification: 'a'.repeat(3000) }), /^Justification/).text!;
      expect(text).toBe(`${'a'.repeat(CARD_LIMITS.justification)} … (cut: 2000 more characters; the review page shows everything)`);
    });

    it('cuts at a character boundary, never inside a surrogate pair', () => {
      const text = blockAfter(stateWith({ justification: '😀'.repeat(1500) }), /^Justification/).text!;
      expect(text.startsWith(`${'😀'.repeat(1000)} … (cut: 500 more`)).toBe(true);
      expect(text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    });

    it('cuts long facts and long or many parameters', () => {
      expect(facts(stateWith({ resource: 'r'.repeat(2048) })).Resource).toBe(
        `${'r'.repeat(CARD_LIMITS.fact)} … (cut: ${2048 - CARD_LIMITS.fact} more characters; the review page shows everything)`,
      );
      const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i]));
      const lines = blockAfter(stateWith({ parameters: many }), /^Parameters$/).text!.split('\n\n');
      expect(lines).toHaveLength(CARD_LIMITS.parameterLines + 1);
      expect(lines.at(-1)).toBe('… and 10 more parameters (the review page shows everything)');
      const big = blockAfter(stateWith({ parameters: { query: 'x'.repeat(5000) } }), /^Parameters$/).text!;
      expect(big).toMatch(/^"query"\\: "x{1490} … \(cut: 3511 more characters; the review page shows everything\)$/);
    });
  });
});

describe('postTeamsCard', () => {
  const URL_SECRET = 'https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=SECRETSIG';
  const body = approvalRequestCard(stateWith(), { landingUrl: LANDING });
  const answering = (status: number, headers: Record<string, string> = {}) => {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    const fetchImpl = (async (url: URL | string, init?: RequestInit) => {
      calls.push({ url: String(url), init: init ?? {} });
      return new Response(status === 204 ? null : 'body', { status, headers });
    }) as typeof fetch;
    return { calls, fetchImpl };
  };
  const failure = async (promise: Promise<unknown>) => {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect(`${err!.message} ${err!.stack}`).not.toContain('SECRETSIG');
    return err!;
  };

  it('POSTs the card as JSON and accepts 202', async () => {
    const { calls, fetchImpl } = answering(202);
    await postTeamsCard(URL_SECRET, body, fetchImpl);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.init.method).toBe('POST');
    expect(new Headers(calls[0]!.init.headers).get('content-type')).toBe('application/json');
    expect(JSON.parse(String(calls[0]!.init.body))).toEqual(body);
  });

  it('makes 429 and 5xx retryable, carrying Retry-After, without the URL in the error', async () => {
    const throttled = await failure(postTeamsCard(URL_SECRET, body, answering(429, { 'retry-after': '7' }).fetchImpl));
    expect(throttled).toBeInstanceOf(RetryableError);
    expect((throttled as RetryableError).retryAfterMs).toBe(7000);
    const down = await failure(postTeamsCard(URL_SECRET, body, answering(503).fetchImpl));
    expect(down).toBeInstanceOf(RetryableError);
    expect((down as RetryableError).retryAfterMs).toBeUndefined();
  });

  it('does not retry other refusals, and never names the URL on a network failure', async () => {
    const refused = await failure(postTeamsCard(URL_SECRET, body, answering(400).fetchImpl));
    expect(refused).toBeInstanceOf(TeamsWebhookError);
    expect((refused as TeamsWebhookError).status).toBe(400);
    const offline = (async (url: URL | string) => {
      throw new TypeError('fetch failed', { cause: new Error(`getaddrinfo ENOTFOUND ${String(url)}`) });
    }) as typeof fetch;
    expect(await failure(postTeamsCard(URL_SECRET, body, offline))).toBeInstanceOf(RetryableError);
  });

  it('refuses plain http to anything but loopback, and a body that is not a card, before sending', async () => {
    const { calls, fetchImpl } = answering(202);
    await failure(postTeamsCard('http://example.com/hook?sig=SECRETSIG', body, fetchImpl));
    await failure(postTeamsCard(URL_SECRET, { text: 'hello' }, fetchImpl));
    expect(calls).toHaveLength(0);
    await postTeamsCard('http://127.0.0.1:9/hook', body, fetchImpl);
    expect(calls).toHaveLength(1);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('12', now)).toBe(12_000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
