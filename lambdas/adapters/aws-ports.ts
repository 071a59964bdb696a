/**
 * The ports on AWS, wired from the function's environment (adapters/environment.ts) and its SDK clients, each made
 * the first time a use case asks for it and kept for the life of the execution environment. Local mode runs these
 * same adapters: its endpoints stand in for DynamoDB, KMS, Step Functions, SES, Slack and Teams.
 */
import type { Clock, Leases, LedgerExportSource, Ports } from '../core/ports';
import { dynamo, kms, sfn } from './aws-clients';
import { putCertificate } from './certificate-store';
import { certifiedRecordSigner } from './certified-signer';
import { CheckpointTable } from './checkpoint-table';
import { deployedDirectory, deployedPolicy } from './deployed-config';
import { functionName, requiredEnv, secondsEnv } from './environment';
import { kmsMac } from './kms-mac';
import { kmsLedgerSigner } from './kms-signer';
import { withLease } from './lease';
import { ledgerExportSource } from './ledger-scan';
import { LedgerTable } from './ledger-table';
import { deliver } from './outbox';
import { requestsTable } from './request-store';
import { stepFunctionsWorkflow } from './step-functions';

/** The system clock. */
export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/** `make`, run the first time it is asked for and remembered. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

const signer = once(() => kmsLedgerSigner(kms, requiredEnv('ledgerKeyId')));
/** Records are signed with this environment's own key, certified by the ledger key (one KMS Sign an hour). */
const recordSigner = once(() =>
  certifiedRecordSigner({
    ledgerKey: signer(),
    functionName: functionName(),
    store: (certificate) => putCertificate(dynamo, requiredEnv('ledgerTable'), certificate),
  }),
);
const ledger = once(() => {
  const writeWindow = secondsEnv('ledgerWriteWindow');
  return new LedgerTable({
    tableName: requiredEnv('ledgerTable'),
    dynamo,
    signer: signer(),
    recordSigner: recordSigner(),
    ...(writeWindow ? { writeWindowSeconds: writeWindow } : {}),
  });
});
const checkpoints = once(() => new CheckpointTable({ tableName: requiredEnv('ledgerTable'), dynamo, signer: signer() }));
const requests = once(() => requestsTable(dynamo, () => requiredEnv('requestsTable')));
const workflow = once(() => stepFunctionsWorkflow(sfn, () => requiredEnv('stateMachineArn'), deployedDirectory));
const mac = once(() => kmsMac(kms, requiredEnv('reviewKeyId')));

/** Every port, on AWS; a getter reads its variables only when a use case needs that port. */
export const awsPorts: Ports = {
  get ledger() {
    return ledger();
  },
  get requests() {
    return requests();
  },
  get workflow() {
    return workflow();
  },
  outbox: { deliver },
  get signer() {
    return signer();
  },
  get mac() {
    return mac();
  },
  clock: systemClock,
  policy: deployedPolicy,
  get publicUrl() {
    return requiredEnv('publicUrl').replace(/\/+$/, '');
  },
};

/** The scheduled jobs' one-run-at-a-time leases, in the requests table. */
export const awsLeases: Leases = {
  withLease: (name, durationMs, work) => withLease({ dynamo, tableName: requiredEnv('leaseTable'), name, durationMs }, work),
};

export const awsCheckpoints = checkpoints;

/** The ledger table as auditors export it. */
export const awsExportSource = once(
  (): LedgerExportSource => ledgerExportSource({ dynamo, tableName: requiredEnv('ledgerTable'), latestCheckpoint: () => checkpoints().latest() }),
);
