import { RemovalPolicy } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface ReviewTokenKeyProps {
  /** @default RemovalPolicy.RETAIN: deleting it would void every outstanding review link */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The KMS HMAC_256 key that MACs review tokens and derives request ids and parameters salts (core/commitment.ts), so
 * there is no shared secret to manage or leak.
 */
export class ReviewTokenKey extends Construct {
  readonly key: Key;

  constructor(scope: Construct, id: string, props: ReviewTokenKeyProps = {}) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'Countersign review token MAC key',
      keySpec: KeySpec.HMAC_256,
      keyUsage: KeyUsage.GENERATE_VERIFY_MAC,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  grantGenerate(grantee: IGrantable): void {
    this.key.grant(grantee, 'kms:GenerateMac');
  }

  grantVerify(grantee: IGrantable): void {
    this.key.grant(grantee, 'kms:VerifyMac');
  }
}
