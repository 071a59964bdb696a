/**
 * The typed errors of the API (docs/api.md "Errors"): each code has one HTTP status. Handlers map them; core throws
 * them.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_an_approver: 403,
  self_approval: 403,
  not_found: 404,
  method_not_allowed: 405,
  already_decided: 409,
  idempotency_conflict: 409,
  /** A redemption of a request that was redeemed already: the details name when and by whom. */
  already_redeemed: 409,
  /** A verified receipt redeemed on a request it was not issued for (another id, action or parameters). */
  receipt_mismatch: 409,
  /** A redemption whose `parametersCommitment` is not the receipt's: the executor is about to run something else. */
  parameters_mismatch: 409,
  /** A redemption after the approval lapsed unredeemed (the rule's `redeemWithin` passed): the details name when. */
  redemption_lapsed: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  /** A backing service (DynamoDB, KMS, Step Functions) failed or throttled: retry, with the same Idempotency-Key. */
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

export class CountersignError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'CountersignError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toBody(): { error: { code: ErrorCode; message: string; details: readonly ErrorDetail[] } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}
