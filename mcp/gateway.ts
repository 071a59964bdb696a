/**
 * `countersign mcp --upstream "<command>"`: an approval gateway in front of another MCP server. It starts the
 * upstream server as a child process (stdio), lists exactly its tools, and asks Countersign before every tool call:
 *
 * - action `mcp.<server>.<tool>` (see actionName), resource `mcp://<server>/<tool>`, parameters = the call's
 *   arguments, untouched; nothing else is added to the request;
 * - approved (by policy at once, or by humans) -> the gateway redeems the approval (`POST /v1/actions/{id}/redeem`,
 *   binding the commitment of exactly the arguments it forwards), then the call goes upstream and its result comes
 *   back unchanged;
 * - denied, expired, cancelled, still pending at the deadline, an API error, or a redemption that is refused
 *   (already redeemed, other arguments, lapsed) or whose outcome is unknown -> a tool error (`isError`) naming the
 *   action and the request id, and the upstream is NOT called. One approval so reaches the upstream at most once.
 *
 * Only tools pass through (and `notifications/tools/list_changed`); upstream resources and prompts are not exposed.
 * Text from the upstream (descriptions, results) goes to the MCP client untouched: it never reaches Countersign's
 * pages except as the agent's own parameters.
 */
import { createHash } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  type ListToolsResult,
  McpError,
  type Progress,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ACTION_PATTERN } from '../lambdas/core/request';
import { type Approvals, apiErrorOf, pendingAtDeadline } from './approvals';
import { DEFAULT_PROGRESS_INTERVAL_MS, errorResult, SERVER_VERSION, withProgress } from './server';

/** How long a gated call waits for a decision before it is refused as still pending. */
export const DEFAULT_GATEWAY_TIMEOUT_MS = 300_000;
/** How long a forwarded call may run upstream (reset by upstream progress notifications). */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 600_000;
/** The server name's part of an action is at most this long, leaving room for the tool's. */
export const MAX_SERVER_SEGMENT = 48;
const MAX_TOOL_PAGES = 100;

export interface UpstreamCommand {
  readonly command: string;
  readonly args?: readonly string[];
  /**
   * The upstream's environment, on top of the SDK's safe defaults (HOME, PATH, USER, ...). The CLI passes its own
   * environment without COUNTERSIGN_API_KEY.
   */
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** The upstream's stderr. @default 'inherit' (the gateway's stderr; never stdout) */
  readonly stderr?: 'inherit' | 'pipe' | 'ignore';
}

export interface ApprovalGatewayOptions {
  readonly approvals: Approvals;
  readonly upstream: UpstreamCommand;
  /** Names the upstream in actions (`mcp.<serverName>.<tool>`) and resources. */
  readonly serverName: string;
  /** @default DEFAULT_GATEWAY_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** @default DEFAULT_UPSTREAM_TIMEOUT_MS */
  readonly upstreamTimeoutMs?: number;
  /** 0 turns the gateway's own progress notifications off. @default DEFAULT_PROGRESS_INTERVAL_MS */
  readonly progressIntervalMs?: number;
  /** Diagnostics (stderr in the CLI). */
  readonly log?: (line: string) => void;
}

export interface ApprovalGateway {
  /** The MCP server the agent's client talks to; connect it with `connect`. */
  readonly server: Server;
  /** The connected client of the upstream server. */
  readonly upstream: Client;
  /** The server name as it appears in actions. */
  readonly serverSegment: string;
  /** The action a call of `tool` asks approval for. */
  actionFor(tool: string): string;
  connect(transport: Transport): Promise<void>;
  /** Closes the server and the upstream (its process ends). Idempotent. */
  close(): Promise<void>;
  /** Resolves once the gateway closed: by close(), the client going away, or the upstream exiting. */
  readonly closed: Promise<void>;
}

/** Lower-cases `name` and replaces every character outside `[a-z0-9_:-]` (the dot included) by `_`. */
export function actionSegment(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_:-]/g, '_');
}

/**
 * `mcp.<server>.<tool>`, each name lower-cased with every character outside `[a-z0-9_:-]` (dots included, so the
 * action always has three dot-separated parts) replaced by `_`: `Git Server` + `Delete.Branch` ->
 * `mcp.git_server.delete_branch`. A tool name too long for the 128 characters of an action is cut and ends with
 * `-` and 8 hex digits of its SHA-256, so two long names never share an action.
 */
