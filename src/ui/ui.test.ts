// The UI's server side without a browser: the group index (order, filter, paging, updates) and
// the four handlers over real HTTP, routed here as server.ts routes them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { parseArgs, type Config } from '../config.js';
import { goJson, groupJson } from '../expose/json.js';
import type { MetricFamily } from '../model.js';
import { MemoryStore } from '../store/memory.js';
import type { GroupingLabels } from '../store/types.js';
import { GroupIndex, filterTerms, parseQuery } from './groups.js';
import { createUi, linkBase, type Ui } from './index.js';
import type { GroupsPage, PageData } from './types.js';

const BUILD = { version: '9.9.9', revision: 'r', branch: 'b', buildUser: 'u', buildDate: 'd', goVersion: 'node' };

function gauge(name: string, value: number, labels: Record<string, string> = {}): MetricFamily {
  return {
    name,
    type: 'gauge',
    help: `help of ${name}`,
    metrics: [{ labels: Object.entries(labels).map(([n, v]) => ({ name: n, value: v })), value }],
  };
}

let clock = 1_700_000_000_000;
function put(store: MemoryStore, labels: GroupingLabels, families: MetricFamily[]) {
  clock += 1000;
  return store.write({ labels, families, replace: true, check: true, timestampMs: clock });
}

function config(args: string[] = []): Config {
  const o = parseArgs(args);
  assert.equal(o.kind, 'run');
  return (o as { config: Config }).config;
}

const q = (over: Partial<ReturnType<typeof parseQuery>> = {}): ReturnType<typeof parseQuery> => ({
  filter: '',
  failedOnly: false,
  expiringOnly: false,
  sort: 'key',
  offset: 0,
  limit: 50,
  ...over,
});

test('groups are ordered by job, then grouping key; filter words must all match', async () => {
  const store = new MemoryStore();
  await put(store, { job: 'zeta', instance: 'a' }, [gauge('disk_free_bytes', 1)]);
  await put(store, { job: 'alpha', instance: 'b' }, [gauge('cpu_seconds', 1)]);
  await put(store, { job: 'alpha', instance: 'a', path: '/var/TMP' }, [gauge('cpu_seconds', 2)]);
  const index = new GroupIndex(store);
  const labels = (p: GroupsPage) => p.groups.map((g) => g.labels);
  assert.deepEqual(labels(index.page(q())), [
    { instance: 'a', job: 'alpha', path: '/var/TMP' },
    { instance: 'b', job: 'alpha' },
    { instance: 'a', job: 'zeta' },
  ]);
  assert.equal(index.page(q({ filter: 'disk' })).matched, 1); // metric name
  assert.equal(index.page(q({ filter: 'var/tmp' })).matched, 1); // label value, any case
  assert.equal(index.page(q({ filter: 'instance="a"' })).matched, 2); // name="value"
  assert.equal(index.page(q({ filter: 'alpha cpu b' })).matched, 1);
  assert.equal(index.page(q({ filter: 'push_time_seconds' })).matched, 0); // not a pushed family
  assert.deepEqual(filterTerms('  Job="X"   y '), ['job=x', 'y']);
  index.close();
});

