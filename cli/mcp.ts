/**
 * `countersign mcp`: Countersign for MCP clients, on stdio. Without --upstream, the approval server (tools
 * request_approval and get_approval_status); with --upstream, the approval gateway in front of another MCP server.
 * stdout is the MCP transport: nothing else is ever written there (logs go to stderr).
 */
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { Countersign } from '../client/index';
import { actionSegment, createApprovalGateway, DEFAULT_GATEWAY_TIMEOUT_MS, MAX_SERVER_SEGMENT } from '../mcp/gateway';
import { createApprovalServer, MAX_TIMEOUT_SECONDS } from '../mcp/server';
import { type CliIo, CONNECTION_USAGE, connectionOptions, EXIT, endpointOf, err, neutralize, out, UsageError } from './connection';

export const MCP_USAGE = `usage: countersign mcp [--agent <name>] [--url <url>] [--api-key <key>]
       countersign mcp --upstream "<command line>" [--name <server name>] [--timeout <seconds>] [--url <url>] [--api-key <key>]

  An MCP server on stdio, for an MCP client's config (command "npx", args ["countersign", "mcp", ...]).

  Without --upstream: the approval server. Tools: request_approval (ask and wait for the decision) and
  get_approval_status (read a request). --agent names the agent in requests (default: the MCP client's name).

  With --upstream: the approval gateway. Starts the upstream MCP server (the command line is split like a shell
  would, quotes and backslashes included, but run without a shell), lists exactly its tools, and asks Countersign
  before every call: action mcp.<server name>.<tool> (lower-cased; characters outside a-z 0-9 _ : - become _),
  resource mcp://<server name>/<tool>, parameters = the call's arguments. Approved calls go upstream; refused
  ones (denied, expired, cancelled, still pending, API error) return a tool error and never reach the upstream.
  --name <server name>  the upstream's name in actions (default: upstream)
  --timeout <seconds>   how long a call waits for a decision (default: ${DEFAULT_GATEWAY_TIMEOUT_MS / 1000}, at most ${MAX_TIMEOUT_SECONDS})
  The upstream gets this process's environment without COUNTERSIGN_API_KEY; its stderr is this process's stderr.

${CONNECTION_USAGE}`;

const mcpOptions = {
  ...connectionOptions,
  upstream: { type: 'string' },
  name: { type: 'string' },
  timeout: { type: 'string' },
  agent: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function mcpCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const log = (line: string) => err(io, `countersign mcp: ${neutralize(line)}`);
  /** The MCP transport: io's stdin and stdout. */
  const transport = () => new StdioServerTransport(io.stdin.stream() as Readable, io.stdout as Writable);
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], allowPositionals: false, options: mcpOptions }));
  } catch (e) {
    err(io, `countersign mcp: ${neutralize((e as Error).message)}\n\n${MCP_USAGE}`);
    return EXIT.usage;
  }
  if (values.help) {
    out(io, MCP_USAGE);
    return EXIT.ok;
  }
  try {
    if (values.upstream === undefined) {
      for (const option of ['name', 'timeout'] as const) if (values[option] !== undefined) throw new UsageError(`--${option} needs --upstream`);
    } else if (values.agent !== undefined) {
      throw new UsageError('--agent is for the approval server, not with --upstream');
    }
    const endpoint = endpointOf(values, io.env);
    const approvals = new Countersign({ endpoint });
    keepStdoutForProtocol();

    if (values.upstream === undefined) {
      const server = createApprovalServer(approvals, values.agent !== undefined ? { agent: { name: values.agent.slice(0, 256) } } : {});
      await server.connect(transport());
      log(`approval server ready (API ${endpoint.url})`);
      return await untilDone(io, () => server.close(), new Promise<void>(() => undefined));
    }

    const [command, ...args] = splitCommandLine(values.upstream);
    if (command === undefined) throw new UsageError('--upstream is empty');
    const serverName = values.name ?? 'upstream';
    const segment = actionSegment(serverName);
    if (segment.length === 0 || segment.length > MAX_SERVER_SEGMENT) throw new UsageError(`--name must be 1-${MAX_SERVER_SEGMENT} characters`);
    const timeoutMs = timeoutOf(values.timeout);

    let gateway;
    try {
      gateway = await createApprovalGateway({
        approvals,
        upstream: { command, args, env: upstreamEnv(io.env), cwd: process.cwd(), stderr: 'inherit' },
        serverName,
        timeoutMs,
        log,
      });
    } catch (e) {
      err(io, `countersign mcp: ${neutralize((e as Error).message)}`);
      return EXIT.failed;
    }
    await gateway.connect(transport());
    log(`gateway ready: ${neutralize(command)} as mcp.${segment}.* (API ${endpoint.url})`);
    let upstreamExited = true;
    const code = await untilDone(
      io,
      () => {
        upstreamExited = false;
        return gateway.close();
      },
      gateway.closed,
    );
    return upstreamExited && code === EXIT.ok ? EXIT.failed : code;
  } catch (e) {
    if (e instanceof UsageError) {
      err(io, `countersign mcp: ${neutralize(e.message)}\n\n${MCP_USAGE}`);
      return EXIT.usage;
    }
    throw e;
  }
}

