/**
 * The ports: everything the use cases (lambdas/app/) need from the world, declared in one place. The adapters
 * (lambdas/adapters/) implement them on AWS; local mode runs those same adapters against its local endpoints; the
 * tests wire in-memory ones (test/fixtures/memory-ports.ts). Nothing here imports AWS.
 */
import type { ApprovalState } from './approval';
import type { CallbackBody } from './callback';
import type { Checkpoint } from './checkpoint';
import type { Config } from './config';
import type { ExportPosition } from './export-seal';
import type { IdentityDirectory } from './identity';
import type { LeaseName } from './lease';
import type { AuditEvent, AuditRecord } from './ledger-record';
import type { CountKey, MetricDimensions, TimingKey } from './metrics';
import type { OutgoingMessage } from './notification';
import type { RequestStatus } from './request';
import type { MacPort } from './review-token';
import type { SigningCertificate } from './signing-certificate';

/** The audit ledger: per request, a hash chain of signed records (docs/design.md "Audit ledger"). */
export interface AuditLedger {
  /** The request's records, oldest first; empty when there are none. */
  read(requestId: string): Promise<AuditRecord[]>;
  /**
   * Appends what `decide` says is still missing: it is asked again on the chain with each record it asked for added
   * (stamped and hashed, not yet signed), until it says nothing is; then the records are signed together and written
   * at once, all or none. Losing a race to another writer (a seq already taken) reads what was written and decides
   * again. `options.known` is the chain as the caller has it (read just now, or `[]` for an id nobody else can know
   * yet): decided on without reading first, since a record appended since makes the write lose the race.
   * `options.alongside` runs, while the records are signed and written, on the chain as it will be once they are
   * (its hashes are final, its new signatures not yet there): its answer is kept only if that chain is written, and
   * it is not run when nothing is appended.
   */
  append<T = never>(
    requestId: string,
    decide: (chain: readonly AuditRecord[]) => AuditEvent[],
    options?: AppendOptions<T>,
  ): Promise<{ chain: AuditRecord[]; appended: AuditRecord[]; alongside?: T }>;
  /** The signing certificates with these ids (core/signing-certificate.ts) that the ledger holds. */
  certificates(ids: readonly string[]): Promise<SigningCertificate[]>;
}

export interface AppendOptions<T> {
  readonly known?: readonly AuditRecord[];
  readonly alongside?: (chain: readonly AuditRecord[]) => Promise<T>;
}

/** Per request, what the ledger cannot hold: the workflow's task token, the receipt, and the status for listing. */
export interface RequestItem {
  readonly id: string;
  readonly requester: string;
  readonly status: RequestStatus;
  readonly createdAt: string;
  readonly taskToken?: string;
  readonly receipt?: string;
}

/**
 * What a pending request's item carries for "what waits for me" (app/vote.ts `pendingFor`), so candidates are picked
 * without reading chains. Approvers and expiry are fixed at intake; `voters` may lag the ledger (a crash after a
 * vote's append), which only ever adds a candidate: every candidate is confirmed against its chain.
 */
export interface PendingSummary {
  readonly id: string;
  readonly requester: string;
  readonly createdAt: string;
  /** Everyone who may ever vote: the rule's approvers and its escalation's. Absent on items stored before summaries. */
  readonly approvers?: readonly string[];
  readonly onBehalfOf?: string;
  readonly expiresAt?: string;
  /** Who voted, as far as the item knows. */
  readonly voters?: readonly string[];
}

/** What intake stores for a new request: its item, and the summary of a pending one. */
export type NewRequestItem = Pick<RequestItem, 'id' | 'requester' | 'status' | 'createdAt'> & Pick<PendingSummary, 'approvers' | 'onBehalfOf' | 'expiresAt'>;

/** A pending request the repair job is due to look at, and the `repairAt` that made it due. */
export interface RepairDue {
  readonly id: string;
  readonly repairAt: string;
}

