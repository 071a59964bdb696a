/** What an approver is told: the whole context of a request, as plain text. Channels render it their own way. */
import type { ApprovalState } from './approval';

function line(label: string, value: unknown): string | undefined {
  return value === undefined || value === '' ? undefined : `${label.padEnd(14)}${String(value)}`;
}

export function approvalRequestText(state: ApprovalState, reviewUrl: string): { subject: string; text: string } {
  const { request, policy } = state;
  const agent = request.agent ? [request.agent.name, request.agent.model && `model ${request.agent.model}`, request.agent.runId && `run ${request.agent.runId}`].filter(Boolean).join(', ') : undefined;
  const lines = [
    `${state.requester} asks for approval to run ${request.action}.`,
    '',
    line('Action', request.action),
    line('Resource', request.resource),
    line('Environment', request.environment),
    line('Requester', state.requester),
    line('On behalf of', request.onBehalfOf),
    line('Agent', agent),
    line('Rule', policy?.rule),
    line('Approvals', policy ? `${policy.requiredApprovals} needed` : undefined),
    line('Expires', policy?.expiresAt),
    '',
    'Parameters:',
    JSON.stringify(request.parameters ?? {}, null, 2),
    '',
    ...(request.justification !== undefined
      ? ['Justification (supplied by the agent, not verified):', request.justification, '']
      : []),
    `Review and decide: ${reviewUrl}`,
    '',
    'This link is personal: it records your decision under your name. Do not forward it.',
  ].filter((l): l is string => l !== undefined);
  // Subjects are one line: agent text must not inject headers or fake a second line.
  const subject = `Approval requested: ${request.action}${request.environment ? ` in ${request.environment}` : ''}`.replace(/[\r\n]+/g, ' ');
  return { subject, text: lines.join('\n') };
}
