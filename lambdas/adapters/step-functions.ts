/** The approval workflow on Step Functions: started by intake (and again by the repair job), told the outcome by votes. */
import { ExecutionAlreadyExists, InvalidToken, SendTaskSuccessCommand, type SFNClient, StartExecutionCommand, TaskTimedOut } from '@aws-sdk/client-sfn';
import { nextWait, statusOf } from '../core/approval';
import type { IdentityDirectory } from '../core/identity';
import type { Workflow } from '../core/ports';
import { executionName, type WorkflowInput } from '../core/workflow';

export function stepFunctionsWorkflow(sfn: SFNClient, stateMachineArn: () => string, directory: () => IdentityDirectory): Workflow {
  return {
    /**
     * Starts the request's workflow unless it exists. The execution name derives from the request id and the input
     * from the recorded request alone (the first wake counts from `createdAt`), so every caller starts the same one.
     * Returns whether this call started it.
     */
    async start(state) {
      if (statusOf(state) !== 'pending' || !state.policy?.timeoutSeconds) return false;
      const first = nextWait(state, new Date(Date.parse(state.createdAt)), directory());
      // Notify comes first and reads its timeout from the input: never 0 (a request already past its deadline waits a
      // second, then Wake expires it).
      const input: WorkflowInput = {
        requestId: state.id,
        timeoutSeconds: state.policy.timeoutSeconds,
        wait: first.expired ? { expired: false, seconds: 1 } : first,
      };
      const calledAt = Date.now();
      try {
        const { startDate } = await sfn.send(
          new StartExecutionCommand({ stateMachineArn: stateMachineArn(), name: executionName(state.id), input: JSON.stringify(input) }),
        );
        // For a running execution with the same name and input, Step Functions answers the original (idempotent): it
        // started before this call did.
        return startDate === undefined || startDate.getTime() >= calledAt - 1000;
      } catch (err) {
        if (err instanceof ExecutionAlreadyExists) return false;
        throw err;
      }
    },
    /** SendTaskSuccess with the outcome; a token already used or timed out means the workflow has moved on. */
    async sendOutcome(taskToken, status) {
      try {
        await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify({ status }) }));
      } catch (err) {
        if (err instanceof TaskTimedOut || err instanceof InvalidToken) return;
        throw err;
      }
    },
  };
}