export interface RequestStore {
  /**
   * Creates the item once, with its status and (an approval at once) its receipt; a retry finds it and changes
   * nothing. A pending one joins the pending index with its summary, due for the repair job's first look at its
   * `createdAt`. Answers whether this call created it.
   */
  put(item: NewRequestItem & Pick<RequestItem, 'receipt'>): Promise<boolean>;
  get(id: string): Promise<RequestItem | undefined>;
  /** The cached status alone (a small read, what a wait watches); undefined when there is no item. */
  status(id: string): Promise<RequestStatus | undefined>;
  /** Keeps the Notify task's latest token; false (nothing stored) when the request has no item yet. */
  storeTaskToken(id: string, taskToken: string): Promise<boolean>;
  /** Caches the settled outcome; the request leaves the pending list (and the repair job's). */
  cacheOutcome(id: string, status: Exclude<RequestStatus, 'pending'>): Promise<void>;
  /**
   * When the repair job should next look at a pending request (`repairAt`, ISO; it looks once that is a grace ago).
   * Only while pending, and with `ifAt` only if `repairAt` is still that; otherwise nothing changes. Also replaces the
   * summary's voters, or adds one. Answers the `repairAt` before, when it changed.
   */
  scheduleRepair(
    id: string,
    at: string,
    options?: { readonly ifAt?: string; readonly voters?: readonly string[]; readonly addVoter?: string },
  ): Promise<string | undefined>;
  /** Pending requests whose `repairAt` is at or before `before`, oldest `repairAt` first, read a page at a time. */
  dueForRepair(before: string): AsyncIterable<RepairDue>;
  /** Every pending request's summary, in no particular order. */
  pendingSummaries(): Promise<PendingSummary[]>;
  /**
   * Stores a receipt unless one is stored; answers the item as stored after, with its receipt (the first is kept),
   * or undefined when there is no item. With `replacing`, stores it in place of that (expired) receipt instead, unless
   * another caller replaced it first (then theirs is answered).
   */
  storeReceipt(id: string, receipt: string, replacing?: string): Promise<RequestItem | undefined>;
}

/** A grant as the requests table indexes it: a pointer to the chain that holds it (which alone decides). */
export interface IndexedGrant {
  readonly id: string;
  readonly requestId: string;
  readonly until: string;
  /** The grant's rule and the digest it is bound to: the repair job ends grants whose rule changed without reading chains. */
  readonly rule: string;
  readonly ruleDigest: string;
  /** Revoked or ended (`retire`): still listed, never found by scope. */
  readonly retired: boolean;
}

/**
 * Where intake finds the grants that may cover a request, without reading every chain: each approval that made a
 * grant indexes it under its scope key (core/grant.ts `grantScopeKey`). Every candidate is confirmed on its chain.
 */
export interface GrantIndex {
  /** Indexes a grant (a repeat changes nothing). Each item goes a week after its grant lapses (table TTL). */
  put(grant: Omit<IndexedGrant, 'retired'> & { readonly scopeKey: string }): Promise<void>;
  /** At most `limit` grants under `scopeKey` that lapse after `now`, the longest-lived first. */
  find(scopeKey: string, now: Date, limit: number): Promise<IndexedGrant[]>;
  /** Indexed grants that lapse after `since`, at most `limit`, in no particular order. */
  list(since: Date, limit: number): Promise<IndexedGrant[]>;
  /** Takes a revoked or ended grant out of `find`'s way for good; it stays listed until its item goes. */
  retire(grantId: string): Promise<void>;
}

/** The approval workflow (Step Functions on AWS, the local endpoint in local mode). */
export interface Workflow {
  /** Starts the pending request's workflow unless it exists; whether this call started it. */
  start(state: ApprovalState): Promise<boolean>;
  /** Tells the waiting workflow the outcome; a token already used or timed out is no error. */
  sendOutcome(taskToken: string, status: RequestStatus): Promise<void>;
}

/** Sends one message on its channel (email, Slack, Teams), within the delivery timeout and before `signal` aborts. */
export interface Outbox {
  deliver(message: OutgoingMessage, options?: { readonly signal?: AbortSignal }): Promise<void>;
}

/**
 * The ledger key (KMS ECC_NIST_P256 on AWS): it signs records, checkpoints, export seals and cursors, receipts and
 * callbacks, each as a SHA-256 digest, so a message of any size fits.
 */
export interface LedgerSigner {
  /** The key's id as recorded beside each signature (its ARN on AWS). */
  readonly keyId: string;
  /** A DER ECDSA P-256 signature over a SHA-256 digest. */
  signDigest(digest: Uint8Array): Promise<Uint8Array>;
  /** The public key (PEM, SubjectPublicKeyInfo): what anyone verifies records, receipts and callbacks with. */
  publicKeyPem(): Promise<string>;
}

