import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { GRANT_INDEX, GRANT_TTL_ATTRIBUTE } from '../lambdas/core/grant';
import { PENDING_INDEX, PENDING_SUMMARY_ATTRIBUTES, REPAIR_INDEX } from '../lambdas/core/request';

export interface RequestStoreProps {
  /** What happens to the table when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The requests table: one item per action request (status, the server-side task token, the receipt). The sparse
 * `repair` index holds only requests still pending (partition `pendingShard`, sort `repairAt`), projecting each
 * one's pending summary: the repair job queries the ones due, and an approver's "what waits for me" reads the
 * summaries. The older `pending` index (sort `createdAt`, keys only) is no longer read; it goes in a later release,
 * since a stack update may add or remove only one index of a table.
 */
export class RequestStore extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: RequestStoreProps = {}) {
    super(scope, id);
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: 'id', type: AttributeType.STRING },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: TableEncryptionV2.awsManagedKey(),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      // Grant items go a week after their grant lapses (lambdas/adapters/grant-index.ts); no other item has it.
      timeToLiveAttribute: GRANT_TTL_ATTRIBUTE,
      globalSecondaryIndexes: [
        {
          indexName: PENDING_INDEX,
          partitionKey: { name: 'pendingShard', type: AttributeType.STRING },
          sortKey: { name: 'createdAt', type: AttributeType.STRING },
          projectionType: ProjectionType.KEYS_ONLY,
        },
        {
          indexName: REPAIR_INDEX,
          partitionKey: { name: 'pendingShard', type: AttributeType.STRING },
          sortKey: { name: 'repairAt', type: AttributeType.STRING },
          projectionType: ProjectionType.INCLUDE,
          nonKeyAttributes: [...PENDING_SUMMARY_ATTRIBUTES],
        },
        // Grants by scope key, sorted by when each lapses (lambdas/adapters/grant-index.ts): sparse, grant items only.
        {
          indexName: GRANT_INDEX,
          partitionKey: { name: 'grantScope', type: AttributeType.STRING },
          sortKey: { name: 'grantUntil', type: AttributeType.STRING },
          projectionType: ProjectionType.INCLUDE,
          nonKeyAttributes: ['grantId', 'requestId', 'grantRule', 'grantDigest'],
        },
      ],
    });
  }

  /** Read and conditionally write requests; no Scan, no DeleteItem. Exact ARNs: `table.grant` would add `index/*`. */
  grantReadWrite(grantee: IGrantable): void {
    Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
      resourceArns: [this.table.tableArn],
    });
  }

  /**
   * Take and give back one lease item (see lambdas/adapters/lease.ts): conditional PutItem on that item alone
   * (`dynamodb:LeadingKeys`), for a function that has no other business with the requests table.
   */
  grantLease(grantee: IGrantable, leaseId: string): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [this.table.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [leaseId] } },
      }),
    );
  }

  /** Find grants by scope (Query) and list them (Scan), on the sparse `grants` index only. */
  grantFindGrants(grantee: IGrantable): void {
    Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query', 'dynamodb:Scan'], resourceArns: [`${this.table.tableArn}/index/${GRANT_INDEX}`] });
  }

  /** List the pending requests: the due ones, or their summaries (Query on the `repair` index). */
  grantListPending(grantee: IGrantable): void {
    Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [`${this.table.tableArn}/index/${REPAIR_INDEX}`] });
  }
}