export function actionName(serverName: string, toolName: string): string {
  const server = serverSegmentOf(serverName);
  const room = 128 - 'mcp.'.length - server.length - 1;
  let tool = actionSegment(toolName);
  if (tool.length === 0) tool = '_';
  if (tool.length > room) tool = `${tool.slice(0, room - 9)}-${createHash('sha256').update(toolName).digest('hex').slice(0, 8)}`;
  const action = `mcp.${server}.${tool}`;
  if (!ACTION_PATTERN.test(action)) throw new Error(`cannot make an action of ${JSON.stringify(toolName)}`); // unreachable
  return action;
}

function serverSegmentOf(serverName: string): string {
  const server = actionSegment(serverName);
  if (server.length === 0) throw new TypeError('the server name is empty');
  if (server.length > MAX_SERVER_SEGMENT) throw new TypeError(`the server name is longer than ${MAX_SERVER_SEGMENT} characters`);
  return server;
}

/** The upstream's tools as it lists them, every field kept. */
const toolsPageSchema = z.looseObject({
  tools: z.array(z.looseObject({ name: z.string() })),
  nextCursor: z.string().optional(),
});
/** The upstream's call result as it answers it (the server checks it against the MCP schema before sending). */
const callResultSchema = z.looseObject({});

type Tool = ListToolsResult['tools'][number];

/** An error as the MCP client reads it (errorResult's text). */
function errorText(err: unknown): string {
  const first = errorResult(err, 'Countersign').content[0];
  return first?.type === 'text' ? first.text : '';
}

