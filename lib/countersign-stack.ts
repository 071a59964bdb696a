import { Aws, CfnOutput, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Countersign, type CountersignProps } from './countersign';

export type CountersignStackProps = StackProps & CountersignProps;

/** A stack holding one Countersign deployment, with its API URL, ledger key, alarm topic, dashboard, log groups and workflow as outputs. */
export class CountersignStack extends Stack {
  readonly countersign: Countersign;

  constructor(scope: Construct, id: string, props: CountersignStackProps) {
    super(scope, id, props);
    this.countersign = new Countersign(this, 'Countersign', props);
    new CfnOutput(this, 'ApiUrl', { value: this.countersign.api.url, description: 'Base URL of the Countersign API' });
    new CfnOutput(this, 'LedgerKeyArn', {
      value: this.countersign.ledger.signingKey.keyArn,
      description: 'KMS key that signs audit records (GetPublicKey verifies them offline)',
    });
    const { topic, dashboard } = this.countersign.operations;
    new CfnOutput(this, 'AlarmTopicArn', { value: topic.topicArn, description: 'SNS topic every Countersign alarm is sent to' });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${dashboard.dashboardName}`,
      description: 'The Countersign CloudWatch dashboard',
    });
    // What the runbook's queries need: one request's log lines across the functions, its workflow execution.
    new CfnOutput(this, 'FunctionLogGroups', {
      value: Fn.join(
        ' ',
        Object.values(this.countersign.functions).map((f) => f.logGroup.logGroupName),
      ),
      description: "The functions' log groups, space-separated (for Logs Insights: aws logs start-query --log-group-names)",
    });
    new CfnOutput(this, 'StateMachineArn', {
      value: this.countersign.workflow.stateMachine.stateMachineArn,
      description: 'The approval workflow; each execution is named after its request id',
    });
  }
}
