/**
 * Notify task (lambda:invoke.waitForTaskToken): keeps the task token server-side and sends each approver a personal
 * review link. A retried task sends nothing twice: `notified` in the ledger marks the sending done.
 */
import { approversToAsk, deriveState, statusOf } from '../core/approval';
import { approvalRequestText } from '../core/notification';
import { issueReviewToken } from '../core/review-token';
import { AlreadySettledError, notifyEventSchema } from '../core/workflow';
import { kms, requiredEnv } from '../adapters/aws-clients';
import { deployedConfig } from '../adapters/deployed-config';
import { kmsMac } from '../adapters/kms-mac';
import { ledger } from '../adapters/ledger';
import { deliver } from '../adapters/outbox';
import { storeTaskToken } from '../adapters/request-store';

export async function handler(event: unknown): Promise<{ notified: number }> {
  const { requestId, taskToken } = notifyEventSchema.parse(event);
  await storeTaskToken(requestId, taskToken);
  const chain = await ledger().read(requestId);
  const state = deriveState(chain);
  if (!state?.policy) throw new Error(`request ${requestId} has no policy decision in the ledger`);
  // Settled before the workflow got here (e.g. cancelled at once): the workflow goes straight to its closing step.
  if (statusOf(state) !== 'pending') throw new AlreadySettledError(requestId);
  if (state.notified) return { notified: 0 };

  const config = deployedConfig();
  const members = new Map(Object.values(config.groups).flatMap((g) => g.members.map((m) => [m.id, m] as const)));
  const mac = kmsMac(kms, requiredEnv('REVIEW_KEY_ID'));
  const base = requiredEnv('COUNTERSIGN_PUBLIC_URL').replace(/\/+$/, '');
  const expiresAt = new Date(state.policy.expiresAt ?? Date.now());
  const asked: string[] = [];
  for (const approver of approversToAsk(state)) {
    const address = members.get(approver)?.email ?? (approver.includes('@') && !approver.startsWith('arn:') ? approver : undefined);
    if (!address) continue;
    const token = await issueReviewToken(mac, { requestId, approver, expiresAt });
    const reviewUrl = `${base}/v1/review/${token}`;
    await deliver({ channel: 'email', to: address, ...approvalRequestText(state, reviewUrl), actionId: requestId, reviewUrl });
    asked.push(approver);
  }
  await ledger().append(requestId, (current) => (deriveState(current)?.notified ? [] : [{ type: 'notified', actor: 'countersign', data: { channel: 'email', approvers: asked } }]));
  return { notified: asked.length };
}
