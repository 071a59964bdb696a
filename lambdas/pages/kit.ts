/**
 * What every page Countersign serves is made of (the review page, the sign-in pages, the console): the escaping that
 * marks hidden characters, times in the one format ("29 Nov 2026, 21:43 UTC", local on the page, UTC on hover), the
 * page script that keeps times local and countdowns live, and the document and its stylesheet. Pure.
 */
import { formatUtc, relativeWords } from '../core/dates';
import { escapeHtml } from '../core/html';
import { markHidden } from '../core/text';

/**
 * The page's own script, the only one its CSP allows (by hash). It rewrites each `<time data-local>` in the viewer's
 * time zone ("29 Nov 2026, 22:43 CET"), and keeps `[data-countdown]` ("58 minutes left to decide") and `[data-relative]`
 * ("in 58 minutes") current, in the words core/dates.ts uses. It reads only attributes the server wrote.
 */
export const PAGE_SCRIPT = `(function(){
var M=['Jan','Feb','Mar','Apr','May','Jun','Jul','Aug','Sep','Oct','Nov','Dec'];
function two(n){return (n<10?'0':'')+n}
function zone(d){try{var p=new Intl.DateTimeFormat('en-GB',{timeZoneName:'short'}).formatToParts(d);for(var i=0;i<p.length;i++)if(p[i].type==='timeZoneName')return p[i].value}catch(e){}return ''}
function local(d){return d.getDate()+' '+M[d.getMonth()]+' '+d.getFullYear()+', '+two(d.getHours())+':'+two(d.getMinutes())+' '+zone(d)}
function span(ms){var a=Math.abs(ms),m=Math.round(a/60000);if(a<60000)return 'less than a minute';if(m<90)return m+' minute'+(m===1?'':'s');var h=Math.round(m/60);if(m<2880)return h+' hour'+(h===1?'':'s');var d=Math.round(m/1440);return d+' day'+(d===1?'':'s')}
function each(sel,f){var n=document.querySelectorAll(sel);for(var i=0;i<n.length;i++)f(n[i])}
each('time[data-local]',function(t){var d=new Date(t.getAttribute('datetime'));if(!isNaN(d))t.textContent=local(d)});
function tick(){var now=Date.now();
each('[data-countdown]',function(e){var ms=Date.parse(e.getAttribute('data-countdown'))-now;e.textContent=ms>0?span(ms)+' left to decide':'The deadline has passed'});
each('[data-relative]',function(e){var ms=Date.parse(e.getAttribute('data-relative'))-now;e.textContent=ms>=0?'in '+span(ms):span(ms)+' ago'})}
tick();setInterval(tick,15000);
})();`;

export function row(label: string, valueHtml: string): string {
  return `<div class="row"><dt>${label}</dt><dd>${valueHtml}</dd></div>`;
}

export function optional(value: string | undefined, testid: string): string {
  return value ? `<bdi data-testid="${testid}">${text(value)}</bdi>` : `<span class="none" data-testid="${testid}">not given</span>`;
}

/**
 * A moment as every page shows it: "29 Nov 2026, 21:43 UTC" (the page's script rewrites it in the viewer's time zone),
 * the exact UTC time on hover, and with `now` how far away it is, which the script keeps current.
 */
export function renderTime(iso: string, testid: string, now?: Date): string {
  const date = new Date(iso);
  const human = formatUtc(date);
  if (!human) return `<span data-testid="${testid}">${text(iso)}</span>`;
  const exact = date.toISOString();
  const time = `<time datetime="${escapeHtml(exact)}" title="${escapeHtml(`${exact.slice(0, 10)} ${exact.slice(11, 19)} UTC`)}" data-local data-testid="${testid}">${escapeHtml(human)}</time>`;
  if (!now) return time;
  return `${time} <span class="hint">(<span data-relative="${escapeHtml(exact)}">${escapeHtml(relativeWords(date.getTime() - now.getTime()))}</span>)</span>`;
}

/** Escapes a value for HTML text, then marks each hidden character (core/text.ts) with a visible `U+XXXX` span. */
export function text(value: unknown): string {
  return markHidden(escapeHtml(value), (name) => `<span class="hidden-char" title="invisible character ${name}">${name}</span>`);
}

/** The same for places that cannot hold markup (`<title>`): `[U+XXXX]`. */
export function plainText(value: unknown): string {
  return markHidden(escapeHtml(value));
}

export interface DocumentOptions {
  /** Extra CSS after the shared stylesheet. @default none */
  readonly css?: string;
  /** HTML after `<main>` (the page's scripts). @default none */
  readonly tail?: string;
}

