/**
 * What the approver-facing handlers (review pages, Slack, Teams sign-in) share: casting a vote through the ledger,
 * reading a request's state, the review-token MAC, the config, the public URL and the outbox. Handlers take these
 * as one object so each channel's module stays free of wiring.
 */
import { decideVote, deriveState, type ApprovalState, type VoteInput, type Voter } from '../core/approval';
import type { Config } from '../core/config';
import { REQUEST_ID_PATTERN } from '../core/request';
import type { MacPort } from '../core/review-token';
import { kms, requiredEnv } from '../adapters/aws-clients';
import { deployedConfig, deployedDirectory } from '../adapters/deployed-config';
import { kmsMac } from '../adapters/kms-mac';
import { completeOutcome, ledger } from '../adapters/ledger';
import { deliver, type OutgoingMessage } from '../adapters/outbox';

export interface DecisionDeps {
  /** Records a vote and, when it settles the request, completes the outcome. Throws the API's CountersignErrors. */
  castVote(requestId: string, voter: Voter, vote: VoteInput): Promise<{ state: ApprovalState; receipt?: string }>;
  readState(requestId: string): Promise<ApprovalState | undefined>;
  /** The review-token MAC (KMS HMAC key). */
  mac(): MacPort;
  config(): Config;
  /** Base URL of the API, for links. */
  publicUrl(): string;
  deliver(message: OutgoingMessage): Promise<void>;
  now(): Date;
}

export const decisionDeps: DecisionDeps = {
  async castVote(requestId, voter, vote) {
    const directory = deployedDirectory();
    const { chain } = await ledger().append(requestId, (current) => decideVote(current, voter, vote, new Date(), directory));
    const state = deriveState(chain)!;
    const receipt = await completeOutcome(state, chain);
    return { state, ...(receipt ? { receipt } : {}) };
  },
  async readState(requestId) {
    return REQUEST_ID_PATTERN.test(requestId) ? deriveState(await ledger().read(requestId)) : undefined;
  },
  mac: () => kmsMac(kms, requiredEnv('reviewKeyId')),
  config: deployedConfig,
  publicUrl: () => requiredEnv('publicUrl').replace(/\/+$/, ''),
  deliver,
  now: () => new Date(),
};
