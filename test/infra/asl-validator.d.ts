/** asl-validator ships no types; what the infrastructure tests use of it. */
declare module 'asl-validator' {
  interface AslValidationError {
    readonly message: string;
    readonly [key: string]: unknown;
  }
  interface AslValidationResult {
    readonly isValid: boolean;
    readonly errors: readonly AslValidationError[];
    errorsText(separator?: string): string;
  }
  /** Validates a state machine definition against the Amazon States Language schemas (it adds defaults to its argument). */
  function validator(definition: unknown, options?: { checkPaths?: boolean; checkArn?: boolean }): AslValidationResult;
  export = validator;
}