/** A key that signs ledger records, and the id each record it signs carries as `keyId`. */
export interface RecordKey {
  readonly keyId: string;
  /** A DER ECDSA P-256 signature over SHA-256 of `message` (a record's canonical JSON). */
  sign(message: string): Promise<Uint8Array>;
}

/**
 * Signs ledger records: with the ledger key itself (one KMS Sign a record), or with a function environment's own key
 * that the ledger key certified (adapters/certified-signer.ts: one KMS Sign per environment and hour).
 */
export interface RecordSigner {
  /** The key for a record stamped now; good for at least a minute, so the record's `at` falls in its window. */
  recordKey(): Promise<RecordKey>;
}

/** Delivers a settled request's signed callback; answers the HTTP status, throws on refusal or failure. */
export interface CallbackSender {
  send(url: string, body: CallbackBody): Promise<number>;
}

/** Writes the ledger's signed checkpoints: every record since the last one, up to `settleSeconds` ago. */
export interface CheckpointWriter {
  run(input: { settleSeconds: number; deadline: number; onWritten?: (checkpoint: Checkpoint) => void }): Promise<Checkpoint[]>;
}

/** What one page of an export reads: records by `at`, checkpoints by the range they cover (wholly inside). */
export interface ExportPageQuery {
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  /** Where to go on from: the last item of the page before. */
  readonly cursor?: ExportPosition | undefined;
  /** A page stops adding items past this many bytes of JSON. */
  readonly maxBytes?: number | undefined;
  /** A page also ends after this long. */
  readonly maxMillis?: number | undefined;
  /** Items one read of the store takes. */
  readonly scanLimit?: number | undefined;
}

export interface ExportPage {
  readonly items: Array<Record<string, unknown>>;
  /** Where the next page starts; none on the last page. */
  readonly next?: ExportPosition;
}

/** The whole ledger table as stored, for auditors: a page at a time, and its newest checkpoint. */
export interface LedgerExportSource {
  page(query: ExportPageQuery): Promise<ExportPage>;
  latestCheckpoint(): Promise<Checkpoint | undefined>;
}

/** One run at a time of a scheduled job: `work` runs only when the named lease was taken. */
export interface Leases {
  withLease<T>(name: LeaseName, durationMs: number, work: () => Promise<T>): Promise<{ ran: true; result: T } | { ran: false }>;
}

/** Time: now, and waiting. Tests wire a clock that moves only when told to. */
export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

/** The deployed policy, who is who in it, and its version as recorded with each decision. */
export interface Policy {
  config(): Config;
  directory(): IdentityDirectory;
  version(): string;
}

/**
 * Countersign's own metrics (core/metrics.ts `METRICS`): recorded where things happen, published once per invocation
 * (CloudWatch embedded metric format on AWS: adapters/metrics.ts). Recording never fails and never waits.
 */
export interface MetricsPort {
  /** Adds `value` (default 1) to a counted metric. */
  count<K extends CountKey>(key: K, dimensions: MetricDimensions<K>, value?: number): void;
  /** One measurement of a duration metric, in its catalogue unit (Milliseconds or Seconds). */
  timing<K extends TimingKey>(key: K, dimensions: MetricDimensions<K>, value: number): void;
}

/** The deployment's secret MAC key (KMS HMAC): review tokens, idempotent request ids, parameters salts. */
export type SecretMac = MacPort;

/** Every port, as one object: a use case takes the ones it needs (`Pick<Ports, ...>`). */
export interface Ports {
  readonly ledger: AuditLedger;
  readonly requests: RequestStore;
  readonly grants: GrantIndex;
  readonly workflow: Workflow;
  readonly outbox: Outbox;
  readonly signer: LedgerSigner;
  readonly mac: SecretMac;
  readonly clock: Clock;
  readonly policy: Policy;
  readonly metrics: MetricsPort;
  /** The API's public base URL (no trailing slash), for links. */
  readonly publicUrl: string;
}

/**
 * Console sessions ended before their time (sign-out): a session cookie stays valid by its MAC until it expires, so
 * the server keeps which ones were ended, until then.
 */
export interface ConsoleSessions {
  /** Ends the session `sid`; kept until `until`, when the session would have expired anyway. */
  end(sid: string, until: Date): Promise<void>;
  /** Whether the session `sid` was ended. */
  ended(sid: string): Promise<boolean>;
}
