/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The groups page's script, served as /static/app.js and loaded as a module. No framework: the
// list is rendered as HTML strings (every pushed string escaped) into one container that handles
// every click; the server filters and pages, so the DOM holds one page of groups however many
// are stored.
import type { GroupSummary, GroupsPage, PageData, PageQuery } from '../types.js';

/** A group as GET /api/v1/groups?group= answers: /api/v1/metrics's shape. */
interface MetricJson {
  labels: Record<string, string>;
  value?: string;
  quantiles?: Record<string, string>;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}
interface FamilyJson {
  time_stamp: string;
  type: string;
  help?: string;
  metrics: MetricJson[];
}
type GroupJson = Record<string, unknown> & { labels: Record<string, string> };

const DEFAULT_LIMIT = 50;
const MAX_SERIES_ROWS = 200;
const INTERNAL = new Set(['push_time_seconds', 'push_failure_time_seconds']);

const data = JSON.parse(byId('pg-data').textContent ?? '{}') as PageData;
const base = data.base;
let query: PageQuery = data.query;
/**
 * The query of the last load asked for: changes made while it is on its way build on it, not on
 * the page shown (unticking a box and then choosing a sort before the first answer came lost the
 * untick).
 */
let wanted: PageQuery = query;
let current: GroupsPage = data.initial;
let skewMs = current.nowMs - Date.now();
const expanded = new Set<string>();
const openFamilies = new Set<string>();
const series = new Map<string, GroupJson | Error>();
let inflight: AbortController | undefined;

const list = byId('groups');
const filterBox = byId('filter') as HTMLInputElement;
const failedBox = byId('failed-only') as HTMLInputElement;
const expiringBox = byId('expiring-only') as HTMLInputElement;
const sortBox = byId('sort') as HTMLSelectElement;
const dialog = byId('confirm') as HTMLDialogElement;

function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`#${id} missing`);
  return el;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const fmt = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = one + 's') => `${fmt(n)} ${n === 1 ? one : many}`;

