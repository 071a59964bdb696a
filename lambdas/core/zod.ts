/**
 * zod/mini, as every schema under lambdas/ uses it: the functional build of zod, a quarter of classic zod's size in a
 * bundle, with no methods attached to each schema when a module loads. Every module under lambdas/ imports zod from
 * here, never from 'zod' or 'zod/mini' directly, for two things classic zod did that zod/mini leaves out:
 *
 * - Issue messages in English. zod/mini installs no locale; messages reach API answers, `countersign policy check`
 *   and config errors, so this module installs the English one (a few KiB: `zod/v4/locales/en.js`, not `z.locales`,
 *   which holds every language).
 * - `parse` failing with a `ZodError`, as classic zod's did (the error name shows in logs, Lambda's errorType and the
 *   workflow's history). A schema's own `.parse` method throws zod/mini's `$ZodError`: parse with `z.parse(schema,
 *   value)` from here instead (test/unit/production-code.test.ts keeps it so).
 */
import { config } from 'zod/mini';
// zod/v4/core itself, not zod/mini's `core` namespace: using that keeps all of zod (every locale, JSON Schema) in a bundle.
import { _parse, $constructor, type $Parse, $ZodError, type $ZodIssue } from 'zod/v4/core';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';

/** Classic zod's error for a failed parse: zod's own error with the name "ZodError" (the issues and message alike). */
const ZodError = $constructor(
  'ZodError',
  (inst: $ZodError, issues: $ZodIssue[]) => {
    $ZodError.init(inst, issues);
    inst.name = 'ZodError';
  },
  undefined,
  { Parent: Error },
);

/** The value `schema` makes of `value`, or a thrown ZodError naming every issue. */
export const parse: $Parse = _parse(ZodError);
