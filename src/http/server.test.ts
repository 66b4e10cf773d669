// Routing in-process, answer for answer as the reference's router gives them (the conformance
// goldens in test/conformance/golden/): Go ServeMux's path cleaning and redirects, the router's
// trailing-slash redirects, 404 and 405 with Allow, the lifecycle and admin endpoints, CORS, and
// the route prefix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGateway, type TestGateway } from '../testing/gateway.js';
import { answer } from '../testing/inject.js';

type Expected = [status: number, headers: Record<string, string>, body: string];
type Case = [method: string, url: string, expected: Expected];

const TEXT = 'text/plain; charset=utf-8';
const HTML = 'text/html; charset=utf-8';
const ERROR = { 'content-type': TEXT, 'x-content-type-options': 'nosniff' };
const NOT_FOUND: Expected = [404, ERROR, '404 page not found\n'];
const CORS = {
  'access-control-allow-headers': 'Accept, Authorization, Content-Type, Origin',
  'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Date',
  'cache-control': 'no-cache, no-store, must-revalidate',
};

/** A 301 to `to` as Go's http.Redirect answers a GET: a link in a small HTML page. */
function moved(to: string): Expected {
  const link = `<a href="${to.replace(/&/g, '&amp;')}">Moved Permanently</a>.\n\n`;
  return [301, { 'content-type': HTML, location: to }, link];
}

/** Go's http.Redirect for other methods: no body, no Content-Type. */
function redirected(status: number, to: string): Expected {
  return [status, { location: to }, ''];
}

function notAllowed(allow: string, body = 'Method Not Allowed\n'): Expected {
  return [405, { ...ERROR, allow }, body];
}

async function check(gw: TestGateway, cases: Case[]): Promise<void> {
  for (const [method, url, [status, headers, body]] of cases) {
    const got = answer(await gw.request(method, url, method === 'PUT' || method === 'POST' ? 'm 1\n' : undefined));
    assert.deepEqual(got, { status, headers, body }, `${method} ${url}`);
  }
}

test('unclean paths: 301 to the clean path, query kept, before any routing or push', async () => {
  const gw = await testGateway();
  await check(gw, [
    ['PUT', '/metrics/job/x/../y', redirected(301, '/metrics/job/y')],
    ['PUT', '/metrics/job/./a', redirected(301, '/metrics/job/a')],
    ['PUT', '/metrics/job//x/y', redirected(301, '/metrics/job/x/y')],
    ['POST', '/metrics/job//x/y', redirected(301, '/metrics/job/x/y')],
    ['DELETE', '/metrics/job//x/y', redirected(301, '/metrics/job/x/y')],
    ['GET', '/metrics/../metrics', moved('/metrics')],
    ['GET', '//metrics?a=1&b=2', moved('/metrics?a=1&b=2')],
    ['GET', '/a/b/../../-/healthy', moved('/-/healthy')],
  ]);
  assert.equal(gw.store.groupCount, 0, 'a redirected push stores nothing');
});

test('malformed percent-escapes: 400 before routing, as Go refuses the request line', async () => {
  const gw = await testGateway();
  await check(gw, [
    ['PUT', '/metrics/job/a%ZZ', [400, { 'content-type': TEXT }, '400 Bad Request']],
    ['GET', '/metrics%2', [400, { 'content-type': TEXT }, '400 Bad Request']],
    ['GET', '/nothing%', [400, { 'content-type': TEXT }, '400 Bad Request']],
  ]);
});

test('trailing slashes: 301 for GET, 307 otherwise; /metrics/job/ redirects pushes too', async () => {
  const gw = await testGateway(['--web.enable-lifecycle']);
  await check(gw, [
    ['GET', '/metrics/', moved('/metrics')],
    ['GET', '/-/healthy/', moved('/-/healthy')],
    ['GET', '/api/v1/status/', moved('/api/v1/status')],
    ['GET', '/metrics/?x=1', moved('/metrics?x=1')],
    ['PUT', '/-/quit/', redirected(307, '/-/quit')],
    ['PUT', '/metrics/job/', redirected(307, '/metrics/job')],
    ['DELETE', '/metrics/job/', redirected(307, '/metrics/job')],
    ['PUT', '/metrics/job', NOT_FOUND],
  ]);
  assert.equal(gw.quits, 0);
});

