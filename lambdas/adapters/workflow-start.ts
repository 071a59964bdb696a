/** Starting a pending request's approval workflow: from intake, and again from the repair job if that failed. */
import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { nextWait, statusOf, type ApprovalState } from '../core/approval';
import { deployedDirectory } from './deployed-config';
import { executionName, type WorkflowInput } from '../core/workflow';
import { requiredEnv, sfn } from './aws-clients';

/**
 * Starts the request's workflow unless it exists. The execution name derives from the request id and the input
 * from the recorded request alone (the first wake counts from `createdAt`), so every caller starts the same one.
 * Returns whether this call started it.
 */
export async function startWorkflow(state: ApprovalState): Promise<boolean> {
  if (statusOf(state) !== 'pending' || !state.policy?.timeoutSeconds) return false;
  const first = nextWait(state, new Date(Date.parse(state.createdAt)), deployedDirectory());
  // Notify comes first and reads its timeout from the input: never 0 (a request already past its deadline waits a
  // second, then Wake expires it).
  const input: WorkflowInput = { requestId: state.id, timeoutSeconds: state.policy.timeoutSeconds, wait: first.expired ? { expired: false, seconds: 1 } : first };
  const calledAt = Date.now();
  try {
    const { startDate } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: requiredEnv('stateMachineArn'), name: executionName(state.id), input: JSON.stringify(input) }),
    );
    // For a running execution with the same name and input, Step Functions answers the original (idempotent): it
    // started before this call did.
    return startDate === undefined || startDate.getTime() >= calledAt - 1000;
  } catch (err) {
    if (err instanceof ExecutionAlreadyExists) return false;
    throw err;
  }
}
