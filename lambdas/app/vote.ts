/**
 * Voting, on every channel (the decision API, a review link, Slack): the vote is a ledger append decided by
 * `decideVote` on the chain, and a vote that settles the request completes its outcome. Also what waits for an
 * approver (`GET /v1/me/pending`).
 */
import { type ApprovalState, awaitsVoteFrom, decideVote, deriveState, mayAwaitVoteFrom, statusOf, type Voter } from '../core/approval';
import { grantOfferOf } from '../core/policy';
import type { Ports } from '../core/ports';
import type { VoteInput } from '../core/records';
import { REQUEST_ID_PATTERN } from '../core/request';
import { countAppended } from './metrics';
import { completeOutcome, receiptAlongside } from './outcome';
import { markSettling, unmarkSettling } from './repair';

export type VotePorts = Pick<Ports, 'ledger' | 'policy' | 'requests' | 'grants' | 'signer' | 'mac' | 'workflow' | 'clock' | 'metrics'>;

/**
 * Records the vote and, when it settles the request, completes the outcome. Throws the API's CountersignErrors.
 *
 * AWS calls, by serial step, records signed in-process by the environment's certified key (`bench/roundtrips.ts`
 * counts them); the first and last UpdateItem of a vote that leaves the request pending are the repair job's mark,
 * which only has to land before the append's write, so it goes beside the chain's read:
 *   does not settle: UpdateItem (mark) ∥ Query → PutItem → UpdateItem (the mark back, the voter noted): 4 calls, depth 3.
 *   approves: UpdateItem (mark) ∥ Query → GenerateMac → Sign (the receipt, KMS, from the chain as it will be) →
 *             TransactWriteItems → UpdateItem (receipt; answers the task token) → SendTaskSuccess → UpdateItem
 *             (cached status): 8 calls, depth 7 (before: 11, all serial, with a KMS Sign per record).
 *   denies: UpdateItem (mark) ∥ Query → TransactWriteItems → GetItem → SendTaskSuccess → UpdateItem: 6, depth 5 (before: 8).
 * The task token is read only after the append (UpdateItem or GetItem answering the item): a workflow that stores a
 * fresh token and then reads the chain, as Wake does, is seen by one side or the other.
 */
export async function castVote(
  ports: VotePorts,
  requestId: string,
  voter: Voter,
  vote: VoteInput,
): Promise<{ state: ApprovalState; receipt?: string /** False for a repeat of the voter's vote, which records nothing new. */; recorded: boolean }> {
  const directory = ports.policy.directory();
  const config = ports.policy.config();
  const grantOfferNow = (rule: string) => {
    const found = config.rules.find((r) => r.name === rule);
    return found && grantOfferOf(config, found);
  };
  // Marked for the repair job before the append writes: a crash between a settling append and the cached status
  // leaves it due. The chain is read meanwhile; a record appended since makes the write lose, and the ledger reads again.
  const [mark, known] = REQUEST_ID_PATTERN.test(requestId)
    ? await Promise.all([markSettling(ports, requestId), ports.ledger.read(requestId)])
    : [undefined, undefined];
  const { chain, appended, alongside } = await ports.ledger.append(
    requestId,
    (current) => decideVote(current, voter, vote, ports.clock.now(), directory, grantOfferNow),
    {
      ...(known ? { known } : {}),
      alongside: receiptAlongside(ports),
    },
  );
  const state = deriveState(chain)!;
  countAppended(ports.metrics, appended, state);
  if (mark && statusOf(state) === 'pending') await unmarkSettling(ports, requestId, mark, voter.approver);
  const receipt = await completeOutcome(ports, state, chain, 'settle', { receipt: alongside });
  return { state, ...(receipt ? { receipt } : {}), recorded: appended.some((record) => record.type === 'voted') };
}

/** The request's state, or undefined when there is none (or the id cannot be one). */
export async function requestState(ports: Pick<Ports, 'ledger'>, requestId: string): Promise<ApprovalState | undefined> {
  return REQUEST_ID_PATTERN.test(requestId) ? deriveState(await ports.ledger.read(requestId)) : undefined;
}

/** At most this many requests, oldest first, are answered (each confirmed on its chain). */
export const PENDING_READ_LIMIT = 200;
const PENDING_READ_CONCURRENCY = 8;

/**
 * The pending requests waiting for `principal`'s vote, oldest first: candidates from the pending summaries (one
 * index read, no chains), each then confirmed on its chain, which the answer is made from.
 */
export async function pendingFor(ports: Pick<Ports, 'ledger' | 'requests' | 'policy' | 'clock'>, principal: string): Promise<ApprovalState[]> {
  const directory = ports.policy.directory();
  const now = ports.clock.now();
  const candidates = (await ports.requests.pendingSummaries())
    .filter((summary) => mayAwaitVoteFrom(summary, principal, now, directory))
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1))
    .slice(0, PENDING_READ_LIMIT);
  const waiting: ApprovalState[] = [];
  for (let i = 0; i < candidates.length; i += PENDING_READ_CONCURRENCY) {
    const chains = await Promise.all(candidates.slice(i, i + PENDING_READ_CONCURRENCY).map(({ id }) => ports.ledger.read(id)));
    for (const chain of chains) {
      const state = deriveState(chain);
      if (state && awaitsVoteFrom(state, principal, now, directory)) waiting.push(state);
    }
  }
  return waiting;
}

/** What the approver-facing routes (review pages, Slack, sign-in, the personal-link form) work with. */
export type ApproverPorts = VotePorts & Pick<Ports, 'outbox' | 'publicUrl'>;