function relative(ms: number): string {
  const s = Math.floor((Date.now() + skewMs - ms) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** Time left until `ms`, for a group's deadline. */
function until(ms: number): string {
  const s = Math.ceil((ms - Date.now() - skewMs) / 1000);
  if (s <= 0) return 'now';
  if (s < 60) return `in ${s} s`;
  if (s < 3600) return `in ${Math.floor(s / 60)} min`;
  if (s < 86400) return `in ${Math.floor(s / 3600)} h`;
  return `in ${Math.floor(s / 86400)} d`;
}

function absolute(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
}

function timeHtml(ms: number): string {
  return `<time datetime="${new Date(ms).toISOString()}" data-ms="${ms}" title="${esc(new Date(ms).toString())}">${relative(ms)}</time> <span class="abs">${absolute(ms)}</span>`;
}

/** Grouping labels in display order: job first, then by name. */
function labelEntries(labels: Record<string, string>): Array<[string, string]> {
  const rest = Object.entries(labels)
    .filter(([k]) => k !== 'job')
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return 'job' in labels ? [['job', labels.job], ...rest] : rest;
}

function chip(name: string, value: string, job = false): string {
  return `<span class="chip${job ? ' job' : ''}"><span class="n">${esc(name)}=</span>${esc(JSON.stringify(value))}</span>`;
}

function labelText(labels: Record<string, string>): string {
  return (
    '{' +
    labelEntries(labels)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(', ') +
    '}'
  );
}

// ---- URLs -------------------------------------------------------------------------------------

function groupJsonUrl(id: string): string {
  return `${base}/api/v1/groups?group=${id}`;
}

function queryString(q: PageQuery): string {
  const p = new URLSearchParams();
  if (q.filter !== '') p.set('filter', q.filter);
  if (q.failedOnly) p.set('failed', '1');
  if (q.expiringOnly) p.set('expiring', '1');
  if (q.sort === 'expiry') p.set('sort', 'expiry');
  if (q.offset > 0) p.set('offset', String(q.offset));
  if (q.limit !== DEFAULT_LIMIT) p.set('limit', String(q.limit));
  return p.toString();
}

// ---- rendering --------------------------------------------------------------------------------

function groupHtml(g: GroupSummary): string {
  const open = expanded.has(g.id);
  const chips = labelEntries(g.labels)
    .map(([k, v]) => chip(k, v, k === 'job'))
    .join('');
  const status = g.success
    ? '<span class="badge ok">OK</span>'
    : `<span class="badge bad" title="The last push to this group was rejected">FAILED</span>`;
  const pushed =
    g.lastPushMs === null ? '<span>never pushed successfully</span>' : `<span>pushed ${timeHtml(g.lastPushMs)}</span>`;
  const expires =
    g.expiresMs === undefined
      ? ''
      : `<span class="expires" title="Removed at ${absolute(g.expiresMs)} unless pushed to again">expires <time data-until="${g.expiresMs}">${until(g.expiresMs)}</time></span>`;
  const failedAt =
    !g.success && g.lastFailureMs !== null ? `<span class="failtime">failed ${timeHtml(g.lastFailureMs)}</span>` : '';
  return `<article class="group${g.success ? '' : ' failed'}${open ? ' open' : ''}" data-id="${esc(g.id)}">
<div class="ghead" data-action="toggle">
<button class="toggle" type="button" data-action="toggle" aria-expanded="${open}" aria-label="Show families and series"></button>
<div class="labels">${chips}</div>
<div class="meta">${status}${failedAt}${pushed}${expires}<span class="sizes">${plural(g.families.length, 'family', 'families')} · ${plural(g.series, 'series', 'series')}</span></div>
<div class="actions"><a class="btn small" href="${esc(groupJsonUrl(g.id))}" target="_blank" rel="noopener" title="This group as JSON">JSON</a>${g.deletable === false ? '' : '<button class="danger small" type="button" data-action="delete">Delete</button>'}</div>
</div>
<div class="gbody"${open ? '' : ' hidden'}>${open ? bodyHtml(g) : ''}</div>
</article>`;
}

/** A bucket bound as /api/v1/metrics spells it ("0.5", "+Inf") as a number. */
function bound(s: string): number {
  return s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s);
}

function valueText(type: string, m: MetricJson): string {
  if (type === 'SUMMARY') {
    const qs = Object.entries(m.quantiles ?? {}).map(([q, v]) => `  quantile ${q}: ${v}`);
    return [`count ${m.count ?? ''}  sum ${m.sum ?? ''}`, ...qs].join('\n');
  }
  if (type === 'HISTOGRAM' || type === 'GAUGE_HISTOGRAM') {
    const bs = Object.entries(m.buckets ?? {})
      .sort((a, b) => bound(a[0]) - bound(b[0]))
      .map(([le, n]) => `  le ${le}: ${n}`);
    return [`count ${m.count ?? ''}  sum ${m.sum ?? ''}`, ...bs].join('\n');
  }
  return m.value ?? '';
}

function familyHtml(
  g: GroupSummary,
  name: string,
  type: string,
  help: string,
  count: number,
  fam: FamilyJson | undefined,
): string {
  const key = g.id + '\n' + name;
  let table: string;
  if (fam !== undefined) {
    const rows = fam.metrics.slice(0, MAX_SERIES_ROWS).map((m) => {
      const own = Object.entries(m.labels).filter(([k, v]) => !(k in g.labels) && !(k === 'instance' && v === ''));
      const lbls = own.length === 0 ? '<span class="more">none</span>' : own.map(([k, v]) => chip(k, v)).join(' ');
      return `<tr><td class="lbl">${lbls}</td><td class="v">${esc(valueText(type, m))}</td></tr>`;
    });
    const more =
      fam.metrics.length > MAX_SERIES_ROWS
        ? `<tr><td colspan="2" class="more">… ${plural(fam.metrics.length - MAX_SERIES_ROWS, 'more series', 'more series')}, see JSON</td></tr>`
        : '';
    table = `<table class="series"><thead><tr><th>Labels besides the grouping labels</th><th>Value</th></tr></thead><tbody>${rows.join('')}${more}</tbody></table>`;
  } else {
    table = '<p class="more">loading series…</p>';
  }
  return `<details class="family${INTERNAL.has(name) ? ' internal' : ''}" data-family="${esc(name)}"${openFamilies.has(key) ? ' open' : ''}>
<summary><span class="fname">${esc(name)}</span><span class="type">${esc(type)}</span><span class="nseries">${plural(count, 'series', 'series')}</span>${help !== '' ? `<span class="help">${esc(help)}</span>` : ''}</summary>
${table}</details>`;
}

function bodyHtml(g: GroupSummary): string {
  const got = series.get(g.id);
  if (got instanceof Error) return `<p class="failure">Could not load the series: ${esc(got.message)}</p>`;
  const out: string[] = [];
  if (!g.success && g.lastFailureMs !== null) {
    const why =
      g.failureReason === undefined
        ? " (the gateway's log says why);"
        : `: <span class="reason">${esc(g.failureReason)}</span>;`;
    out.push(
      `<p class="failure">The last push, ${esc(absolute(g.lastFailureMs))}, was rejected${why} the series below are from the last successful push.</p>`,
    );
  }
  if (got === undefined) {
    for (const f of g.families) out.push(familyHtml(g, f.name, f.type, f.help, f.series, undefined));
  } else {
    const names = Object.keys(got)
      .filter((k) => k !== 'labels' && k !== 'last_push_successful')
      .sort((a, b) => Number(INTERNAL.has(a)) - Number(INTERNAL.has(b)) || (a < b ? -1 : 1));
    for (const name of names) {
      const fam = got[name] as FamilyJson;
      out.push(familyHtml(g, name, fam.type, fam.help ?? '', fam.metrics.length, fam));
    }
  }
  if (g.families.length === 0 && got === undefined) out.push('<p class="more">No pushed families.</p>');
  return `<div class="families">${out.join('')}</div>`;
}

function countHtml(p: GroupsPage): string {
  const failed = p.failed > 0 ? ` · <span class="nfailed">${plural(p.failed, 'failed', 'failed')}</span>` : '';
  if (p.total === 0) return 'No groups';
  const filtered = query.filter !== '' || query.failedOnly || query.expiringOnly;
  const range =
    p.matched === 0
      ? ''
      : p.matched > p.groups.length
        ? `${fmt(p.offset + 1)}–${fmt(p.offset + p.groups.length)} of `
        : '';
  return filtered
    ? `${range}<b>${fmt(p.matched)}</b> matching of ${plural(p.total, 'group')}${failed}`
    : `${range}<b>${plural(p.total, 'group')}</b>${failed}`;
}

function pagerHtml(p: GroupsPage): string {
  if (p.matched <= p.limit && p.limit === DEFAULT_LIMIT) return '';
  const pages = Math.max(1, Math.ceil(p.matched / p.limit));
  const pageNo = Math.floor(p.offset / p.limit) + 1;
  const sizes = [25, 50, 100, 200, 500]
    .map((n) => `<option value="${n}"${n === p.limit ? ' selected' : ''}>${n} per page</option>`)
    .join('');
  return `<button type="button" data-page="first"${pageNo <= 1 ? ' disabled' : ''}>« First</button>
<button type="button" data-page="prev"${pageNo <= 1 ? ' disabled' : ''}>‹ Prev</button>
<span id="page-no">Page ${fmt(pageNo)} of ${fmt(pages)}</span>
<button type="button" data-page="next"${pageNo >= pages ? ' disabled' : ''}>Next ›</button>
<button type="button" data-page="last"${pageNo >= pages ? ' disabled' : ''}>Last »</button>
<select id="page-size" aria-label="Groups per page">${sizes}</select>`;
}

function render(): void {
  const p = current;
  let html: string;
  if (p.filterError !== undefined) html = `<p class="empty err">${esc(p.filterError)}</p>`;
  else if (p.groups.length > 0) html = p.groups.map(groupHtml).join('\n');
  else if (p.total === 0)
    html = '<p class="empty">No groups yet. Push metrics to <code>/metrics/job/&lt;job&gt;</code>.</p>';
  else html = '<p class="empty">No group matches the filter.</p>';
  list.innerHTML = html;
  byId('count').innerHTML = countHtml(p);
  byId('pager').innerHTML = pagerHtml(p);
  const all = document.getElementById('delete-all') as HTMLButtonElement | null;
  if (all !== null) {
    all.disabled = p.total === 0;
    all.textContent = p.total > 0 ? `Delete all ${plural(p.total, 'group')}` : 'Delete all groups';
  }
  byId('expiry-controls').hidden = !(p.withDeadline > 0 || query.expiringOnly || query.sort === 'expiry');
  const matching = document.getElementById('delete-matching') as HTMLButtonElement | null;
  if (matching !== null) {
    const n = p.selector?.matched ?? 0;
    matching.hidden = n === 0;
    matching.textContent = `Delete the ${plural(n, 'matching group')}`;
  }
  for (const g of p.groups) if (expanded.has(g.id) && !series.has(g.id)) void loadSeries(g);
}

function rerenderGroup(g: GroupSummary): void {
  const el = articleOf(g.id);
  if (el !== undefined) el.outerHTML = groupHtml(g);
}

function articleOf(id: string): HTMLElement | undefined {
  for (const el of list.querySelectorAll<HTMLElement>('article.group')) if (el.dataset.id === id) return el;
  return undefined;
}

function updateTimes(): void {
  for (const t of document.querySelectorAll<HTMLElement>('time[data-ms]'))
    t.textContent = relative(Number(t.dataset.ms));
  for (const t of document.querySelectorAll<HTMLElement>('time[data-until]'))
    t.textContent = until(Number(t.dataset.until));
}

// ---- data -------------------------------------------------------------------------------------

function showError(message: string | undefined): void {
  const el = byId('error');
  el.hidden = message === undefined;
  el.textContent = message ?? '';
}

let noticeTimer: ReturnType<typeof setTimeout> | undefined;
function notice(text: string): void {
  const el = byId('notice');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (el.hidden = true), 3000);
}