/**
 * Resolves when the MCP client goes away (stdin ends, or stdout breaks), on SIGINT / SIGTERM (after `close`), or when `closed`
 * resolves on its own (the gateway's upstream exited). A request still in flight then cannot hold the process.
 */
function untilDone(io: CliIo, close: () => Promise<void>, closed: Promise<void>): Promise<number> {
  const stdin = io.stdin.stream();
  return new Promise((resolve) => {
    let done = false;
    const finish = async (code: number, byUs: boolean) => {
      if (done) return;
      done = true;
      stdin.off('end', onEnd);
      io.stdout.off('error', onEnd);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (byUs) await close().catch(() => undefined);
      // Nothing may keep the process alive now (an approval still long-polling, an unref'd transport).
      if (io.ownsProcess) setTimeout(() => process.exit(process.exitCode ?? code), 3000).unref();
      resolve(code);
    };
    const onEnd = () => void finish(EXIT.ok, true);
    const onSignal = () => void finish(EXIT.ok, true);
    stdin.once('end', onEnd);
    io.stdout.once('error', onEnd); // EPIPE: the client went away mid-answer
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void closed.then(() => finish(EXIT.ok, false));
  });
}

/** The console writes to stderr: stdout carries only MCP messages. */
function keepStdoutForProtocol(): void {
  console.log = console.error;
  console.info = console.error;
  console.debug = console.error;
}

function upstreamEnv(from: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(from)) if (value !== undefined && key !== 'COUNTERSIGN_API_KEY') env[key] = value;
  return env;
}

function timeoutOf(value: string | undefined): number {
  if (value === undefined) return DEFAULT_GATEWAY_TIMEOUT_MS;
  if (!/^\d+$/.test(value) || Number(value) > MAX_TIMEOUT_SECONDS) throw new UsageError(`--timeout must be whole seconds, 0-${MAX_TIMEOUT_SECONDS}`);
  return Number(value) * 1000;
}

/**
 * Splits a command line into words as a POSIX shell would, without running one: whitespace separates words;
 * '...' is literal; "..." keeps spaces, with \\ \" \$ \` escapable; a backslash outside quotes escapes the next
 * character. No variables, globs, pipes or redirections: those characters are ordinary.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new UsageError('--upstream has an unterminated single quote');
      word += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      inWord = true;
      for (i++; ; i++) {
        if (i >= line.length) throw new UsageError('--upstream has an unterminated double quote');
        const d = line[i]!;
        if (d === '"') break;
        if (d === '\\' && i + 1 < line.length && '\\"$`\n'.includes(line[i + 1]!)) {
          i++;
          if (line[i] !== '\n') word += line[i];
        } else {
          word += d;
        }
      }
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new UsageError('--upstream ends with a backslash');
      i++;
      if (line[i] !== '\n') {
        word += line[i];
        inWord = true;
      }
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
