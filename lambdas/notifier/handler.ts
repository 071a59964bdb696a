/** Notify task (lambda:invoke.waitForTaskToken): keeps the task token server-side and tells the approvers. */
import { notifyEventSchema } from '../core/workflow';
import { deliver } from '../adapters/outbox';
import { getRequest, storeTaskToken } from '../adapters/request-store';

export async function handler(event: unknown): Promise<{ notified: number }> {
  const { requestId, taskToken } = notifyEventSchema.parse(event);
  const request = await getRequest(requestId);
  if (!request) throw new Error(`request ${requestId} does not exist`);
  // A retried task (same token) or a settled request sends nothing again.
  if (!(await storeTaskToken(requestId, taskToken))) return { notified: 0 };
  const asked = request.approvers.filter((a) => a !== request.requester && a !== request.onBehalfOf);
  for (const approver of asked) {
    await deliver({
      channel: 'email',
      to: approver,
      subject: `Approval requested: ${request.action}`,
      text: `${request.requester} asks to run ${request.action}${request.resource ? ` on ${request.resource}` : ''}. Expires ${request.expiresAt}.`,
      actionId: request.id,
    });
  }
  return { notified: asked.length };
}