test('/api/v1 redirects to /api/v1/, which is no page', async () => {
  const gw = await testGateway();
  await check(gw, [
    ['GET', '/api/v1', moved('/api/v1/')],
    ['GET', '/api/v1/', NOT_FOUND],
    ['GET', '/api/v1/nothing', NOT_FOUND],
    ['GET', '/api/v2/metrics', NOT_FOUND],
  ]);
});

test('wrong methods: 405 with the Allow header (no body for HEAD); OPTIONS answers the Allow header', async () => {
  const gw = await testGateway();
  const push = 'DELETE, OPTIONS, POST, PUT';
  await check(gw, [
    ['POST', '/api/v1/metrics', notAllowed('GET, OPTIONS')],
    ['DELETE', '/api/v1/status', notAllowed('GET, OPTIONS')],
    ['GET', '/metrics/job/a', notAllowed(push)],
    ['PATCH', '/metrics/job/a', notAllowed(push)],
    ['HEAD', '/metrics/job/a/x/y', notAllowed(push, '')],
    ['OPTIONS', '/metrics/job/a', [200, { allow: push }, '']],
    ['OPTIONS', '/metrics/job/a/x/y', [200, { allow: push }, '']],
    ['PUT', '/metrics', notAllowed('GET, OPTIONS')],
    ['POST', '/metrics', notAllowed('GET, OPTIONS')],
    ['HEAD', '/metrics', notAllowed('GET, OPTIONS', '')],
    ['HEAD', '/-/healthy', notAllowed('GET, OPTIONS', '')],
    ['POST', '/-/ready', notAllowed('GET, OPTIONS')],
    ['PUT', '/-/healthy', notAllowed('GET, OPTIONS')],
  ]);
  assert.equal(gw.store.groupCount, 0);
});

test('unknown paths: 404 page not found', async () => {
  const gw = await testGateway();
  await check(gw, [
    ['GET', '/nonexistent', NOT_FOUND],
    ['PUT', '/metrics/jobs/a', NOT_FOUND],
    ['GET', '/static/', NOT_FOUND],
    ['GET', '/-/', NOT_FOUND],
  ]);
});

test('/-/healthy and /-/ready answer OK', async () => {
  const gw = await testGateway();
  await check(gw, [
    ['GET', '/-/healthy', [200, { 'content-type': TEXT }, 'OK']],
    ['GET', '/-/ready', [200, { 'content-type': TEXT }, 'OK']],
  ]);
});

test('/-/healthy and /-/ready ask the store: 503 with its reason when it cannot serve', async () => {
  const gw = await testGateway();
  gw.store.health = () => ({ healthy: true, ready: false, reason: 'restoring 3 of 7 groups' });
  await check(gw, [
    ['GET', '/-/healthy', [200, { 'content-type': TEXT }, 'OK']],
    ['GET', '/-/ready', [503, { 'content-type': TEXT }, 'restoring 3 of 7 groups\n']],
  ]);
  gw.store.health = () => ({ healthy: false, ready: false, reason: 'the disk is full' });
  await check(gw, [['GET', '/-/healthy', [503, { 'content-type': TEXT }, 'the disk is full\n']]]);
});

test('a fault of ours while answering is a 500 with a log line, not a client error', async () => {
  const gw = await testGateway();
  gw.store.write = () => Promise.reject(new TypeError('x is not a function'));
  const r = await gw.request('PUT', '/metrics/job/j', 'm 1\n');
  assert.equal(r.status, 500);
  assert.equal(r.text, 'internal server error\n');
});

test('/-/quit without --web.enable-lifecycle: 403 for PUT and POST, 405 otherwise', async () => {
  const gw = await testGateway();
  await check(gw, [
    ['PUT', '/-/quit', [403, { 'content-type': TEXT }, 'Lifecycle API is not enabled.']],
    ['POST', '/-/quit', [403, { 'content-type': TEXT }, 'Lifecycle API is not enabled.']],
    ['GET', '/-/quit', [405, { 'content-type': TEXT }, 'Only POST or PUT requests allowed.']],
    ['DELETE', '/-/quit', notAllowed('GET, OPTIONS, POST, PUT')],
  ]);
  await new Promise((r) => setImmediate(r));
  assert.equal(gw.quits, 0);
});