async function load(q: PageQuery): Promise<void> {
  inflight?.abort();
  const ac = new AbortController();
  inflight = ac;
  wanted = q;
  const qs = queryString(q);
  try {
    const res = await fetch(`${base}/api/v1/groups${qs === '' ? '' : '?' + qs}`, {
      signal: ac.signal,
      headers: { Accept: 'application/json' },
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).trim()}`);
    const body = (await res.json()) as { data: GroupsPage };
    if (ac.signal.aborted) return;
    current = body.data;
    skewMs = current.nowMs - Date.now();
    query = { ...q, offset: current.offset, limit: current.limit };
    wanted = query;
    series.clear();
    showError(undefined);
    render();
    const qs2 = queryString(query);
    history.replaceState(null, '', location.pathname + (qs2 === '' ? '' : '?' + qs2));
  } catch (e) {
    if (ac.signal.aborted) return;
    showError(`Could not load the groups: ${(e as Error).message}`);
  } finally {
    if (inflight === ac) inflight = undefined;
  }
}

async function loadSeries(g: GroupSummary): Promise<void> {
  try {
    const res = await fetch(groupJsonUrl(g.id), { headers: { Accept: 'application/json' } });
    if (res.status === 404) throw new Error('the group is gone (deleted?)');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    series.set(g.id, ((await res.json()) as { data: GroupJson }).data);
  } catch (e) {
    series.set(g.id, e as Error);
  }
  if (expanded.has(g.id) && current.groups.includes(g)) {
    const body = articleOf(g.id)?.querySelector<HTMLElement>('.gbody');
    if (body) body.innerHTML = bodyHtml(g);
  }
}

// ---- actions ----------------------------------------------------------------------------------

function toggle(g: GroupSummary): void {
  if (expanded.has(g.id)) expanded.delete(g.id);
  else expanded.add(g.id);
  rerenderGroup(g);
  if (expanded.has(g.id) && !series.has(g.id)) void loadSeries(g);
}

let confirmAction: (() => Promise<void>) | undefined;

function confirmDialog(title: string, text: string, target: string, ok: string, action: () => Promise<void>): void {
  byId('confirm-title').textContent = title;
  byId('confirm-text').textContent = text;
  const t = byId('confirm-target');
  t.textContent = target;
  t.hidden = target === '';
  byId('confirm-ok').textContent = ok;
  byId('confirm-error').hidden = true;
  confirmAction = action;
  dialog.showModal();
  byId('confirm-cancel').focus();
}

async function request(method: string, url: string): Promise<void> {
  const res = await fetch(url, { method });
  const text = await res.text(); // read even when empty: an unread body leaves the request pending
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.trim()}`);
}

