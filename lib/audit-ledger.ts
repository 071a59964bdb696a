import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, Grant, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { LEDGER_SLOT_INDEX } from '../lambdas/core/checkpoint';

export interface AuditLedgerProps {
  /** What happens to the table and the signing key when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** What no principal may ever do to the ledger table or its indexes, whatever else it is granted. */
export const LEDGER_TAMPERING_ACTIONS = [
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
  'dynamodb:DeleteTable',
  'dynamodb:UpdateTable',
  'dynamodb:DeleteResourcePolicy',
  'dynamodb:PutResourcePolicy',
] as const;

/**
 * The audit ledger: an append-only table of hash-chained records (partition `requestId`, sort `seq`) and the KMS
 * ECC_NIST_P256 key that signs them. Writers get PutItem only (conditional appends), never UpdateItem or DeleteItem,
 * and `denyTampering` makes that an explicit Deny.
 * The `bySlot` index (partition `slot`, sort `rk`, projecting `hash`) lists records by time slot for the signed
 * checkpoints that seal the ledger as a whole.
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
      globalSecondaryIndexes: [
        {
          indexName: LEDGER_SLOT_INDEX,
          partitionKey: { name: 'slot', type: AttributeType.STRING },
          sortKey: { name: 'rk', type: AttributeType.STRING },
          projectionType: ProjectionType.INCLUDE,
          nonKeyAttributes: ['hash'],
        },
      ],
    });
    this.signingKey = new Key(this, 'SigningKey', {
      description: 'Countersign audit ledger signing key',
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
      removalPolicy,
    });
  }

  /**
   * Append records (conditional PutItem; several at once in a TransactWriteItems of Puts, which IAM authorizes as the
   * PutItems it holds), read a request's chain, and sign with the ledger key.
   */
  grantAppend(grantee: IGrantable): void {
    this.grantOnTable(grantee, ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:Query']);
    this.signingKey.grant(grantee, 'kms:Sign');
  }

  /** Read records and the public key. */
  grantRead(grantee: IGrantable): void {
    this.grantOnTable(grantee, ['dynamodb:GetItem', 'dynamodb:Query']);
    this.signingKey.grant(grantee, 'kms:GetPublicKey', 'kms:DescribeKey');
  }

  /**
   * Write checkpoints: list records by slot (Query on the table and the `bySlot` index), read the whole table once
   * on the first run (Scan), append checkpoint items (PutItem, GetItem) and sign them with the ledger key.
   */
  grantCheckpoint(grantee: IGrantable): void {
    this.grantOnTable(grantee, ['dynamodb:Query'], [this.table.tableArn, `${this.table.tableArn}/index/${LEDGER_SLOT_INDEX}`]);
    this.grantOnTable(grantee, ['dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:GetItem']);
    this.signingKey.grant(grantee, 'kms:Sign');
  }

  /**
   * Export the ledger to auditors, sealed: a paginated Scan of the table, or for a time window the `bySlot` index
   * (Query) and the records it names (BatchGetItem); checkpoints and their leaf pages (Query); and the ledger key to
   * sign each page's cursor and the export's seal (Sign) and to check a cursor (GetPublicKey).
   */
  grantExport(grantee: IGrantable): void {
    this.grantOnTable(grantee, ['dynamodb:Scan', 'dynamodb:BatchGetItem']);
    this.grantOnTable(grantee, ['dynamodb:Query'], [this.table.tableArn, `${this.table.tableArn}/index/${LEDGER_SLOT_INDEX}`]);
    this.signingKey.grant(grantee, 'kms:Sign');
    this.signingKey.grant(grantee, 'kms:GetPublicKey');
  }

  /**
   * Denies, explicitly, every way to edit or delete records, the table or its indexes. The ledger is append-only, and
   * an explicit Deny outranks any Allow: even a grant added later (a broad `grantReadWriteData`, a managed policy)
   * cannot update, delete, or drop records. BatchWriteItem is denied whole because IAM cannot tell its deletes
   * from its puts; appends go through conditional PutItem.
   */
  denyTampering(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.DENY,
        actions: [...LEDGER_TAMPERING_ACTIONS],
        resources: [this.table.tableArn, `${this.table.tableArn}/index/*`],
      }),
    );
  }

  /**
   * Grants on exactly the given ARNs (the table by default). `table.grant` would add `<table>/index/*` to every
   * action once the table has an index: a wildcard, and index access no writer needs.
   */
  private grantOnTable(grantee: IGrantable, actions: string[], resourceArns: string[] = [this.table.tableArn]): void {
    Grant.addToPrincipal({ grantee, actions, resourceArns });
  }
}