test('/-/quit with --web.enable-lifecycle: the answer, then the quit', async () => {
  const gw = await testGateway(['--web.enable-lifecycle']);
  await check(gw, [['GET', '/-/quit', [405, { 'content-type': TEXT }, 'Only POST or PUT requests allowed.']]]);
  const goodbye: Expected = [200, { 'content-type': TEXT }, 'Requesting termination... Goodbye!'];
  await check(gw, [['POST', '/-/quit', goodbye]]);
  await new Promise((r) => setImmediate(r));
  assert.equal(gw.quits, 1);
  await check(gw, [['PUT', '/-/quit', goodbye]]);
  await new Promise((r) => setImmediate(r));
  assert.equal(gw.quits, 2);
});

test('/api/v1: CORS headers on its answers and on OPTIONS of any path under it', async () => {
  const gw = await testGateway();
  const status = await gw.request('GET', '/api/v1/status');
  assert.deepEqual(answer(status).headers, { 'content-type': 'application/json', ...CORS });
  type Status = { data: { build_information: Record<string, string>; flags: Record<string, string> } };
  const { data } = JSON.parse(status.text) as Status;
  assert.equal(data.build_information.version, '0.0.0-test');
  assert.equal(data.flags['web.telemetry-path'], '/metrics');
  const metrics = await gw.request('GET', '/api/v1/metrics');
  assert.deepEqual(answer(metrics), {
    status: 200,
    headers: { 'content-type': 'application/json', ...CORS },
    body: '{"status":"success","data":[]}',
  });
  await check(gw, [
    ['OPTIONS', '/api/v1/metrics', [200, CORS, '']],
    ['OPTIONS', '/api/v1/whatever/deep', [200, CORS, '']],
  ]);
});

test('admin wipe: 202 with --web.enable-admin-api and then nothing is stored; 404 without', async () => {
  const gw = await testGateway(['--web.enable-admin-api']);
  assert.equal((await gw.request('PUT', '/metrics/job/a', 'm 1\n')).status, 200);
  assert.equal((await gw.request('PUT', '/metrics/job/b/x/y', 'm 1\n')).status, 200);
  await check(gw, [
    ['PUT', '/api/v1/admin/wipe', [202, {}, '']],
    ['GET', '/api/v1/admin/wipe', notAllowed('OPTIONS, PUT')],
    ['POST', '/api/v1/admin/wipe', notAllowed('OPTIONS, PUT')],
  ]);
  assert.equal(gw.store.groupCount, 0);
  assert.equal(gw.pushed((await gw.request('GET', '/metrics')).text), '');

  const off = await testGateway();
  await check(off, [
    ['PUT', '/api/v1/admin/wipe', NOT_FOUND],
    ['GET', '/api/v1/admin/wipe', NOT_FOUND],
  ]);
});

test('--web.route-prefix moves every route under the prefix; the bare paths are gone (but /-/quit GET)', async () => {
  const gw = await testGateway(['--web.route-prefix=/pfx', '--web.enable-admin-api']);
  await check(gw, [
    ['PUT', '/metrics/job/a', NOT_FOUND],
    ['GET', '/metrics', NOT_FOUND],
    ['GET', '/api/v1/metrics', NOT_FOUND],
    ['GET', '/-/ready', NOT_FOUND],
    ['GET', '/-/quit', [405, { 'content-type': TEXT }, 'Only POST or PUT requests allowed.']],
    ['GET', '/pfx/-/quit', notAllowed('OPTIONS, POST, PUT')],
    ['PUT', '/pfx/-/quit', [403, { 'content-type': TEXT }, 'Lifecycle API is not enabled.']],
    ['GET', '/pfx', moved('/pfx/')],
    ['GET', '/', NOT_FOUND],
    ['PUT', '/pfx/metrics/job/a', [200, {}, '']],
    ['PUT', '/pfx/metrics/job/b', [200, {}, '']],
    ['DELETE', '/pfx/metrics/job/b', [202, {}, '']],
    ['GET', '/pfx/-/healthy', [200, { 'content-type': TEXT }, 'OK']],
    ['GET', '/pfx/-/ready', [200, { 'content-type': TEXT }, 'OK']],
    ['GET', '/pfx/api/v1', moved('/pfx/api/v1/')],
    ['OPTIONS', '/pfx/api/v1/metrics', [200, CORS, '']],
    ['PUT', '/api/v1/admin/wipe', NOT_FOUND],
  ]);
  const scrape = await gw.request('GET', '/pfx/metrics');
  assert.equal(scrape.status, 200);
  assert.equal(
    gw.pushed(scrape.text),
    [
      '# TYPE m untyped',
      'm{instance="",job="a"} 1',
      '# HELP push_failure_time_seconds Last Unix time when changing this group in the Pushgateway failed.',
      '# TYPE push_failure_time_seconds gauge',
      'push_failure_time_seconds{instance="",job="a"} 0',
      '# HELP push_time_seconds Last Unix time when changing this group in the Pushgateway succeeded.',
      '# TYPE push_time_seconds gauge',
      'push_time_seconds{instance="",job="a"} <time>',
      '',
    ].join('\n'),
  );
  const api = JSON.parse((await gw.request('GET', '/pfx/api/v1/metrics')).text) as { data: Array<{ labels: object }> };
  assert.deepEqual(
    api.data.map((g) => g.labels),
    [{ job: 'a' }],
  );
  await check(gw, [['PUT', '/pfx/api/v1/admin/wipe', [202, {}, '']]]);
  assert.equal(gw.store.groupCount, 0);
});

