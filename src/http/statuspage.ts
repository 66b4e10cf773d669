// The server-rendered page at / and /status: every group with its labels, push times and
// families, and the gateway's build and flags, like the reference's page.
import type { ServerDeps } from './server.js';
import { goTime } from '../expose/json.js';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function statusPage(deps: Pick<ServerDeps, 'store' | 'config' | 'build' | 'startMs'>): string {
  const rows: string[] = [];
  const groups = [...deps.store.groups()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const g of groups) {
    const labels = Object.entries(g.labels).map(([k, v]) => `<span class="label">${esc(k)}="${esc(v)}"</span>`).join(' ');
    const pushed = g.families.get('push_time_seconds')?.family.metrics[0]?.value ?? 0;
    const failed = g.families.get('push_failure_time_seconds')?.family.metrics[0]?.value ?? 0;
    const families = [...g.families.keys()].filter((n) => n !== 'push_time_seconds' && n !== 'push_failure_time_seconds').sort();
    rows.push(
      `<tr class="${g.lastPushSuccess ? 'ok' : 'failed'}"><td>${labels}</td>` +
        `<td>${pushed > 0 ? esc(goTime(pushed * 1000)) : 'never'}</td>` +
        `<td>${failed > 0 ? esc(goTime(failed * 1000)) : ''}</td>` +
        `<td>${families.map(esc).join('<br>')}</td></tr>`,
    );
  }
  const flags = Object.entries(deps.config.flags).sort().map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('');
  const build = Object.entries(deps.build).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('');
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Pushgateway</title>
<style>body{font-family:sans-serif;margin:1em 2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top}
tr.failed{background:#fdd}.label{background:#eef;border-radius:3px;padding:0 .3em;margin-right:.3em}</style></head>
<body><h1>Pushgateway</h1>
<h2>Groups (${groups.length})</h2>
<table><tr><th>Grouping labels</th><th>Last push</th><th>Last failed push</th><th>Metric families</th></tr>${rows.join('\n')}</table>
<h2>Status</h2><p>Started ${esc(goTime(deps.startMs))}</p>
<table>${build}</table>
<h2>Flags</h2><table>${flags}</table>
</body></html>
`;
}
