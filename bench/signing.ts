/**
 * The ceiling KMS's ECC request quota puts on approvals (docs/design.md "Record signing"). KMS counts ECC `Sign` and
 * `Verify` against one shared quota per account and region; Countersign signs records with certified environment
 * keys (no KMS call), so an approval's ECC calls are its receipt only (and its callback, when it has a callbackUrl);
 * each function environment adds one certificate an hour.
 *
 * `signingCeiling()` computes the figures from the path (optionally with a measured Sign count from local mode:
 * `localKmsSigns(kmsEndpoint)` reads the local KMS endpoint's request counts before and after a run);
 * `signingFigures()` formats them for a bench table (bench/stats.ts `formatTable`). `npx tsx bench/signing.ts`
 * prints them.
 */
import { pathToFileURL } from 'node:url';
import { type Figure, formatTable } from './stats';

/**
 * The "Cryptographic operations (ECC) request rate" quota's default, requests/s per account and region, shared by
 * Sign and Verify on elliptic-curve KMS keys (adjustable). Earlier revisions of the page gave 300/s.
 */
export const DEFAULT_ECC_QUOTA_PER_SECOND = 1000;
export const KMS_QUOTA_SOURCE = 'https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html';

/** ECC KMS calls on an approval's path, counted from the code (one approver, no callbackUrl). */
export const ECC_CALLS = {
  /** Before certificates: requested, policy_decided, notified, voted, approved, and one more record; then the receipt. */
  perRecordSigning: { records: 6, receipt: 1 },
  /** With certified environment keys: the receipt only. */
  certified: { records: 0, receipt: 1 },
  /** A settled request with a callbackUrl: one Sign per delivery attempt. */
  callbackAttempt: 1,
  /** Each function environment that appends records: one certificate per hour. */
  certificatesPerEnvironmentHour: 1,
} as const;

export interface SigningCeiling {
  readonly quotaPerSecond: number;
  /** ECC calls per approval at steady state (the receipt). */
  readonly callsPerApproval: number;
  /** The same, when each approval also has one callback attempt. */
  readonly callsPerApprovalWithCallback: number;
  /** What an approval cost when every record was signed by KMS. */
  readonly callsPerApprovalPerRecordSigning: number;
  /** ECC calls/s the environments' certificates take, at `environments` warm environments. */
  readonly certificateCallsPerSecond: number;
  /** approvals/s the quota allows: (quota − certificates) / calls per approval. */
  readonly approvalsPerSecond: number;
  readonly approvalsPerSecondWithCallback: number;
  readonly approvalsPerSecondPerRecordSigning: number;
  /** From a local run, when given: KMS Sign calls counted over that many approvals. */
  readonly measured?: { readonly approvals: number; readonly signs: number; readonly perApproval: number; readonly approvalsPerSecond: number };
}

export interface SigningCeilingOptions {
  /** @default DEFAULT_ECC_QUOTA_PER_SECOND */
  readonly quotaPerSecond?: number;
  /** Warm function environments that append records (each renews its certificate hourly). @default 100 */
  readonly environments?: number;
  /** Sign calls counted on the local KMS endpoint over `approvals` approvals (warm environments). */
  readonly measured?: { readonly approvals: number; readonly signs: number };
}

/** The figures: ECC calls per approval and the approvals/s the quota allows. */
export function signingCeiling(options: SigningCeilingOptions = {}): SigningCeiling {
  const quota = options.quotaPerSecond ?? DEFAULT_ECC_QUOTA_PER_SECOND;
  const certificateCallsPerSecond = ((options.environments ?? 100) * ECC_CALLS.certificatesPerEnvironmentHour) / 3600;
  const calls = ECC_CALLS.certified.records + ECC_CALLS.certified.receipt;
  const withCallback = calls + ECC_CALLS.callbackAttempt;
  const before = ECC_CALLS.perRecordSigning.records + ECC_CALLS.perRecordSigning.receipt;
  const available = Math.max(0, quota - certificateCallsPerSecond);
  const measured = options.measured;
  return {
    quotaPerSecond: quota,
    callsPerApproval: calls,
    callsPerApprovalWithCallback: withCallback,
    callsPerApprovalPerRecordSigning: before,
    certificateCallsPerSecond,
    approvalsPerSecond: available / calls,
    approvalsPerSecondWithCallback: available / withCallback,
    approvalsPerSecondPerRecordSigning: quota / before,
    ...(measured && measured.approvals > 0
      ? {
          measured: {
            approvals: measured.approvals,
            signs: measured.signs,
            perApproval: measured.signs / measured.approvals,
            approvalsPerSecond: measured.signs > 0 ? (available * measured.approvals) / measured.signs : Number.POSITIVE_INFINITY,
          },
        }
      : {}),
  };
}

/** KMS Sign requests the local KMS endpoint (local/kms.ts `GET /_local/stats`) served since it started. */
export async function localKmsSigns(kmsEndpoint: string): Promise<number> {
  const response = await fetch(`${kmsEndpoint.replace(/\/+$/, '')}/_local/stats`);
  if (!response.ok) throw new Error(`local KMS stats: HTTP ${response.status}`);
  const { operations } = (await response.json()) as { operations: Record<string, number> };
  return operations.Sign ?? 0;
}

/** The ceiling as rows of a bench table. */
export function signingFigures(ceiling: SigningCeiling): Figure[] {
  const rate = (n: number) => `${Math.floor(n).toLocaleString('en-US')} approvals/s`;
  return [
    { what: 'KMS ECC quota (Sign + Verify, shared, default)', value: `${ceiling.quotaPerSecond.toLocaleString('en-US')}/s (${KMS_QUOTA_SOURCE})` },
    {
      what: 'ECC calls per approval, records signed by KMS (before)',
      value: `${ceiling.callsPerApprovalPerRecordSigning} → ${rate(ceiling.approvalsPerSecondPerRecordSigning)}`,
    },
    { what: 'ECC calls per approval, certified environment keys', value: `${ceiling.callsPerApproval} (the receipt) → ${rate(ceiling.approvalsPerSecond)}` },
    { what: 'the same, with a callbackUrl (one attempt)', value: `${ceiling.callsPerApprovalWithCallback} → ${rate(ceiling.approvalsPerSecondWithCallback)}` },
    { what: 'certificates (one per environment and hour)', value: `${ceiling.certificateCallsPerSecond.toFixed(3)} calls/s` },
    ...(ceiling.measured
      ? [
          {
            what: `measured in local mode (${ceiling.measured.approvals} approvals)`,
            value: `${ceiling.measured.signs} Sign, ${ceiling.measured.perApproval.toFixed(2)} per approval → ${rate(ceiling.measured.approvalsPerSecond)}`,
          },
        ]
      : []),
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(formatTable(signingFigures(signingCeiling())));
}