test('the route prefix is normalized, or taken from --web.external-url', async () => {
  const normalized = await testGateway(['--web.route-prefix=pfx/']);
  await check(normalized, [
    ['PUT', '/pfx/metrics/job/a', [200, {}, '']],
    ['GET', '/pfx/-/ready', [200, { 'content-type': TEXT }, 'OK']],
    ['GET', '/pfx/metrics/', moved('/pfx/metrics')],
  ]);
  const external = await testGateway(['--web.external-url=http://gateway.example:9091/ext/']);
  await check(external, [
    ['PUT', '/ext/metrics/job/a', [200, {}, '']],
    ['PUT', '/metrics/job/b', NOT_FOUND],
    ['GET', '/ext/-/healthy', [200, { 'content-type': TEXT }, 'OK']],
    ['GET', '/ext', moved('/ext/')],
  ]);
});

test('--web.telemetry-path moves the scrape', async () => {
  const gw = await testGateway(['--web.telemetry-path=/m']);
  await check(gw, [
    ['PUT', '/metrics/job/a', [200, {}, '']],
    ['GET', '/metrics', NOT_FOUND],
    ['GET', '/m/', moved('/m')],
  ]);
  const scrape = await gw.request('GET', '/m');
  assert.equal(scrape.status, 200);
  assert.match(scrape.text, /^m\{instance="",job="a"\} 1$/m);
});

test('the UI pages: / and /status are HTML', async () => {
  const gw = await testGateway();
  for (const url of ['/', '/status']) {
    const r = await gw.request('GET', url);
    assert.equal(r.status, 200, url);
    assert.equal(r.headers['content-type'], HTML, url);
    assert.match(r.text, /^<!DOCTYPE html>/i, url);
  }
});

test('self-metrics count requests by handler and code, and the stored groups', async () => {
  const gw = await testGateway();
  assert.equal((await gw.request('PUT', '/metrics/job/a', 'c 1\n')).status, 200);
  assert.equal((await gw.request('PUT', '/metrics/job/b', 'c 1\n')).status, 200);
  assert.equal((await gw.request('POST', '/metrics/job/b', 'c{ 1\n')).status, 400);
  assert.equal((await gw.request('DELETE', '/metrics/job/c')).status, 202);
  assert.equal((await gw.request('GET', '/-/healthy')).status, 200);
  assert.equal((await gw.request('GET', '/api/v1/metrics')).status, 200);
  const text = (await gw.request('GET', '/metrics')).text;
  const line = (name: string) => text.split('\n').filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' '));
  assert.deepEqual(line('pushgateway_http_requests_total'), [
    'pushgateway_http_requests_total{code="200",handler="api/v1/metrics",method="get"} 1',
    'pushgateway_http_requests_total{code="200",handler="healthy",method="get"} 1',
    'pushgateway_http_requests_total{code="200",handler="push",method="put"} 2',
    'pushgateway_http_requests_total{code="202",handler="delete",method="delete"} 1',
    'pushgateway_http_requests_total{code="400",handler="push",method="post"} 1',
  ]);
  assert.deepEqual(line('pushgateway_groups'), ['pushgateway_groups 2']);
  assert.match(text, /\n# TYPE pushgateway_http_push_duration_seconds summary\n/);
  assert.match(text, /\npushgateway_http_push_duration_seconds_count\{method="put"\} 2\n/);
  const [build] = line('pushgateway_build_info');
  assert.match(build, /^pushgateway_build_info\{branch="test",goarch="[^"]+",goos="linux",goversion="node[^"]+",/);
  assert.ok(build.endsWith(',revision="rev",version="0.0.0-test"} 1'), build);
  assert.match(text, /\nprocess_resident_memory_bytes \d/);
});