export function documentHtml(title: string, body: string, options: DocumentOptions = {}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${plainText(title)}</title>
<style>${PAGE_CSS}${options.css ?? ''}</style>
</head>
<body>
<main>
${body}
</main>${options.tail ?? ''}
</body>
</html>`;
}

export const PAGE_CSS = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f4f5f7}
main{max-width:46rem;margin:0 auto;padding:1rem 1rem 3rem}
.top{padding:.5rem 0 .25rem}
.brand{margin:0;color:#5b6472;font-size:.85rem;letter-spacing:.02em}
h1{margin:.25rem 0 .5rem;font-size:1.45rem;line-height:1.25;overflow-wrap:anywhere}
h1 code{font-size:inherit}
h2{margin:0 0 .6rem;font-size:1.05rem}
h3{margin:.9rem 0 .4rem;font-size:.9rem;color:#3a4150}
section{background:#fff;border:1px solid #d9dde4;border-radius:10px;padding:.9rem 1rem;margin:.9rem 0}
.meta{display:flex;flex-wrap:wrap;gap:.4rem .9rem;align-items:center;margin:0;color:#3a4150;font-size:.9rem}
.meta bdi{overflow-wrap:anywhere}
.status{display:inline-block;padding:.1rem .55rem;border-radius:999px;font-weight:600;font-size:.8rem;text-transform:uppercase;letter-spacing:.04em}
.status-pending{background:#fff4d6;color:#7a5200}
.status-approved{background:#dcf5e3;color:#135c2a}
.status-denied{background:#fde3e1;color:#8f1d14}
.status-expired,.status-cancelled{background:#e8eaee;color:#3a4150}
dl{margin:0}
.row{display:grid;grid-template-columns:9rem 1fr;gap:.75rem;padding:.35rem 0;border-top:1px solid #eef0f3}
.row:first-child{border-top:0}
dt{color:#5b6472;font-size:.9rem}
dd{margin:0;min-width:0;overflow-wrap:anywhere}
bdi{unicode-bidi:isolate}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
pre{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;unicode-bidi:plaintext;background:#f5f6f8;border:1px solid #e3e6eb;border-radius:6px;padding:.6rem .7rem}
pre.long{max-height:22rem;overflow:auto}
pre.prose{font-family:inherit;font-size:.95rem}
.iso{white-space:nowrap}
.none{color:#69707d;font-style:italic}
.hint{color:#69707d;font-size:.85em}
.unverified{margin:0 0 .6rem;padding:.5rem .7rem;border-left:4px solid #d48a00;background:#fff8e6;font-size:.9rem}
.hidden-char{display:inline-block;margin:0 .1em;padding:0 .25em;border:1px solid #c0392b;border-radius:3px;color:#a3261a;background:#fff0ee;font:600 .75em/1.3 ui-monospace,monospace;font-style:normal}
.votes{list-style:none;margin:0;padding:0}
.vote{padding:.45rem 0;border-top:1px solid #eef0f3;overflow-wrap:anywhere}
.vote:first-child{border-top:0}
.vote q{display:block;margin-top:.2rem;color:#3a4150}
.verdict{font-weight:600}
.vote-approve .verdict{color:#135c2a}
.vote-deny .verdict{color:#8f1d14}
.when{display:block;font-size:.85rem}
.notice{border-radius:8px;padding:.2rem 1rem;margin:.9rem 0;border:1px solid}
.notice-success{background:#e6f6ea;border-color:#8fd0a2;color:#135c2a}
.notice-error{background:#fdecea;border-color:#eea49c;color:#8f1d14}
.notice-info{background:#e8f0fd;border-color:#a7c0ee;color:#1d3f7a}
.notice p{overflow-wrap:anywhere}
.decision{border-width:2px;border-color:#b9c0cc}
label{display:block;font-weight:600;margin-bottom:.3rem}
textarea{display:block;width:100%;font:inherit;padding:.5rem .6rem;border:1px solid #b9c0cc;border-radius:6px;resize:vertical}
.buttons{display:flex;gap:.75rem;margin-top:.9rem}
button{flex:1;min-height:3rem;font-family:inherit;font-size:1.05rem;font-weight:600;border-radius:8px;border:2px solid;cursor:pointer}
.approve{background:#1a7f37;border-color:#1a7f37;color:#fff}
.approve:hover{background:#146c2e}
.deny{background:#fff;border-color:#b42318;color:#b42318}
.deny:hover{background:#fdecea}
.grant-choice{display:flex;align-items:center;gap:.5rem;margin-top:.6rem}
.grant-choice label{margin:0;font-weight:600}
select{font:inherit;min-height:2.4rem;padding:.3rem .5rem;border:1px solid #b9c0cc;border-radius:6px;background:#fff;color:inherit}
.grant-note{margin:.5rem 0 0;overflow-wrap:anywhere}
button:focus-visible,textarea:focus-visible,pre:focus-visible,select:focus-visible{outline:3px solid #2f6feb;outline-offset:2px}
.outcome p{margin:.2rem 0}
.risk{margin:.6rem 0;padding:.5rem .75rem;border-left:4px solid #b42318;background:#fdecea;color:#8f1d14;overflow-wrap:anywhere}
.time-left{margin:.5rem 0;font-size:1rem;overflow-wrap:anywhere}
.time-left strong{color:#7a5200}
h1 bdi,h1 code{overflow-wrap:anywhere}
h1{font-size:1.15rem;font-weight:600}
h1 code{background:#eef0f3;padding:0 .2em;border-radius:4px}
.approvers{margin:0 0 .6rem;padding-left:1.2rem;overflow-wrap:anywhere}
.standing{color:#5b6472}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:34rem){
  main{padding:.6rem .6rem 2rem}
  .row{grid-template-columns:1fr;gap:.1rem}
  h1{font-size:1.05rem}
  .decision textarea{min-height:3.2rem}
}
`;
