/**
 * The README's MCP examples work as written: its policy snippet loads and decides GitHub tool calls as described, and
 * its `mcpServers` entry for the approval server starts `countersign mcp` that an MCP client can list tools from.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { evaluatePolicy } from '../../lambdas/core/policy';
import { ROOT } from './harness';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf("## MCP: approvals for agents' tools"), readme.indexOf('## For auditors'));
const blocks = (lang: string) => [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1]!);

describe("README's MCP section", () => {
  it('has a policy snippet that lets reads through, refuses protected branches and asks for the rest', () => {
    const snippet = blocks('yaml').find((b) => b.includes('mcp.github'))!;
    const config = parseConfig(
      `version: 1\ngroups: { platform: { members: [{ id: dave@example.com }] } }\n${snippet}\ndefault: { effect: deny }\nchannels: { email: { from: countersign@example.com } }\n`,
    );
    const decide = (action: string, parameters?: Record<string, unknown>) =>
      evaluatePolicy(config, { action, requester: 'arn:aws:iam::000000000000:role/agent', ...(parameters ? { parameters } : {}) });
    expect(decide('mcp.github.get_issue')).toMatchObject({ rule: 'github-reads', outcome: { effect: 'allow' } });
    expect(decide('mcp.github.list_branches')).toMatchObject({ rule: 'github-lists', outcome: { effect: 'allow' } });
    expect(decide('mcp.github.delete_branch', { branch: 'main' })).toMatchObject({ rule: 'github-protected-branches', outcome: { effect: 'deny' } });
    expect(decide('mcp.github.delete_branch', { branch: 'feature-1' })).toMatchObject({ rule: 'github-writes', outcome: { effect: 'require_approval' } });
  });

  it('has an mcpServers entry that starts the approval server', async () => {
    const servers = (
      JSON.parse(blocks('json').find((b) => b.includes('mcpServers'))!) as {
        mcpServers: Record<string, { command: string; args: string[]; env: Record<string, string> }>;
      }
    ).mcpServers;
    const entry = servers.countersign!;
    const transport = new StdioClientTransport({
      command: entry.command,
      args: entry.args,
      cwd: ROOT,
      env: { ...entry.env, PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'readme-check', version: '1.0.0' });
    await client.connect(transport);
    try {
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['get_approval_status', 'request_approval']);
    } finally {
      await client.close();
    }
    expect(servers.github!.args.slice(0, 3)).toEqual(['countersign', 'mcp', '--upstream']);
  }, 60_000);
});
