/**
 * The local inbox: every email, Slack and Teams message local mode would have sent, kept under the data folder
 * (JSON lines, appended) so a restart loses none, served as `/_local/inbox.json` and as a page at `/_local/inbox`.
 */

import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { extend } from 'zod/mini';
import { outgoingMessageSchema } from '../lambdas/core/notification';
import { escapeHtml, safeHref } from './html';

// The message schema is zod/mini's (lambdas/core/zod.ts): extended with mini's `extend`, which classic `.extend` is.
export const inboxEntrySchema = extend(outgoingMessageSchema, { id: z.string(), at: z.string() });
export type InboxEntry = z.infer<typeof inboxEntrySchema>;

export class LocalInbox {
  private readonly file: string;
  private readonly entries: InboxEntry[] = [];

  constructor(dataDir: string) {
    this.file = join(dataDir, 'inbox.jsonl');
    if (existsSync(this.file)) {
      for (const line of readFileSync(this.file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        // A line torn by a crash mid-append is skipped rather than losing the rest of the inbox.
        const parsed = inboxEntrySchema.safeParse(safeJson(line));
        if (parsed.success) this.entries.push(parsed.data);
      }
    }
  }

  /** Adds a message (validated by the caller's schema); returns the stored entry. */
  add(message: unknown): InboxEntry {
    const entry: InboxEntry = { ...z.parse(outgoingMessageSchema, message), id: randomUUID(), at: new Date().toISOString() };
    mkdirSync(dirname(this.file), { recursive: true });
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    this.entries.push(entry);
    return entry;
  }

  /** Oldest first, newest last (docs/api.md "Local mode"). */
  list(): readonly InboxEntry[] {
    return this.entries;
  }

  renderHtml(): string {
    const rows = [...this.entries]
      .reverse()
      .map((e) => {
        const href = safeHref(e.reviewUrl);
        const link = href ? `<a href="${escapeHtml(href)}">Open review page</a>` : '';
        return `<article class="msg">
  <header><span class="channel">${escapeHtml(e.channel)}</span> to <b>${escapeHtml(e.to)}</b> · <time>${escapeHtml(e.at)}</time></header>
  <h2>${escapeHtml(e.subject)}</h2>
  <pre>${escapeHtml(e.text)}</pre>
  <p>${link} <span class="id">${escapeHtml(e.actionId)}</span></p>
</article>`;
      })
      .join('\n');
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Countersign local inbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
h1{font-size:1.4rem} .msg{border:1px solid #d5d9e0;border-radius:8px;padding:.8rem 1rem;margin:1rem 0}
.msg h2{font-size:1.05rem;margin:.4rem 0} pre{white-space:pre-wrap;background:#f5f6f8;padding:.6rem;border-radius:6px}
.channel{text-transform:uppercase;font-size:.75rem;background:#e6ebf5;padding:.1rem .4rem;border-radius:4px}
.id{color:#69707d;font-size:.8rem} header{color:#3a4150;font-size:.9rem}
</style></head>
<body><h1>Local inbox</h1>
<p>Messages Countersign would have sent by email, Slack and Teams, newest first. <a href="/_local/inbox.json">JSON</a></p>
${rows || '<p>No messages yet.</p>'}
</body></html>`;
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
