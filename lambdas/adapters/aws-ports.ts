/**
 * The ports on AWS, wired from the function's environment (adapters/environment.ts) and its SDK clients, each made
 * the first time a use case asks for it and kept for the life of the execution environment. Local mode runs these
 * same adapters: its endpoints stand in for DynamoDB, KMS, Step Functions, SES, Slack and Teams.
 *
 * A function takes only what it uses, so its bundle holds only those SDK clients (every top-level value here is
 * pure, and esbuild drops the ones a function never references): `awsPorts` with the outbox (SES, Secrets Manager,
 * Slack, Teams) for the functions that send messages, `awsServicePorts` without it for those that never do, and the
 * scheduled jobs' leases and checkpoints on their own.
 */
import type { Clock, ConsoleSessions, Leases, LedgerExportSource, Ports } from '../core/ports';
import { dynamo, kms, once, sfn } from './aws-clients';
import { putCertificate } from './certificate-store';
import { certifiedRecordSigner } from './certified-signer';
import { CheckpointTable } from './checkpoint-table';
import { consoleSessionsTable } from './console-sessions';
import { deployedDirectory, deployedPolicy } from './deployed-config';
import { functionName, requiredEnv, secondsEnv } from './environment';
import { grantIndexTable } from './grant-index';
import { kmsMac } from './kms-mac';
import { kmsLedgerSigner } from './kms-signer';
import { withLease } from './lease';
import { ledgerExportSource } from './ledger-scan';
import { LedgerTable } from './ledger-table';
import { emfMetrics } from './metrics';
import { deliver } from './outbox';
import { requestsTable } from './request-store';
import { stepFunctionsWorkflow } from './step-functions';

/** The system clock. */
export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

const signer = /* @__PURE__ */ once(() => kmsLedgerSigner(kms(), requiredEnv('ledgerKeyId')));
/** Records are signed with this environment's own key, certified by the ledger key (one KMS Sign an hour). */
const recordSigner = /* @__PURE__ */ once(() =>
  certifiedRecordSigner({
    ledgerKey: signer(),
    functionName: functionName(),
    store: (certificate) => putCertificate(dynamo(), requiredEnv('ledgerTable'), certificate),
  }),
);
const ledger = /* @__PURE__ */ once(() => {
  const writeWindow = secondsEnv('ledgerWriteWindow');
  return new LedgerTable({
    tableName: requiredEnv('ledgerTable'),
    dynamo: dynamo(),
    signer: signer(),
    recordSigner: recordSigner(),
    ...(writeWindow ? { writeWindowSeconds: writeWindow } : {}),
  });
});
const checkpoints = /* @__PURE__ */ once(() => new CheckpointTable({ tableName: requiredEnv('ledgerTable'), dynamo: dynamo(), signer: signer() }));
const requests = /* @__PURE__ */ once(() => requestsTable(dynamo(), () => requiredEnv('requestsTable')));
const grants = /* @__PURE__ */ once(() => grantIndexTable(dynamo(), () => requiredEnv('requestsTable')));
const workflow = /* @__PURE__ */ once(() => stepFunctionsWorkflow(sfn(), () => requiredEnv('stateMachineArn'), deployedDirectory));
const mac = /* @__PURE__ */ once(() => kmsMac(kms(), requiredEnv('reviewKeyId')));

/** The ports of a function that sends no messages: every port but the outbox, on AWS. */
export type ServicePorts = Omit<Ports, 'outbox'>;

/** Every port but the outbox, on AWS; a getter reads its variables only when a use case needs that port. */
export const awsServicePorts: ServicePorts = {
  get ledger() {
    return ledger();
  },
  get requests() {
    return requests();
  },
  get grants() {
    return grants();
  },
  get workflow() {
    return workflow();
  },
  get signer() {
    return signer();
  },
  get mac() {
    return mac();
  },
  clock: systemClock,
  policy: deployedPolicy,
  metrics: emfMetrics,
  get publicUrl() {
    return requiredEnv('publicUrl').replace(/\/+$/, '');
  },
};

/**
 * `ports` with an outbox: their property descriptors copied, so each getter stays lazy (a spread would call them all).
 * Pure, so a function that never references `awsPorts` bundles neither it nor the outbox's SDK clients.
 */
function withOutbox(ports: ServicePorts, outbox: Ports['outbox']): Ports {
  return Object.defineProperties({ outbox }, Object.getOwnPropertyDescriptors(ports)) as Ports;
}

/** Every port, on AWS, the outbox included; a getter reads its variables only when a use case needs that port. */
export const awsPorts: Ports = /* @__PURE__ */ withOutbox(awsServicePorts, { deliver });

/** The scheduled jobs' one-run-at-a-time leases, in the requests table. */
export const awsLeases: Leases = {
  withLease: (name, durationMs, work) => withLease({ dynamo: dynamo(), tableName: requiredEnv('leaseTable'), name, durationMs }, work),
};

export const awsCheckpoints = checkpoints;

/** The ledger table as auditors export it. */
export const awsExportSource = /* @__PURE__ */ once(
  (): LedgerExportSource => ledgerExportSource({ dynamo: dynamo(), tableName: requiredEnv('ledgerTable'), latestCheckpoint: () => checkpoints().latest() }),
);

/** Console sessions ended by sign-out, in the requests table. */
export const awsConsoleSessions = /* @__PURE__ */ once((): ConsoleSessions => consoleSessionsTable(dynamo(), () => requiredEnv('requestsTable')));
