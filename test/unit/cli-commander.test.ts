/**
 * The command line as commander reads it: --help on every command and subcommand (stdout, exit 0), `help <command>`,
 * --version, "did you mean" for misspelt commands, subcommands and options (stderr, exit 2, no stack trace), and the
 * shell completion scripts generated from the same program; a quick command loads no SDK.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../cli/main';
import { ROOT, runCliInProcess } from '../fixtures/cli';

const countersign = (...args: string[]) => runCliInProcess(args, { env: { COUNTERSIGN_URL: 'http://127.0.0.1:9', COUNTERSIGN_API_KEY: 'k' } });

/** Every command path that runs something: `status`, `policy check`, `audit export`… */
const PATHS = COMMANDS.filter((c) => c.load).flatMap((c) => (c.subcommands ? c.subcommands.map((s) => [c.name, s.name]) : [[c.name]]));

describe('help', () => {
  it.each(PATHS.map((p) => [p.join(' '), p]))('%s --help and -h: its usage on stdout, exit 0', async (_, path) => {
    for (const flag of ['--help', '-h']) {
      const run = await countersign(...path!, flag);
      expect(run.code, `${path!.join(' ')} ${flag}`).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(new RegExp(`^usage: countersign ${path![0]}`));
    }
  });

  it('the usages name what each subcommand takes', async () => {
    expect((await countersign('policy', 'check', '--help')).stdout).toContain('usage: countersign policy check [file] [--json]');
    expect((await countersign('policy', 'explain', '--help')).stdout).toContain('--requester principal');
    expect((await countersign('audit', 'export', '--help')).stdout).toContain('  export [--since <time>] [--until <time>] [--out file.jsonl]');
  });

  it('help <command> is <command> --help; help alone is the list of commands', async () => {
    const help = await countersign('help', 'status');
    expect(help).toEqual(await countersign('status', '--help'));
    expect(help.stdout).toMatch(/^usage: countersign status <request id>/);
    expect((await countersign('help', 'policy', 'explain')).stdout).toMatch(/^usage: countersign policy explain --request/);
    const all = await countersign('help');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^usage: countersign <command>\n/);
    for (const spec of COMMANDS) expect(all.stdout).toContain(`  ${spec.name}`);
  });
});

describe('--version', () => {
  it("prints package.json's version on stdout, exit 0", async () => {
    const { version } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) expect(await countersign(flag)).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });
});

describe('mistakes', () => {
  it('a misspelt command: did you mean, exit 2', async () => {
    const run = await countersign('statsu', 'act_x');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^countersign: unknown command "statsu"\n\(Did you mean status\?\)\n\nusage: countersign <command>\n/);
    const sub = await countersign('policy', 'chek');
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain('(Did you mean check?)');
    expect(sub.stderr).toContain('usage: countersign policy <subcommand>');
  });

  it('a misspelt option: did you mean, exit 2, one message and no stack trace; as JSON too with --json', async () => {
    const run = await countersign('approve', 'act_x', '--reasn', 'ok');
    expect(run).toEqual({
      code: 2,
      stdout: '',
      stderr: "countersign approve: Unknown option '--reasn'\n(Did you mean --reason?)\n(countersign approve --help for usage)\n",
    });
    const json = await countersign('status', 'act_x', '--jsno', '--json');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ ok: false, error: { code: 'usage', message: "Unknown option '--jsno'" } });
    const audit = await countersign('audit', 'export', '--sinse', '2026-01-01');
    expect(audit.code).toBe(2);
    expect(audit.stderr).toContain('(Did you mean --since?)');
    expect(audit.stderr).not.toMatch(/\n\s+at /);
  });

  it('an option without its value, and an unreadable file: one message, exit 2, no stack trace', async () => {
    for (const args of [
      ['wait', 'act_x', '--timeout'],
      ['policy', 'explain', '--request'],
      ['policy', 'explain', '--request', '/nonexistent/req.json'],
      ['receipt', 'verify', 'r.r.r', '--public-key', '/nonexistent/key.pem'],
      ['audit', 'verify', '--file', '/nonexistent/export.jsonl', '--public-key', '/nonexistent/key.pem'],
    ]) {
      const run = await countersign(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(/^countersign /);
      expect(run.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    }
  });

  it('what was typed is quoted with control and hidden characters made visible', async () => {
    const command = await countersign('st\u001b[2Jx');
    expect(command.code).toBe(2);
    expect(command.stderr).toMatch(/^countersign: unknown command "st\\x1b\[2Jx"\n/);
    const option = await countersign('status', 'act_x', '--x\u202e');
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/^countersign status: Unknown option '--x\[U\+202E\]'\n/);
  });

  it('completion without a known shell is a usage error', async () => {
    expect((await countersign('completion', 'tcsh')).code).toBe(2);
    expect((await countersign('completion')).code).toBe(2);
  });
});

