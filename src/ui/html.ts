// The two HTML documents: the groups page (a shell the script fills from embedded JSON, so the
// first page of groups arrives with the document) and the server-rendered status page.
import type { BuildInfo } from '../selfmetrics.js';
import type { PageData } from './types.js';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside <script>: no `<` (so no `</script>` or `<!--`), no line separators. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export interface Chrome {
  /** Link prefix as the browser sees the gateway: '' or '/pfx'. */
  base: string;
  version: string;
  telemetryPath: string;
  /** Query suffix busting caches of the static files: `?v=<hash>`. */
  assetQuery: string;
}

function head(c: Chrome, title: string, script: boolean): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex,nofollow">
<title>${esc(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${esc(c.base)}/static/style.css${c.assetQuery}">
${script ? `<script type="module" src="${esc(c.base)}/static/app.js${c.assetQuery}"></script>\n` : ''}</head>
`;
}

function nav(c: Chrome, current: 'groups' | 'status'): string {
  const cur = (k: string) => (k === current ? ' aria-current="page"' : '');
  return `<header class="top">
<a class="brand" href="${esc(c.base)}/">Pushgateway</a>
<nav>
<a href="${esc(c.base)}/"${cur('groups')}>Groups</a>
<a href="${esc(c.base)}/status"${cur('status')}>Status</a>
<a href="${esc(c.base + c.telemetryPath)}">Metrics</a>
<a href="${esc(c.base)}/api/v1/metrics">API</a>
</nav>
<span class="version">v${esc(c.version)}</span>
</header>
`;
}

export function groupsPageHtml(c: Chrome, data: PageData): string {
  const q = data.query;
  // The expiry controls show once a group has a deadline (or the URL asks for them): without TTLs
  // the page looks as it always did.
  const expiryShown = data.initial.withDeadline > 0 || q.expiringOnly || q.sort === 'expiry';
  return `${head(c, 'Pushgateway', true)}<body>
${nav(c, 'groups')}<main>
<div class="toolbar">
<input id="filter" type="search" placeholder="Filter by label value, metric name or label=value" title="Every word must match; or a selector of grouping labels such as {job=&quot;batch&quot;,instance=~&quot;host-.*&quot;}. Press / to get here, Escape to clear." aria-label="Filter groups" value="${esc(q.filter)}" autocomplete="off" spellcheck="false">
<label><input id="failed-only" type="checkbox"${q.failedOnly ? ' checked' : ''}> Failed only</label>
<span id="expiry-controls" class="expiry"${expiryShown ? '' : ' hidden'}><label><input id="expiring-only" type="checkbox"${q.expiringOnly ? ' checked' : ''}> With a deadline only</label>
<select id="sort" aria-label="Order of the groups"><option value="key">By job and labels</option><option value="expiry"${q.sort === 'expiry' ? ' selected' : ''}>Expiring soonest first</option></select></span>
<span id="count" class="count" aria-live="polite"></span>
<span class="spacer"></span>
${data.credential === undefined ? '' : `<span id="credential" class="count" title="The credential this browser signed in with">Signed in as ${esc(data.credential)}</span>\n`}<button id="refresh" type="button" title="Reload the groups">Refresh</button>
${data.admin ? '<button id="delete-matching" type="button" class="danger" title="Delete every group the selector matches" hidden>Delete matching groups</button>\n<button id="delete-all" type="button" class="danger">Delete all groups</button>\n' : ''}</div>
<div id="error" role="alert" hidden></div>
<div id="groups"></div>
<nav class="pager" id="pager" aria-label="Pages"></nav>
<noscript><p class="empty">This page needs JavaScript. Every group is also at <a href="${esc(c.base)}/api/v1/metrics">api/v1/metrics</a>.</p></noscript>
</main>
<dialog id="confirm">
<form method="dialog">
<h3 id="confirm-title">Delete group?</h3>
<p id="confirm-text"></p>
<div id="confirm-target" class="target"></div>
<p id="confirm-error" class="err" hidden></p>
<div class="buttons">
<button value="cancel" id="confirm-cancel" type="submit">Cancel</button>
<button value="ok" id="confirm-ok" class="danger solid" type="submit">Delete</button>
</div>
</form>
</dialog>
<div id="notice" role="status" hidden></div>
<script type="application/json" id="pg-data">${scriptJson(data)}</script>
</body>
</html>
`;
}

export interface StatusInfo {
  build: BuildInfo;
  flags: Record<string, string>;
  startMs: number;
  nowMs: number;
  groups: number;
  series: number;
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function formatUptime(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return (
    (d > 0 ? `${d}d ` : '') + (d > 0 || h > 0 ? `${h}h ` : '') + (d > 0 || h > 0 || m > 0 ? `${m}m ` : '') + `${s}s`
  );
}

function kv(rows: Array<[string, string]>): string {
  return `<table class="kv"><tbody>\n${rows.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('\n')}\n</tbody></table>\n`;
}

export function statusPageHtml(c: Chrome, s: StatusInfo): string {
  const runtime: Array<[string, string]> = [
    ['Started', isoSeconds(s.startMs)],
    ['Uptime', formatUptime(s.nowMs - s.startMs)],
    ['Groups', String(s.groups)],
    ['Series', String(s.series)],
    ['Node.js', process.version],
  ];
  const build = Object.entries(s.build)
    .map(([k, v]) => [k, String(v)] as [string, string])
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const flags = Object.entries(s.flags).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return `${head(c, 'Pushgateway status', false)}<body>
${nav(c, 'status')}<main id="status">
<h2>Runtime information</h2>
${kv(runtime)}<h2>Build information</h2>
${kv(build)}<h2>Startup flags</h2>
${kv(flags)}</main>
</body>
</html>
`;
}
