/** The requests table: one item per action request, its status changed only by conditional writes. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { storedRequestSchema, type RequestStatus, type StoredRequest } from '../core/request';
import { dynamo, requiredEnv } from './aws-clients';

const table = () => requiredEnv('REQUESTS_TABLE');

export async function putNewRequest(request: StoredRequest): Promise<void> {
  await dynamo.send(new PutCommand({ TableName: table(), Item: request, ConditionExpression: 'attribute_not_exists(id)' }));
}

export async function getRequest(id: string): Promise<StoredRequest | undefined> {
  const { Item } = await dynamo.send(new GetCommand({ TableName: table(), Key: { id }, ConsistentRead: true }));
  return Item ? storedRequestSchema.parse(stripServerFields(Item)) : undefined;
}

/** The stored task token (server-side only, never answered to anyone). */
export async function getTaskToken(id: string): Promise<string | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: table(), Key: { id }, ConsistentRead: true, ProjectionExpression: 'taskToken' }),
  );
  return typeof Item?.taskToken === 'string' ? Item.taskToken : undefined;
}

/** Stores the Notify task's token; true the first time, false when a retried task already stored one. */
export async function storeTaskToken(id: string, taskToken: string): Promise<boolean> {
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: table(),
        Key: { id },
        UpdateExpression: 'SET taskToken = :t',
        ConditionExpression: 'attribute_exists(id) AND #s = :pending AND (attribute_not_exists(taskToken) OR taskToken <> :t)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':t': taskToken, ':pending': 'pending' },
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

/** Moves a pending request to its final status; false if something else settled it first. */
export async function settleRequest(
  id: string,
  status: Exclude<RequestStatus, 'pending'>,
  decidedBy: NonNullable<StoredRequest['decidedBy']>,
  reason?: string,
): Promise<boolean> {
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: table(),
        Key: { id },
        UpdateExpression: 'SET #s = :status, decidedBy = :by, decidedAt = :at' + (reason ? ', reason = :reason' : ''),
        ConditionExpression: '#s = :pending',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: {
          ':status': status,
          ':by': decidedBy,
          ':at': new Date().toISOString(),
          ':pending': 'pending',
          ...(reason ? { ':reason': reason } : {}),
        },
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

function stripServerFields(item: Record<string, unknown>): Record<string, unknown> {
  const { taskToken: _token, ...rest } = item;
  return rest;
}