test('expiry: sorted soonest first (no deadline last), only groups with a deadline, paged', async () => {
  const store = new MemoryStore();
  const ttl = (labels: GroupingLabels, ttlMs: number | undefined) => {
    clock += 1000;
    return store.write({ labels, families: [gauge('m', 1)], replace: true, check: true, timestampMs: clock, ttlMs });
  };
  const index = new GroupIndex(store);
  await ttl({ job: 'a' }, undefined);
  // Without a TTL anywhere, the page says so (the expiry controls stay hidden).
  assert.equal(index.page(q()).withDeadline, 0);
  await ttl({ job: 'b' }, 3_600_000); // expires last
  await ttl({ job: 'c' }, 600_000); // first
  await ttl({ job: 'd' }, 1_200_000);
  await ttl({ job: 'e' }, 0); // never: as a group without a deadline
  const jobs = (p: GroupsPage) => p.groups.map((g) => g.labels.job);
  const first = index.page(q());
  assert.deepEqual(jobs(first), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(first.withDeadline, 3);
  assert.deepEqual(jobs(index.page(q({ sort: 'expiry' }))), ['c', 'd', 'b', 'a', 'e']);
  assert.deepEqual(jobs(index.page(q({ expiringOnly: true }))), ['b', 'c', 'd']);
  const p2 = index.page(q({ sort: 'expiry', expiringOnly: true, offset: 2, limit: 2 }));
  assert.deepEqual([jobs(p2), p2.matched, p2.offset], [['b'], 3, 2]);
  // A push moves a deadline: the order follows at once.
  await ttl({ job: 'c' }, undefined); // keeps its 10 min TTL, from a later push
  await ttl({ job: 'd' }, undefined);
  assert.deepEqual(jobs(index.page(q({ sort: 'expiry', expiringOnly: true }))), ['c', 'd', 'b']);
  await ttl({ job: 'c' }, 7_200_000);
  assert.deepEqual(jobs(index.page(q({ sort: 'expiry', expiringOnly: true }))), ['d', 'b', 'c']);
  index.close();
  await store.close();
});

test('a filter starting with "{" is a selector: matched alone and with the switches, or why it is invalid', async () => {
  const store = new MemoryStore();
  await put(store, { job: 'batch', instance: 'host-1' }, [gauge('a', 1)]);
  await put(store, { job: 'batch', instance: 'host-2' }, [gauge('a', 1)]);
  await put(store, { job: 'batch', instance: 'other' }, [gauge('a', 1)]);
  await put(store, { job: 'web', instance: 'host-1' }, [gauge('a', 1)]);
  // A failed push to one of them (a type conflict): "failed only" narrows the list, not the selector's count.
  const bad = await store.write({
    labels: { job: 'batch', instance: 'host-2' },
    families: [{ name: 'a', type: 'counter', metrics: [{ labels: [{ name: 'x', value: '1' }], value: 1 }] }],
    replace: false,
    check: true,
  });
  assert.equal(bad.ok, false);
  const index = new GroupIndex(store, true);
  const p = index.page(q({ filter: ' {job="batch", instance=~"host-.*"} ' }));
  assert.deepEqual(
    p.groups.map((g) => g.labels.instance),
    ['host-1', 'host-2'],
  );
  assert.deepEqual([p.matched, p.selector], [2, { text: '{job="batch", instance=~"host-.*"}', matched: 2 }]);
  const failed = index.page(q({ filter: '{job="batch",instance=~"host-.*"}', failedOnly: true }));
  assert.deepEqual([failed.matched, failed.selector?.matched], [1, 2]);
  // Words are no selector: no count of one.
  assert.equal(index.page(q({ filter: 'batch' })).selector, undefined);
  for (const [filter, why] of [
    ['{job="batch"', /invalid selector: expected "," or "}" after the matcher of job, found the end at position 13/],
    ['{job=~".*"}', /invalid selector: .*matches the empty string in every matcher/],
    ['{instance=~"(?=x)"}', /invalid selector: .*lookahead/],
  ] as const) {
    const e = index.page(q({ filter }));
    assert.match(e.filterError ?? '', why, filter);
    assert.deepEqual([e.matched, e.groups, e.total, e.selector], [0, [], 4, undefined]);
  }
  // Without the admin API a selector is refused, with the reason (its regular expressions are the client's).
  const closed = new GroupIndex(store);
  assert.match(closed.page(q({ filter: '{job="batch"}' })).filterError ?? '', /^selectors need --web.enable-admin-api/);
  closed.close();
  index.close();
});

test('summaries: push times, failure, families without the push-time families', async () => {
  const store = new MemoryStore();
  await put(store, { job: 'j' }, [
    gauge('a', 1),
    {
      name: 'b',
      type: 'counter',
      metrics: [
        { labels: [{ name: 'x', value: '1' }], value: 1 },
        { labels: [{ name: 'x', value: '2' }], value: 2 },
      ],
    },
  ]);
  const index = new GroupIndex(store);
  const [g] = index.page(q()).groups;
  assert.equal(g.lastPushMs, clock);
  assert.equal(g.lastFailureMs, null);
  assert.equal(g.success, true);
  assert.deepEqual(g.families, [
    { name: 'a', type: 'GAUGE', help: 'help of a', series: 1 },
    { name: 'b', type: 'COUNTER', help: '', series: 2 },
  ]);
  assert.equal(g.series, 3);
  // A push with timestamps fails: the group is marked, its families stay.
  const failed = await store.write({
    labels: { job: 'j' },
    families: [{ ...gauge('a', 1), metrics: [{ labels: [], value: 1, timestampMs: 5 }] }],
    replace: true,
    check: true,
    timestampMs: clock + 500,
  });
  assert.equal(failed.ok, false);
  const p = index.page(q());
  assert.equal(p.failed, 1);
  assert.equal(p.groups[0].success, false);
  assert.equal(p.groups[0].lastFailureMs, clock + 500);
  assert.equal(p.groups[0].series, 3);
  assert.equal(p.groups[0].failureReason, 'pushed metrics must not have timestamps');
  assert.equal(index.page(q({ failedOnly: true })).matched, 1);
  await put(store, { job: 'j' }, [gauge('a', 1)]);
  assert.equal(index.page(q({ failedOnly: true })).matched, 0);
  assert.equal(index.page(q()).groups[0].failureReason, undefined, 'a success forgets the reason');
  index.close();
});

test('paging, past-the-end offsets, and updates after push, delete and wipe', async () => {
  const store = new MemoryStore();
  for (let i = 0; i < 25; i++)
    await put(store, { job: 'j', instance: `i${String(i).padStart(2, '0')}` }, [gauge('m', i)]);
  const index = new GroupIndex(store);
  const p = index.page(q({ offset: 10, limit: 10 }));
  assert.equal(p.total, 25);
  assert.equal(p.matched, 25);
  assert.deepEqual(
    p.groups.map((g) => g.labels.instance),
    ['i10', 'i11', 'i12', 'i13', 'i14', 'i15', 'i16', 'i17', 'i18', 'i19'],
  );
  // Past the end: the last page.
  const last = index.page(q({ offset: 1000, limit: 10 }));
  assert.equal(last.offset, 20);
  assert.equal(last.groups.length, 5);
  // Changes show up.
  await put(store, { job: 'a' }, [gauge('new_metric', 1)]);
  assert.equal(index.page(q()).groups[0].labels.job, 'a');
  await put(store, { job: 'a' }, [gauge('renamed_metric', 1)]);
  assert.equal(index.page(q({ filter: 'new_metric' })).matched, 0);
  assert.equal(index.page(q({ filter: 'renamed_metric' })).matched, 1);
  await store.delete({ job: 'a' });
  assert.equal(index.page(q()).total, 25);
  await store.wipe();
  assert.deepEqual(index.page(q()).groups, []);
  assert.equal(index.page(q()).total, 0);
  index.close();
});

test('ids and delete paths carry any value: slashes, empty, not UTF-8', async () => {
  const store = new MemoryStore();
  // A value that was not UTF-8 is held as lone surrogates, one per byte (as decodeGoString makes it).
  const labels = { job: 'j/k', path: '/a b', empty: '', raw: '\udcff\udcfe' };
  await store.write({ labels, families: [gauge('m', 1)], replace: true, check: false, timestampMs: clock });
  const index = new GroupIndex(store);
  const [g] = index.page(q()).groups;
  assert.match(g.id, /^[A-Za-z0-9_-]+$/);
  assert.equal(index.group(g.id), [...store.groups()][0]);
  assert.equal(index.group('not base64!'), undefined);
  assert.equal(
    g.path,
    `/metrics/job@base64/${Buffer.from('j/k').toString('base64url')}/empty@base64/=/path@base64/${Buffer.from('/a b').toString('base64url')}/raw@base64/__4`,
  );
  index.close();
});

test('query parameters: defaults, bounds, bad numbers', async () => {
  assert.deepEqual(parseQuery(new URLSearchParams('')), q());
  assert.deepEqual(
    parseQuery(new URLSearchParams('filter=a+b&failed=1&expiring=true&sort=expiry&offset=20&limit=5000')),
    q({ filter: 'a b', failedOnly: true, expiringOnly: true, sort: 'expiry', offset: 20, limit: 1000 }),
  );
  assert.deepEqual(parseQuery(new URLSearchParams('offset=-3&limit=x&failed=no&expiring=0&sort=soon')), q());
  assert.equal(parseQuery(new URLSearchParams('limit=0')).limit, 1);
});

test('links follow the external URL path, else the route prefix', async () => {
  assert.equal(linkBase(config()), '');
  assert.equal(linkBase(config(['--web.route-prefix=/pfx/'])), '/pfx');
  assert.equal(linkBase(config(['--web.external-url=http://example.com/gw/'])), '/gw');
  assert.equal(linkBase(config(['--web.external-url=http://example.com/gw', '--web.route-prefix=/'])), '/gw');
  assert.equal(linkBase(config(['--web.external-url=http://example.com'])), '');
});

// ---- handlers over HTTP -----------------------------------------------------------------------

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** The UI's handlers routed as server.ts routes them (with a prefix). */
async function serve(ui: Ui, prefix = ''): Promise<string> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const run = () => {
      if (path === prefix + '/') return ui.page(req, res, '');
      if (path === prefix + '/status') return ui.status(req, res, '');
      if (path === prefix + '/api/v1/groups') return ui.groups(req, res, '');
      if (path.startsWith(prefix + '/static/')) return ui.asset(req, res, path.slice((prefix + '/static').length));
      res.writeHead(404);
      res.end();
      return 404;
    };
    void Promise.resolve(run());
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

function pageData(html: string): PageData {
  const m = /<script type="application\/json" id="pg-data">(.*?)<\/script>/s.exec(html);
  assert.ok(m, 'embedded data');
  return JSON.parse(m[1]) as PageData;
}

test('the page: reference headers, embedded first page (script-safe), prefixed links', async () => {
  const store = new MemoryStore();
  const evil = '</script><script>alert(1)</script>\u2028';
  await put(store, { job: 'j', note: evil }, [gauge('a', 1)]);
  await put(store, { job: 'k' }, [gauge('b', 1)]);
  const ui = createUi({
    store,
    config: config(['--web.route-prefix=/pfx', '--web.enable-admin-api']),
    build: BUILD,
    startMs: clock,
  });
  const base = await serve(ui, '/pfx');
  const r = await get(base + '/pfx/?filter=j&limit=10');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  // Headers the conformance suite compares with the reference's page: none but Content-Type.
  for (const h of ['cache-control', 'x-content-type-options', 'content-encoding', 'location', 'allow'])
    assert.equal(r.headers[h], undefined, h);
  assert.match(String(r.headers['content-security-policy']), /script-src 'self'/);
  const html = r.body.toString();
  assert.ok(!html.includes('</script><script>'), 'a label value cannot close the script element');
  assert.ok(!html.includes('\u2028'));
  const data = pageData(html);
  assert.equal(data.base, '/pfx');
  assert.equal(data.admin, true);
  assert.deepEqual(data.query, q({ filter: 'j', limit: 10 }));
  assert.equal(data.initial.matched, 1);
  assert.equal(data.initial.groups[0].labels.note, evil);
  const hrefs = [...html.matchAll(/(?:href|src)="([^"]*)"/g)].map((m) => m[1]).filter((h) => !h.startsWith('data:'));
  assert.ok(hrefs.length >= 6);
  for (const h of hrefs) assert.ok(h.startsWith('/pfx/'), h);
  assert.match(html, /id="filter"[^>]*value="j"/);
  ui.close();
});

test('the groups API: a page, one group as /api/v1/metrics shows it, 404 for an unknown group', async () => {
  const store = new MemoryStore();
  await put(store, { job: 'j', path: '/a b/ü' }, [gauge('a', 1.5, { x: 'y' })]);
  const ui = createUi({ store, config: config(), build: BUILD, startMs: clock });
  const base = await serve(ui);
  const list = await get(base + '/api/v1/groups?filter=ü');
  assert.equal(list.status, 200);
  assert.equal(list.headers['content-type'], 'application/json');
  const page = (JSON.parse(list.body.toString()) as { status: string; data: GroupsPage }).data;
  assert.equal(page.matched, 1);
  const id = page.groups[0].id;
  const one = await get(base + '/api/v1/groups?group=' + encodeURIComponent(id));
  assert.equal(one.status, 200);
  const g = [...store.groups()][0];
  assert.equal(one.body.toString(), `{"status":"success","data":${goJson(groupJson(g))}}`);
  const missing = await get(base + '/api/v1/groups?group=nope');
  assert.equal(missing.status, 404);
  assert.deepEqual(JSON.parse(missing.body.toString()), { status: 'error', error: 'group not found' });
  ui.close();
});

test('static files: script and style, gzip, validators, versioned caching, 404', async () => {
  const store = new MemoryStore();
  const ui = createUi({ store, config: config(), build: BUILD, startMs: clock });
  const base = await serve(ui);
  const js = await get(base + '/static/app.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.headers['cache-control'], 'no-cache');
  assert.match(js.body.toString(), /pg-data/);
  assert.ok(!/^\s*import\s/m.test(js.body.toString()), 'the browser script imports nothing (types only)');
  const etag = String(js.headers.etag);
  assert.equal((await get(base + '/static/app.js', { 'If-None-Match': etag })).status, 304);
  const gz = await get(base + '/static/app.js', { 'Accept-Encoding': 'gzip, br' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.deepEqual(gunzipSync(gz.body), js.body);
  // The page names the files with a version: those may be cached for good.
  const html = (await get(base + '/')).body.toString();
  const css = /href="(\/static\/style\.css\?v=[^"]+)"/.exec(html);
  assert.ok(css);
  const cached = await get(base + css[1]);
  assert.equal(cached.headers['content-type'], 'text/css; charset=utf-8');
  assert.match(String(cached.headers['cache-control']), /immutable/);
  assert.equal((await get(base + '/static/nope.js')).status, 404);
  assert.equal((await get(base + '/static/../index.js')).status, 404);
  ui.close();
});

test('the status page: build, flags, start time, counts; escaped', async () => {
  const store = new MemoryStore();
  await put(store, { job: 'j' }, [gauge('a', 1)]);
  const ui = createUi({
    store,
    config: config(['--web.external-url=http://h/<x>']),
    build: { ...BUILD, branch: '<b>&' },
    startMs: Date.UTC(2026, 0, 2, 3, 4, 5),
  });
  const base = await serve(ui);
  const r = await get(base + '/status');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(r.headers['cache-control'], undefined);
  const html = r.body.toString();
  assert.match(html, /<th scope="row">Started<\/th><td>2026-01-02T03:04:05Z<\/td>/);
  assert.match(html, /<th scope="row">Groups<\/th><td>1<\/td>/);
  assert.match(html, /<th scope="row">Series<\/th><td>3<\/td>/);
  assert.match(html, /<th scope="row">branch<\/th><td>&#60;b&#62;&#38;<\/td>/);
  assert.match(html, /<th scope="row">web.external-url<\/th><td>http:\/\/h\/&#60;x&#62;<\/td>/);
  ui.close();
});