function askDelete(g: GroupSummary): void {
  confirmDialog(
    'Delete group?',
    'All metrics of this group will be deleted from the Pushgateway:',
    labelText(g.labels),
    'Delete group',
    async () => {
      // The server spells the path with every value @base64, from the value's bytes: any value works.
      await request('DELETE', base + g.path);
      expanded.delete(g.id);
      notice(`Deleted ${labelText(g.labels)}`);
      await load(wanted);
    },
  );
}

function askDeleteAll(): void {
  confirmDialog(
    'Delete all groups?',
    `All metrics of all ${plural(current.total, 'group')} will be deleted from the Pushgateway.`,
    '',
    'Delete all',
    async () => {
      await request('PUT', `${base}/api/v1/admin/wipe`);
      expanded.clear();
      notice('Deleted all groups');
      await load({ ...wanted, offset: 0 });
    },
  );
}

const selectorQuery = (selector: string) => new URLSearchParams({ 'match[]': selector }).toString();

/** The answer of one of the selector endpoints, or an Error with its sentence. */
async function selectorRequest<T>(method: string, url: string): Promise<T> {
  const res = await fetch(url, { method, headers: { Accept: 'application/json' } });
  const text = await res.text();
  let body: { data?: T; error?: string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON (a proxy's page): the status and text say it
  }
  if (!res.ok || body.data === undefined) throw new Error(body.error ?? `HTTP ${res.status}: ${text.trim()}`);
  return body.data;
}

async function askDeleteMatching(): Promise<void> {
  const selector = current.selector?.text;
  if (selector === undefined) return;
  let n: number;
  try {
    // Counted by the endpoint that lists what the delete deletes: the number asked about is the one that goes.
    n = (await selectorRequest<{ matched: number }>('GET', `${base}/api/v1/groups?${selectorQuery(selector)}`)).matched;
  } catch (e) {
    showError(`Could not count the matching groups: ${(e as Error).message}`);
    return;
  }
  if (n === 0) {
    notice('No group matches the selector any more');
    await load(wanted);
    return;
  }
  const narrowed = query.failedOnly || query.expiringOnly;
  confirmDialog(
    `Delete ${plural(n, 'group')}?`,
    `All metrics of the ${plural(n, 'group')} matching this selector will be deleted from the Pushgateway` +
      (narrowed ? ' (whatever the switches beside the filter show):' : ':'),
    selector,
    `Delete ${plural(n, 'group')}`,
    async () => {
      const { deleted } = await selectorRequest<{ deleted: number }>(
        'DELETE',
        `${base}/api/v1/admin/groups?${selectorQuery(selector)}`,
      );
      expanded.clear();
      notice(`Deleted ${plural(deleted, 'group')} matching ${selector}`);
      await load({ ...wanted, offset: 0 });
    },
  );
}

(byId('confirm').querySelector('form') as HTMLFormElement).addEventListener('submit', (e) => {
  const submitter = (e as SubmitEvent).submitter as HTMLButtonElement | null;
  if (submitter?.value !== 'ok' || confirmAction === undefined) return; // Cancel: the dialog closes
  e.preventDefault();
  const ok = byId('confirm-ok') as HTMLButtonElement;
  ok.disabled = true;
  confirmAction()
    .then(() => dialog.close())
    .catch((err: unknown) => {
      const el = byId('confirm-error');
      el.textContent = `Failed: ${(err as Error).message}`;
      el.hidden = false;
    })
    .finally(() => (ok.disabled = false));
});

list.addEventListener('click', (e) => {
  const target = e.target as HTMLElement;
  if (target.closest('a') !== null) return;
  const actionEl = target.closest<HTMLElement>('[data-action]');
  const article = target.closest<HTMLElement>('article.group');
  if (actionEl === null || article === null) return;
  const g = current.groups.find((x) => x.id === article.dataset.id);
  if (g === undefined) return;
  if (actionEl.dataset.action === 'delete') askDelete(g);
  else if (actionEl.dataset.action === 'toggle') toggle(g);
});

// Remember which families are open across re-renders ('toggle' does not bubble: capture it).
list.addEventListener(
  'toggle',
  (e) => {
    const d = e.target as HTMLElement;
    if (!(d instanceof HTMLDetailsElement) || d.dataset.family === undefined) return;
    const id = d.closest<HTMLElement>('article.group')?.dataset.id;
    if (id === undefined) return;
    const key = id + '\n' + d.dataset.family;
    if (d.open) openFamilies.add(key);
    else openFamilies.delete(key);
  },
  true,
);

let filterTimer: ReturnType<typeof setTimeout> | undefined;
filterBox.addEventListener('input', () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => void load({ ...wanted, filter: filterBox.value, offset: 0 }), 120);
});
filterBox.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && filterBox.value !== '') {
    filterBox.value = '';
    void load({ ...wanted, filter: '', offset: 0 });
  }
});
failedBox.addEventListener('change', () => void load({ ...wanted, failedOnly: failedBox.checked, offset: 0 }));
expiringBox.addEventListener('change', () => void load({ ...wanted, expiringOnly: expiringBox.checked, offset: 0 }));
sortBox.addEventListener(
  'change',
  () => void load({ ...wanted, sort: sortBox.value === 'expiry' ? 'expiry' : 'key', offset: 0 }),
);
byId('refresh').addEventListener('click', () => void load(wanted));
document.getElementById('delete-all')?.addEventListener('click', askDeleteAll);
document.getElementById('delete-matching')?.addEventListener('click', () => void askDeleteMatching());

byId('pager').addEventListener('click', (e) => {
  const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-page]');
  if (b === null || b.disabled) return;
  const last = Math.max(0, Math.floor((current.matched - 1) / query.limit) * query.limit);
  const offset =
    { first: 0, prev: Math.max(0, query.offset - query.limit), next: query.offset + query.limit, last }[
      b.dataset.page ?? 'first'
    ] ?? 0;
  void load({ ...wanted, offset });
  window.scrollTo(0, 0);
});
byId('pager').addEventListener('change', (e) => {
  const s = e.target as HTMLSelectElement;
  if (s.id === 'page-size') void load({ ...wanted, limit: Number(s.value), offset: 0 });
});

document.addEventListener('keydown', (e) => {
  const t = e.target as HTMLElement;
  if (e.key === '/' && t.tagName !== 'INPUT' && t.tagName !== 'SELECT' && t.tagName !== 'TEXTAREA' && !dialog.open) {
    e.preventDefault();
    filterBox.focus();
  }
});

// Every second: a deadline counts down in seconds.
setInterval(updateTimes, 1000);
render();
performance.mark('pg-rendered');
document.documentElement.dataset.ready = '1';