describe('completion', () => {
  it('bash, zsh and fish scripts name every command, subcommand and their options', async () => {
    for (const shell of ['bash', 'zsh', 'fish']) {
      const { code, stdout } = await countersign('completion', shell);
      expect(code).toBe(0);
      for (const spec of COMMANDS) {
        expect(stdout, `${shell}: ${spec.name}`).toContain(spec.name);
        for (const sub of spec.subcommands ?? []) expect(stdout, `${shell}: ${spec.name} ${sub.name}`).toContain(sub.name);
      }
      for (const flag of ['approved-by-humans', 'max-checkpoint-age', 'idempotency-key', 'toolkit-stack-name']) expect(stdout).toContain(flag);
    }
  });

  it('the bash script completes commands, subcommands and the options of the command typed', async () => {
    const { stdout } = await countersign('completion', 'bash');
    const complete = (...words: string[]) =>
      execFileSync(
        'bash',
        ['-c', `${stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _countersign; echo "\${COMPREPLY[*]}"`],
        { encoding: 'utf8' },
      ).trim();
    expect(complete('countersign', 'sta')).toBe('status');
    expect(complete('countersign', 'help', 'au')).toBe('audit');
    expect(complete('countersign', 'completion', '')).toBe('bash zsh fish --help');
    expect(complete('countersign', 'audit', '')).toBe('show export verify --help');
    expect(complete('countersign', 'audit', 'show', 'act_1', '--j')).toBe('--json');
    expect(complete('countersign', 'policy', 'explain', '--re')).toBe('--request --requester');
    expect(complete('countersign', 'receipt', 'verify', 'r', '--approved')).toBe('--approved-by-humans');
  });
});

describe('lazy loading', () => {
  /** The modules `countersign <args…>` loads (resolved URLs), recorded by a resolve hook in a fresh process. */
  function loadedBy(args: readonly string[]): string[] {
    const dir = mkdtempSync(join(tmpdir(), 'cs-cli-lazy-'));
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      `let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  port.postMessage(resolved.url);
  return resolved;
}
`,
    );
    const script = `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const loaded = [];
port1.on('message', (url) => loaded.push(url));
register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { port: port2 }, transferList: [port2] });
(await import('tsx/esm/api')).register();
const { main } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'cli/main.ts')).href)});
await main(${JSON.stringify(args)});
await new Promise((resolve) => setTimeout(resolve, 200));
process.stderr.write('\\nloaded: ' + JSON.stringify(loaded));
process.exit(0);
`;
    try {
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
      return JSON.parse(run.stderr.slice(run.stderr.lastIndexOf('\nloaded: ') + '\nloaded: '.length)) as string[];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const heavy = /@modelcontextprotocol|@aws-sdk|aws-cdk-lib/;

  it('--version, --help, a misspelt command and completion load neither the MCP SDK, the AWS SDK nor the CDK', () => {
    for (const args of [['--version'], ['--help'], ['statsu'], ['completion', 'bash']]) {
      const loaded = loadedBy(args);
      expect(
        loaded.some((u) => u.endsWith('cli/main.ts')),
        args.join(' '),
      ).toBe(true);
      expect(
        loaded.filter((u) => heavy.test(u)),
        args.join(' '),
      ).toEqual([]);
    }
    // An API command loads its own module (and the client's SigV4 credential provider), never another's.
    const status = loadedBy(['status', '--help']);
    expect(status.some((u) => u.endsWith('cli/actions.ts'))).toBe(true);
    expect(status.filter((u) => /@modelcontextprotocol|@aws-sdk\/client-|aws-cdk-lib|cli\/doctor/.test(u))).toEqual([]);
    // The check sees them when they are loaded.
    expect(loadedBy(['mcp', '--help']).some((u) => u.includes('@modelcontextprotocol'))).toBe(true);
  });
});