/** Starts the upstream, connects to it, and returns the gateway (not yet connected to a client). */
export async function createApprovalGateway(options: ApprovalGatewayOptions): Promise<ApprovalGateway> {
  const serverSegment = serverSegmentOf(options.serverName);
  const log = options.log ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? DEFAULT_GATEWAY_TIMEOUT_MS;
  const upstreamTimeoutMs = options.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
  const progressIntervalMs = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  const actionFor = (tool: string) => actionName(options.serverName, tool);

  const upstream = new Client({ name: 'countersign-gateway', version: SERVER_VERSION }, { capabilities: {} });
  const transport = new StdioClientTransport({
    command: options.upstream.command,
    args: [...(options.upstream.args ?? [])],
    ...(options.upstream.env ? { env: options.upstream.env } : {}),
    ...(options.upstream.cwd ? { cwd: options.upstream.cwd } : {}),
    stderr: options.upstream.stderr ?? 'inherit',
  });
  upstream.onerror = (err) => log(`upstream: ${err.message}`);
  try {
    await upstream.connect(transport);
  } catch (err) {
    await upstream.close().catch(() => undefined);
    throw new Error(`could not start the upstream MCP server (${options.upstream.command}): ${(err as Error).message}`);
  }

  const upstreamTools = upstream.getServerCapabilities()?.tools;
  const instructions = upstream.getInstructions();
  const server = new Server(
    { name: `countersign-${serverSegment}`, version: SERVER_VERSION },
    { capabilities: { tools: upstreamTools?.listChanged ? { listChanged: true } : {} }, ...(instructions ? { instructions } : {}) },
  );

  let known = new Set<string>();
  const listTools = async (signal?: AbortSignal): Promise<Tool[]> => {
    if (!upstreamTools) return [];
    const tools: Tool[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const result = await upstream.request(
        { method: 'tools/list', params: cursor === undefined ? {} : { cursor } },
        toolsPageSchema,
        signal ? { signal } : {},
      );
      tools.push(...(result.tools as Tool[]));
      cursor = result.nextCursor;
      if (cursor === undefined || seen.has(cursor)) break;
      seen.add(cursor);
    }
    known = new Set(tools.map((t) => t.name));
    const actions = new Map<string, string>();
    for (const { name } of tools) {
      const action = actionFor(name);
      const other = actions.get(action);
      if (other !== undefined && other !== name) log(`tools "${other}" and "${name}" both ask approval as ${action}`);
      actions.set(action, name);
    }
    return tools;
  };

  server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => ({ tools: await listTools(extra.signal) }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name, arguments: args, _meta } = request.params;
    if (!known.has(name)) await listTools(extra.signal);
    if (!known.has(name)) throw new McpError(ErrorCode.InvalidParams, `Tool ${name} not found`);
    const action = actionFor(name);
    const refuse = (text: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text }] });

    let ticks = 0;
    const sendNotification = (n: Parameters<typeof extra.sendNotification>[0]) => {
      ticks += 1;
      return extra.sendNotification(n);
    };
    const progressExtra = { ...extra, sendNotification };
    try {
      const outcome = await withProgress(
        progressExtra,
        progressIntervalMs,
        `waiting for Countersign to approve ${action}`,
        options.approvals.requestApproval(
          { action, resource: `mcp://${serverSegment}/${encodeURIComponent(name)}`, parameters: args ?? {} },
          { timeoutMs, signal: extra.signal },
        ),
      );
      switch (outcome.status) {
        case 'approved':
          break;
        case 'denied':
          return refuse(
            `Countersign denied ${action}: ${outcome.reason ?? outcome.view.reason ?? 'no reason given'} (request ${outcome.id}). The call was not made.`,
          );
        case 'expired':
          return refuse(`Countersign: the approval of ${action} expired without a decision (request ${outcome.id}). The call was not made.`);
        case 'cancelled':
          return refuse(`Countersign: the approval request for ${action} was cancelled (request ${outcome.id}). The call was not made.`);
        default:
          return refuse(`Countersign did not approve ${action} (request ${outcome.id}). The call was not made.`);
      }
      // At most once: the approval is redeemed for exactly the arguments forwarded below, or nothing is forwarded.
      if (outcome.receipt === undefined) {
        return refuse(`Countersign approved ${action} but gave no receipt to redeem (request ${outcome.id}). The call was not made.`);
      }
      try {
        await options.approvals.redeem(outcome.id, outcome.receipt, { parameters: args ?? {}, signal: extra.signal });
      } catch (err) {
        if (extra.signal.aborted) throw err;
        const api = apiErrorOf(err);
        log(`${action}: not redeemed (${outcome.id}): ${api ? `${api.code}: ${api.message}` : (err as Error).message}`);
        return refuse(
          api && api.status >= 400 && api.status < 500
            ? `Countersign refused to redeem the approval of ${action} (${api.code}: ${api.message}) (request ${outcome.id}). The call was not made.`
            : `Countersign could not redeem the approval of ${action} (request ${outcome.id}), so the call was not made. ${errorText(err)}`,
        );
      }
      log(`${action}: approved and redeemed (${outcome.id}); calling upstream`);
    } catch (err) {
      if (extra.signal.aborted) throw err;
      const pending = pendingAtDeadline(err);
      if (pending !== undefined) {
        return refuse(
          `Countersign: ${action} is still pending approval at the deadline (request ${pending}). The call was not made; ask again once it is approved.`,
        );
      }
      const api = apiErrorOf(err);
      log(`${action}: ${api ? `${api.code}: ${api.message}` : (err as Error).message}`);
      return refuse(`Countersign could not approve ${action}, so the call was not made. ${errorText(err)}`);
    }

    // Approved: forward the call as made, relaying upstream progress after the gateway's own.
    const progressToken = _meta?.progressToken;
    const { progressToken: _token, ...meta } = _meta ?? {};
    const base = ticks;
    const params = { name, ...(args !== undefined ? { arguments: args } : {}), ...(Object.keys(meta).length > 0 ? { _meta: meta } : {}) };
    const result = await upstream.request({ method: 'tools/call', params }, callResultSchema, {
      signal: extra.signal,
      timeout: upstreamTimeoutMs,
      resetTimeoutOnProgress: true,
      ...(progressToken !== undefined
        ? {
            onprogress: (p: Progress) => {
              extra
                .sendNotification({
                  method: 'notifications/progress',
                  params: { ...p, progressToken, progress: base + p.progress, ...(p.total !== undefined ? { total: base + p.total } : {}) },
                })
                .catch(() => undefined);
            },
          }
        : {}),
    });
    return result as CallToolResult;
  });

  if (upstreamTools?.listChanged) {
    upstream.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      known = new Set();
      await server.sendToolListChanged().catch(() => undefined);
    });
  }

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await server.close().catch(() => undefined);
      await upstream.close().catch(() => undefined);
      resolveClosed();
    })());
  upstream.onclose = () => {
    if (!closing) log('the upstream MCP server exited; closing');
    void close();
  };
  server.onclose = () => void close();

  return {
    server,
    upstream,
    serverSegment,
    actionFor,
    connect: (t) => server.connect(t),
    close,
    closed,
  };
}
