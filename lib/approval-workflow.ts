import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DefinitionBody,
  Errors,
  IntegrationPattern,
  JsonPath,
  LogLevel,
  Pass,
  Result,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Timeout,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { ALREADY_SETTLED_ERROR, CALLBACK_REFUSED_ERROR } from '../lambdas/core/workflow';

export interface ApprovalWorkflowProps {
  /** Sends the notifications and stores the task token; invoked with `{ requestId, taskToken }`. */
  readonly notifier: IFunction;
  /** Records the outcome (`{ requestId, outcome }` or `{ requestId, error }`), tells the requester (`callback`), lapses an unredeemed approval (`lapse`). */
  readonly finalizer: IFunction;
  /** How long the workflow's logs are kept. @default one year */
  readonly logRetention?: RetentionDays;
}

/**
 * The approval workflow, a Standard state machine (Express cannot wait for a task token):
 * Notify waits for the task token until the request's own timeout (`$.timeoutSeconds`), then Finalize records the
 * outcome. A timeout, or a notifier that keeps failing, goes to Expire: the request fails closed. After Callback, an
 * approval under a rule's `redeemWithin` that is not redeemed yet waits until its redeem deadline (Finalize answers
 * it as `$.finalized.redeemBy`), and Lapse then lapses it unless it was redeemed meanwhile.
 */
export class ApprovalWorkflow extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: ApprovalWorkflowProps) {
    super(scope, id);

    // Notify waits for the outcome until the next wake ($.wait.seconds): the deadline, a reminder or an escalation.
    const notify = new LambdaInvoke(this, 'Notify', {
      lambdaFunction: props.notifier,
      integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: TaskInput.fromObject({ requestId: JsonPath.stringAt('$.requestId'), taskToken: JsonPath.taskToken }),
      taskTimeout: Timeout.at('$.wait.seconds'),
      resultPath: '$.outcome',
    });
    // Wake reminds, escalates, or finds the deadline passed; then the loop waits again with a fresh token.
    const wake = new LambdaInvoke(this, 'Wake', {
      lambdaFunction: props.notifier,
      payload: TaskInput.fromObject({ requestId: JsonPath.stringAt('$.requestId'), wake: true }),
      payloadResponseOnly: true,
      resultPath: '$.wait',
    });
    wake.addRetry({ errors: [Errors.ALL], interval: Duration.seconds(2), maxAttempts: 5, backoffRate: 2 });

    const finalize = new LambdaInvoke(this, 'Finalize', {
      lambdaFunction: props.finalizer,
      payload: TaskInput.fromObject({ requestId: JsonPath.stringAt('$.requestId'), outcome: JsonPath.objectAt('$.outcome') }),
      payloadResponseOnly: true,
      resultPath: '$.finalized',
    });
    const expire = new LambdaInvoke(this, 'Expire', {
      lambdaFunction: props.finalizer,
      payload: TaskInput.fromObject({ requestId: JsonPath.stringAt('$.requestId'), error: JsonPath.objectAt('$.error') }),
      payloadResponseOnly: true,
      resultPath: '$.finalized',
    });
    // Recording the outcome must not be lost to a passing fault (a throttled table, a ledger write that failed).
    for (const task of [finalize, expire]) {
      task.addRetry({ errors: [Errors.ALL], interval: Duration.seconds(2), maxAttempts: 10, backoffRate: 2, maxDelay: Duration.minutes(5) });
    }
    // A request settled before notifying (e.g. cancelled at once) needs no retry: straight to the closing step.
    notify.addRetry({ errors: [ALREADY_SETTLED_ERROR], maxAttempts: 0 });
    notify.addRetry({ errors: [Errors.TASKS_FAILED], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
    notify.addCatch(wake, { errors: [Errors.TIMEOUT], resultPath: '$.error' });
    notify.addCatch(expire, { errors: [Errors.ALL], resultPath: '$.error' });
    const timedOut = new Pass(this, 'TimedOut', {
      result: Result.fromObject({ Error: 'States.Timeout', Cause: 'No decision before the timeout.' }),
      resultPath: '$.error',
    });
    timedOut.next(expire);
    wake.addCatch(expire, { errors: [Errors.ALL], resultPath: '$.error' });
    wake.next(new Choice(this, 'Deadline?').when(Condition.booleanEquals('$.wait.expired', true), timedOut).otherwise(notify));

    // Tell the requester (callback URL, Slack DM), retried with backoff; its failure never changes the outcome.
    const callback = new LambdaInvoke(this, 'Callback', {
      lambdaFunction: props.finalizer,
      payload: TaskInput.fromObject({ requestId: JsonPath.stringAt('$.requestId'), callback: true }),
      payloadResponseOnly: true,
      resultPath: JsonPath.DISCARD,
    });
    callback.addRetry({ errors: [CALLBACK_REFUSED_ERROR], maxAttempts: 0 });
    callback.addRetry({ errors: [Errors.ALL], interval: Duration.seconds(5), maxAttempts: 5, backoffRate: 2, maxDelay: Duration.minutes(2) });
    const done = new Succeed(this, 'Done');

    // The redeem window: an approval not redeemed by `$.finalized.redeemBy` lapses. A Wait costs nothing while it
    // waits, and the execution's year (timeout and redeemWithin together, checked in the config) covers it.
    const lapse = new LambdaInvoke(this, 'Lapse', {
      lambdaFunction: props.finalizer,
      payload: TaskInput.fromObject({ requestId: JsonPath.stringAt('$.requestId'), lapse: true }),
      payloadResponseOnly: true,
      resultPath: JsonPath.DISCARD,
    });
    // Like Finalize: the lapse must not be lost to a passing fault, nor to a Wait that ended a moment early.
    lapse.addRetry({ errors: [Errors.ALL], interval: Duration.seconds(2), maxAttempts: 10, backoffRate: 2, maxDelay: Duration.minutes(5) });
    lapse.next(done);
    const redeemWindow = new Wait(this, 'RedeemWindow', { time: WaitTime.timestampPath('$.finalized.redeemBy') }).next(lapse);
    const redeemBy = new Choice(this, 'RedeemBy?').when(Condition.isPresent('$.finalized.redeemBy'), redeemWindow).otherwise(done);
    callback.addCatch(redeemBy, { errors: [Errors.ALL], resultPath: '$.callbackError' });
    callback.next(redeemBy);
    expire.next(callback);
    notify.next(finalize).next(callback);

    // Execution data would carry task tokens into the logs; keep it out.
    const logs = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(notify),
      tracingEnabled: true,
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: false },
    });
    const role = this.stateMachine.role;
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery and friends) support no resource-level permissions.',
    });
    for (const fn of [props.notifier, props.finalizer]) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason: 'lambda:InvokeFunction on the versions and aliases of this one function, as the Step Functions integration grants it.',
      });
    }
  }
}
