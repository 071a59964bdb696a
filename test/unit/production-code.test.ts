/**
 * Production code never asks whether it runs in local mode: local mode changes what the functions reach (endpoints,
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
    for (const line of ["const inbox = process.env.COUNTERSIGN_LOCAL_INBOX_URL;", "process.env['MY_LOCAL_FLAG']", "fetch(`${base}/_local/inbox`)"]) {
      expect(LOCAL_MODE.some((pattern) => pattern.test(line)), line).toBe(true);
    }
  });
});
