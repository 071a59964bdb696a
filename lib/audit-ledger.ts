import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface AuditLedgerProps {
  /** What happens to the table and the signing key when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The audit ledger: an append-only table of hash-chained records (partition `requestId`, sort `seq`) and the KMS
 * ECC_NIST_P256 key that signs them. Writers get PutItem only (conditional appends), never UpdateItem or DeleteItem.
 */
export class AuditLedger extends Construct {
  readonly table: TableV2;
  readonly signingKey: Key;

  constructor(scope: Construct, id: string, props: AuditLedgerProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: 'requestId', type: AttributeType.STRING },
      sortKey: { name: 'seq', type: AttributeType.NUMBER },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: TableEncryptionV2.awsManagedKey(),
      removalPolicy,
    });
    this.signingKey = new Key(this, 'SigningKey', {
      description: 'Countersign audit ledger signing key',
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
      removalPolicy,
    });
  }

  /** Append records (conditional PutItem), read a request's chain, and sign with the ledger key. */
  grantAppend(grantee: IGrantable): void {
    this.table.grant(grantee, 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:Query');
    this.signingKey.grant(grantee, 'kms:Sign');
  }

  /** Read records and the public key. */
  grantRead(grantee: IGrantable): void {
    this.table.grant(grantee, 'dynamodb:GetItem', 'dynamodb:Query');
    this.signingKey.grant(grantee, 'kms:GetPublicKey', 'kms:DescribeKey');
  }
}
