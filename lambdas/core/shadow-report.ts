/**
 * What the shadow rules (`mode: shadow`) would have done to the requests of a window, from their `policy_decided`
 * records (`countersign policy shadow-report`): per shadow rule, the requests it matched, what it would have decided,
 * what was decided instead, and whom it would have asked. Pure: it reads ledger items as an export holds them.
 */
import type { PolicyOutcome } from './config';
import { policyDecidedDataSchema } from './records';
import * as z from './zod';

type Effect = PolicyOutcome['effect'];

/** At most this many request ids are kept per rule, for `countersign audit show`. */
export const SHADOW_EXAMPLES = 5;

export interface ShadowRuleReport {
  readonly rule: string;
  /** Requests that reached the rule and matched it, or that it could not judge. */
  readonly matched: number;
  /** What it would have done: each effect, and `notJudged` (enforced, it would have refused the request: 400). */
  readonly wouldHave: Readonly<Record<Effect | 'notJudged', number>>;
  /** Requests where that is not what the deciding rule did (a refusal always differs). */
  readonly differs: number;
  /** What was decided instead, by the deciding rule and its effect, most requests first. */
  readonly actually: ReadonlyArray<{ readonly rule: string; readonly effect: Effect; readonly byGrant?: true; readonly requests: number }>;
  /**
   * Who it would have asked (its approvers' member ids), each with how many requests, and of those how many the
   * deciding rule did not ask them about: the people a trial would newly wake up. Most requests first.
   */
  readonly wouldAsk: ReadonlyArray<{ readonly approver: string; readonly requests: number; readonly notAlreadyAsked: number }>;
  /** The first few requests it matched, by id. */
  readonly examples: readonly string[];
}

export interface ShadowReport {
  /** Requests decided in the window (their `policy_decided` records). */
  readonly requests: number;
  /** `policy_decided` records that could not be read (`countersign audit verify` tells why). */
  readonly unreadable: number;
  /** Each shadow rule that matched a request, most requests first. */
  readonly rules: readonly ShadowRuleReport[];
}

const decidedRecordSchema = z.object({ requestId: z.string(), type: z.literal('policy_decided'), data: policyDecidedDataSchema });

interface Tally {
  matched: number;
  wouldHave: Record<Effect | 'notJudged', number>;
  differs: number;
  actually: Map<string, { rule: string; effect: Effect; byGrant?: true; requests: number }>;
  wouldAsk: Map<string, { approver: string; requests: number; notAlreadyAsked: number }>;
  examples: string[];
}

const byCount =
  <T extends { readonly requests: number }>(key: (t: T) => string) =>
  (a: T, b: T) =>
    b.requests - a.requests || key(a).localeCompare(key(b));

/** The report of `items` (ledger records; anything else in an export is passed over). */
export function shadowReport(items: Iterable<unknown>): ShadowReport {
  const tallies = new Map<string, Tally>();
  const seen = new Set<string>();
  let unreadable = 0;
  for (const item of items) {
    if (typeof item !== 'object' || item === null || (item as { type?: unknown }).type !== 'policy_decided') continue;
    const parsed = decidedRecordSchema.safeParse(item);
    if (!parsed.success) {
      unreadable++;
      continue;
    }
    const { requestId, data } = parsed.data;
    // One decision per request: a repeated record (which `audit verify` names) is not counted twice.
    if (seen.has(requestId)) continue;
    seen.add(requestId);
    // A request a grant approved at once asked nobody: its rule's approvers were not woken up.
    const byGrant = data.grantedBy !== undefined;
    const askedAnyway = new Set(byGrant ? [] : data.approvers);
    for (const shadow of data.shadow ?? []) {
      let tally = tallies.get(shadow.rule);
      if (!tally) {
        tally = {
          matched: 0,
          wouldHave: { allow: 0, deny: 0, require_approval: 0, notJudged: 0 },
          differs: 0,
          actually: new Map(),
          wouldAsk: new Map(),
          examples: [],
        };
        tallies.set(shadow.rule, tally);
      }
      tally.matched++;
      const would = 'effect' in shadow ? shadow.effect : 'notJudged';
      tally.wouldHave[would]++;
      // Approved at once by a grant is not asking: a shadow rule that would ask differs from it.
      if (would !== data.effect || (byGrant && would === 'require_approval')) tally.differs++;
      const actual = `${data.rule}\n${data.effect}\n${byGrant}`;
      const entry = tally.actually.get(actual) ?? { rule: data.rule, effect: data.effect, ...(byGrant ? { byGrant: true as const } : {}), requests: 0 };
      entry.requests++;
      tally.actually.set(actual, entry);
      for (const approver of new Set('effect' in shadow ? (shadow.approverIds ?? []) : [])) {
        const asked = tally.wouldAsk.get(approver) ?? { approver, requests: 0, notAlreadyAsked: 0 };
        asked.requests++;
        if (!askedAnyway.has(approver)) asked.notAlreadyAsked++;
        tally.wouldAsk.set(approver, asked);
      }
      if (tally.examples.length < SHADOW_EXAMPLES) tally.examples.push(requestId);
    }
  }
  const rules = [...tallies].map(
    ([rule, t]): ShadowRuleReport => ({
      rule,
      matched: t.matched,
      wouldHave: t.wouldHave,
      differs: t.differs,
      actually: [...t.actually.values()].sort(byCount((a) => `${a.rule}\n${a.effect}`)),
      wouldAsk: [...t.wouldAsk.values()].sort(byCount((a) => a.approver)),
      examples: t.examples,
    }),
  );
  rules.sort((a, b) => b.matched - a.matched || a.rule.localeCompare(b.rule));
  return { requests: seen.size, unreadable, rules };
}
