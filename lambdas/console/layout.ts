/**
 * The console's frame: every page's headers, navigation and sign-out, in the shared page kit (lambdas/pages/kit.ts).
 * The page script (local times, live countdowns) is allowed by its hash, as on the review page; the console's other
 * scripts are its own assets under /console/assets/ ('self'): nothing loads from anywhere else.
 */
import { createHash } from 'node:crypto';
import type { HttpResult } from '../adapters/http';
import { escapeHtml } from '../core/html';
import { documentHtml, PAGE_SCRIPT, text } from '../pages/kit';
import type { Viewer } from './viewer';

const PAGE_SCRIPT_HASH = `'sha256-${createHash('sha256').update(PAGE_SCRIPT).digest('base64')}'`;

/** Headers every console page carries. */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': `default-src 'none'; script-src 'self' ${PAGE_SCRIPT_HASH}; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
});

export type Section = 'inbox' | 'grants' | 'audit' | 'ledger' | 'policy' | 'none';

export interface ConsolePage {
  readonly title: string;
  readonly section: Section;
  /** The page's content, escaped already. */
  readonly body: string;
  readonly status?: number;
  /** Paths of console assets to load after the page script (e.g. `/console/assets/charts.js`). */
  readonly scripts?: readonly string[];
  readonly cookies?: readonly string[];
  /** CSS the page adds after the console's. @default none */
  readonly css?: string;
}

/** A console page for a signed-in viewer. */
export function consolePage(viewer: Viewer | undefined, page: ConsolePage): HttpResult {
  const tail = [`<script>${PAGE_SCRIPT}</script>`, ...(page.scripts ?? []).map((src) => `<script src="${escapeHtml(src)}"></script>`)].join('\n');
  const body = `${viewer ? navigation(viewer, page.section) : '<header class="top"><p class="brand">Countersign console</p></header>'}
${page.body}`;
  return {
    statusCode: page.status ?? 200,
    headers: { ...CONSOLE_HEADERS },
    body: documentHtml(`${page.title} · Countersign`, body, { css: CONSOLE_CSS + (page.css ?? ''), tail: `\n${tail}` }),
    ...(page.cookies?.length ? { cookies: [...page.cookies] } : {}),
  };
}

function navigation(viewer: Viewer, section: Section): string {
  const links: Array<[Section, string, string]> = [['inbox', '/console', 'Inbox']];
  if (viewer.auditor || viewer.approver) links.push(['grants', '/console/grants', 'Grants']);
  if (viewer.auditor) links.push(['audit', '/console/audit', 'Audit'], ['ledger', '/console/ledger', 'Ledger']);
  if (viewer.auditor || viewer.approver) links.push(['policy', '/console/policy', 'Policy']);
  const items = links
    .map(([key, href, label]) => `<a href="${href}"${key === section ? ' aria-current="page"' : ''} data-testid="nav-${key}">${label}</a>`)
    .join('');
  return `<header class="console-top">
  <nav aria-label="Console" class="console-nav"><span class="brand">Countersign</span>${items}</nav>
  <form method="post" action="/console/sign-out" class="sign-out"><input type="hidden" name="csrf" value="${escapeHtml(viewer.csrf)}">
    <span class="who">Signed in as <bdi data-testid="viewer">${text(viewer.principal)}</bdi></span>
    <button type="submit" class="link" data-testid="sign-out">Sign out</button></form>
</header>`;
}

/** What the console adds to the shared stylesheet: a wider page for tables and charts, navigation, tables. */
export const CONSOLE_CSS = `
main{max-width:72rem}
.console-top{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:center;gap:.3rem .8rem;padding:.2rem 0 .4rem;border-bottom:1px solid #d9dde4;margin-bottom:.6rem}
.console-nav{display:flex;flex-wrap:wrap;gap:.2rem .9rem;align-items:center}
.console-nav .brand{font-weight:700;color:#1d2330;font-size:1rem;margin-right:.3rem}
.console-nav a{color:#1d3f7a;text-decoration:none;padding:.35rem .1rem;font-weight:600}
.console-nav a[aria-current=page]{border-bottom:3px solid #2f6feb}
.sign-out{display:flex;gap:.5rem;align-items:center;font-size:.85rem;color:#3a4150;margin:0}
.sign-out .who{overflow-wrap:anywhere}
button.link{flex:none;min-height:auto;border:0;background:none;color:#1d3f7a;text-decoration:underline;font-size:.85rem;padding:.2rem;cursor:pointer}
table{width:100%;border-collapse:collapse;font-size:.9rem}
th,td{text-align:left;padding:.4rem .5rem;border-top:1px solid #eef0f3;vertical-align:top;overflow-wrap:anywhere}
th{color:#5b6472;font-weight:600;border-top:0}
.table-wrap{overflow-x:auto}
.cards{list-style:none;margin:0;padding:0}
.card{background:#fff;border:1px solid #d9dde4;border-radius:10px;padding:.8rem 1rem;margin:.7rem 0}
.card h2,.card h3{margin:.1rem 0 .4rem;font-size:1rem;overflow-wrap:anywhere}
.progress{display:inline-block;min-width:6rem;height:.55rem;background:#e8eaee;border-radius:999px;vertical-align:middle;overflow:hidden}
.progress span{display:block;height:100%;background:#1a7f37}
.filters{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.6rem;align-items:end}
.filters label{font-size:.85rem;margin:0}
input,select{display:block;width:100%;font:inherit;padding:.45rem .55rem;border:1px solid #b9c0cc;border-radius:6px;background:#fff}
.button-secondary{flex:none;background:#fff;border:2px solid #2f6feb;color:#1d3f7a;padding:.5rem 1rem;min-height:2.6rem;font-size:1rem}
.button-primary{flex:none;background:#2f6feb;border:2px solid #2f6feb;color:#fff;padding:.5rem 1rem;min-height:2.6rem;font-size:1rem}
.ok{color:#135c2a}
.bad{color:#8f1d14}
a{color:#1d3f7a}
input:focus-visible,select:focus-visible,a:focus-visible{outline:3px solid #2f6feb;outline-offset:2px}
@media (max-width:34rem){
  .console-top{gap:.2rem}
  th,td{padding:.35rem .3rem}
}
`;
