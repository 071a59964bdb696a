import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Countersign, type CountersignProps } from './countersign';

export type CountersignStackProps = StackProps & CountersignProps;

/** A stack holding one Countersign deployment, with its API URL and ledger key as outputs. */
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
  }
}
