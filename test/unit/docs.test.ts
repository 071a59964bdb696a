/**
 * docs/api.md is the contract outside scripts drive the API by, so it must name what the code serves: every route of
 * the HTTP API, every error code with its status, every ledger record type, every receipt claim and every top-level
 * config field. And the code cites the docs the repository carries, not files from outside it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../lambdas/core/config';
import { ERROR_STATUS } from '../../lambdas/core/errors';
import { receiptClaimsSchema } from '../../lambdas/core/receipt';
import { AUDIT_TYPES } from '../../lambdas/core/records';
import { API_ROUTES } from '../../lib/intake-api';

const ROOT = join(import.meta.dirname, '..', '..');
const api = readFileSync(join(ROOT, 'docs', 'api.md'), 'utf8');
const design = readFileSync(join(ROOT, 'docs', 'design.md'), 'utf8');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** Every `.ts` file of the repository, outside dependencies, build output and local data. */
function typeScriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name.startsWith('.') || entry.name === 'cdk.out') return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('docs/api.md', () => {
  it('names every route of the HTTP API, with its auth', () => {
    for (const route of API_ROUTES) {
      const key = `${route.method} ${route.path}`;
      const row = api.split('\n').find((line) => line.startsWith(`| \`${key}\` |`));
      expect(row, `the Routes table has no row for ${key}`).toBeDefined();
      expect(row).toContain(`| ${route.auth} |`);
    }
  });

  it('names every error code with its status', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(api, `the Errors table has no row "| ${status} | \`${code}\` |"`).toContain(`| ${status} | \`${code}\` |`);
    }
  });

  it('names every ledger record type, receipt claim and top-level config field', () => {
    for (const type of AUDIT_TYPES) expect(api).toContain(`| \`${type}\` |`);
    for (const claim of Object.keys(receiptClaimsSchema.shape)) expect(api).toContain(`\`${claim}\``);
    for (const field of Object.keys(configSchema.shape)) expect(api).toContain(`\`${field}`);
  });
});

describe('citations of the docs', () => {
  it('no TypeScript file cites the contract or the design outside docs/', () => {
    // Upper-case names were the files outside the repository; the repository's own are docs/api.md and docs/design.md.
    const outside = new RegExp(['API', 'DESIGN'].map((name) => `\\b${name}\\.md`).join('|'));
    const citing = typeScriptFiles(ROOT)
      .filter((file) => outside.test(readFileSync(file, 'utf8')))
      .map((file) => relative(ROOT, file));
    expect(citing).toEqual([]);
  });

  it('the README points to docs/api.md and docs/design.md, not to the workspace', () => {
    expect(readme).toContain('](docs/api.md)');
    expect(readme).toContain('](docs/design.md)');
    expect(readme).not.toMatch(/shared\/(API|DESIGN)\.md/);
    expect(design).toContain('](api.md)');
  });
});
