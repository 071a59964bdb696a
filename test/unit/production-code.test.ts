/**
 * The layers hold: core imports nothing of AWS and nothing outside core; the use cases (app/) import only core and
 * each other, never an adapter or an AWS SDK; handlers wire adapters into use cases. And production code never asks
 * whether it runs in local mode: local mode changes what the functions reach (endpoints,
 * the Slack API base, secrets' values) and their deployment settings (CALLBACK_NETWORK), never a flag of its own
 * that the functions or the stack would test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? files(path) : [path];
  });
}

/** A local-mode variable, or a local-only route of local mode's gateway. */
const LOCAL_MODE = [/COUNTERSIGN_LOCAL\w*/, /process\.env(?:\.|\[\s*['"`])\w*LOCAL\w*/i, /\/_local\//];

describe('production code', () => {
  it.each(['lambdas', 'lib'])('under %s/ mentions no local-mode variable', (folder) => {
    const found = files(join(ROOT, folder)).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => (LOCAL_MODE.some((pattern) => pattern.test(line)) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(found).toEqual([]);
  });

  it('would notice one', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the third line is source text that a template would build.
    for (const line of ['const inbox = process.env.COUNTERSIGN_LOCAL_INBOX_URL;', "process.env['MY_LOCAL_FLAG']", 'fetch(`${base}/_local/inbox`)']) {
      expect(
        LOCAL_MODE.some((pattern) => pattern.test(line)),
        line,
      ).toBe(true);
    }
  });
});

/** The modules a file imports (static and dynamic), as written. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"`;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
}

describe('the layers', () => {
  const allowed: Record<string, (module: string) => boolean> = {
    // Node's own modules and a few pure libraries (zod as zod/mini with its English messages: core/zod.ts); other core modules.
    core: (m) =>
      m.startsWith('node:') ||
      ['zod/mini', 'zod/v4/core', 'zod/v4/locales/en.js', 'canonicalize', 'yaml'].includes(m) ||
      (m.startsWith('./') && !m.includes('/..')),
    app: (m) => m.startsWith('node:') || m.startsWith('../core/') || (m.startsWith('./') && !m.includes('/..')),
  };
  it.each(Object.keys(allowed))('lambdas/%s/ imports only what its layer may', (layer) => {
    const found = files(join(ROOT, 'lambdas', layer)).flatMap((file) =>
      importsOf(file)
        .filter((m) => !allowed[layer]!(m))
        .map((m) => `${relative(ROOT, file)}: ${m}`),
    );
    expect(found).toEqual([]);
  });

  it('would notice an adapter or the AWS SDK in a use case', () => {
    expect(allowed.app!('../adapters/outbox')).toBe(false);
    expect(allowed.app!('@aws-sdk/client-kms')).toBe(false);
    expect(allowed.core!('../app/ask')).toBe(false);
    expect(importsOf(join(ROOT, 'lambdas/app/ask.ts'))).toContain('../core/policy');
  });
});

describe('zod in the functions', () => {
  it('is zod/mini, imported through core/zod.ts (which installs the English messages) and never directly', () => {
    const found = files(join(ROOT, 'lambdas')).flatMap((file) =>
      importsOf(file)
        .filter((m) => m === 'zod' || m.startsWith('zod/'))
        .map((m) => `${relative(ROOT, file)}: ${m}`),
    );
    expect(found).toEqual([
      'lambdas/core/zod.ts: zod/mini',
      'lambdas/core/zod.ts: zod/v4/core',
      'lambdas/core/zod.ts: zod/v4/locales/en.js',
      'lambdas/core/zod.ts: zod/mini',
    ]);
  });

  it("parses with core/zod.ts's z.parse, whose failure is a ZodError, not a schema's own .parse (zod/mini's $ZodError)", () => {
    const found = files(join(ROOT, 'lambdas')).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => (/\b\w*[sS]chema\.parse(?:Async)?\(/.test(line) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(found).toEqual([]);
  });
});

describe('the handlers', () => {
  it('pass the AWS ports as they are, never spread (a spread wires every port, reading variables the function lacks)', () => {
    const found = files(join(ROOT, 'lambdas')).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => (/\.\.\.\s*awsPorts\b/.test(line) ? [`${relative(ROOT, file)}:${i + 1}`] : [])),
    );
    expect(found).toEqual([]);
  });
});

describe('the logs', () => {
  it('go through the one logger (adapters/logger.ts): no console call under lambdas/, and Powertools imported there only', () => {
    const calls = files(join(ROOT, 'lambdas')).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => (/\bconsole\.(?:log|info|warn|error|debug|trace)\(/.test(line) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(calls).toEqual([]);
    const importers = files(join(ROOT, 'lambdas')).filter((file) => importsOf(file).some((m) => m.startsWith('@aws-lambda-powertools/')));
    expect(importers.map((file) => relative(ROOT, file))).toEqual(['lambdas/adapters/logger.ts']);
  });
});
