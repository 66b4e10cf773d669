// Scrapes in-process, through the whole gateway: families merged across groups and sorted as the
// reference sorts them (conformance goldens), push times, a scrape after each kind of write seeing
// it (the scrape cache invalidated), gzip, and format negotiation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { parseProtobufDelimited } from '../parse/protobuf.js';
import { testGateway, type TestGateway } from '../testing/gateway.js';
import { OPENMETRICS_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE, TEXT_CONTENT_TYPE } from '../lib/contenttype.js';

const FAILURE_HEAD = [
  '# HELP push_failure_time_seconds Last Unix time when changing this group in the Pushgateway failed.',
  '# TYPE push_failure_time_seconds gauge',
];
const SUCCESS_HEAD = [
  '# HELP push_time_seconds Last Unix time when changing this group in the Pushgateway succeeded.',
  '# TYPE push_time_seconds gauge',
];

async function put(gw: TestGateway, url: string, body: string, method = 'PUT'): Promise<void> {
  const r = await gw.request(method, url, body);
  assert.equal(r.status, 200, `${method} ${url}: ${r.text}`);
}

async function scrape(gw: TestGateway, headers: Record<string, string> = {}): Promise<string> {
  const r = await gw.request('GET', '/metrics', undefined, headers);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], TEXT_CONTENT_TYPE);
  assert.equal(r.headers['content-length'], String(r.body.length));
  return gw.pushed(r.text);
}

const text = (lines: string[]) => lines.map((l) => l + '\n').join('');

test('families merged across groups, sorted by name, series by label values as the reference sorts them', async () => {
  const gw = await testGateway();
  await put(gw, '/metrics/job/b', 'zeta 1\nalpha 1\nm{z="1"} 1\n');
  await put(gw, '/metrics/job/a', 'm{a="2"} 1\nm 1\nM 1\n_u 1\n');
  await put(gw, '/metrics/job/a/instance/x', 'm{b="0"} 1\n');
  await put(gw, '/metrics/job/c/x/y', 'm 1\nm{q="a"} 1\n');
  assert.equal(
    await scrape(gw),
    text([
      '# TYPE M untyped',
      'M{instance="",job="a"} 1',
      '# TYPE _u untyped',
      '_u{instance="",job="a"} 1',
      '# TYPE alpha untyped',
      'alpha{instance="",job="b"} 1',
      '# TYPE m untyped',
      'm{instance="",job="a"} 1',
      'm{instance="",job="b",z="1"} 1',
      'm{instance="",job="c",x="y"} 1',
      'm{b="0",instance="x",job="a"} 1',
      'm{a="2",instance="",job="a"} 1',
      'm{instance="",job="c",q="a",x="y"} 1',
      ...FAILURE_HEAD,
      'push_failure_time_seconds{instance="",job="a"} 0',
      'push_failure_time_seconds{instance="",job="b"} 0',
      'push_failure_time_seconds{instance="x",job="a"} 0',
      'push_failure_time_seconds{instance="",job="c",x="y"} 0',
      ...SUCCESS_HEAD,
      'push_time_seconds{instance="",job="a"} <time>',
      'push_time_seconds{instance="",job="b"} <time>',
      'push_time_seconds{instance="x",job="a"} <time>',
      'push_time_seconds{instance="",job="c",x="y"} <time>',
      '# TYPE zeta untyped',
      'zeta{instance="",job="b"} 1',
    ]),
  );
});

test("HELP of a family pushed by several groups: the first group's", async () => {
  const gw = await testGateway();
  await put(gw, '/metrics/job/b', '# HELP m help b\nm 2\n');
  await put(gw, '/metrics/job/a', '# HELP m help a\nm 1\n');
  const scraped = await scrape(gw);
  assert.deepEqual(scraped.split('\n').slice(0, 4), [
    '# HELP m help a',
    '# TYPE m untyped',
    'm{instance="",job="a"} 1',
    'm{instance="",job="b"} 2',
  ]);
});

test('each write shows in the next scrape: replaced, added, failed, deleted, wiped', async () => {
  const gw = await testGateway(['--web.enable-admin-api']);
  await put(gw, '/metrics/job/a', '# TYPE m gauge\nm 1\nn 1\n');
  await put(gw, '/metrics/job/b', '# TYPE m gauge\nm 2\n');
  const both = (a: string, b: string, failedB = '0') => [
    ...FAILURE_HEAD,
    `push_failure_time_seconds{instance="",job="a"} ${a}`,
    `push_failure_time_seconds{instance="",job="b"} ${failedB}`,
    ...SUCCESS_HEAD,
    'push_time_seconds{instance="",job="a"} <time>',
    `push_time_seconds{instance="",job="b"} ${b}`,
  ];
  assert.equal(
    await scrape(gw),
    text([
      '# TYPE m gauge',
      'm{instance="",job="a"} 1',
      'm{instance="",job="b"} 2',
      '# TYPE n untyped',
      'n{instance="",job="a"} 1',
      ...both('0', '<time>'),
    ]),
  );

  await put(gw, '/metrics/job/a', '# TYPE m gauge\nm 5\n');
  assert.equal(
    await scrape(gw),
    text(['# TYPE m gauge', 'm{instance="",job="a"} 5', 'm{instance="",job="b"} 2', ...both('0', '<time>')]),
  );

  await put(gw, '/metrics/job/b', 'k 7\n', 'POST');
  assert.equal(
    await scrape(gw),
    text([
      '# TYPE k untyped',
      'k{instance="",job="b"} 7',
      '# TYPE m gauge',
      'm{instance="",job="a"} 5',
      'm{instance="",job="b"} 2',
      ...both('0', '<time>'),
    ]),
  );

  assert.equal((await gw.request('PUT', '/metrics/job/b', '# TYPE m counter\nm 3\n')).status, 400);
  assert.equal(
    await scrape(gw),
    text([
      '# TYPE k untyped',
      'k{instance="",job="b"} 7',
      '# TYPE m gauge',
      'm{instance="",job="a"} 5',
      'm{instance="",job="b"} 2',
      ...both('0', '<time>', '<time>'),
    ]),
  );

  assert.equal((await gw.request('DELETE', '/metrics/job/a')).status, 202);
  assert.equal(
    await scrape(gw),
    text([
      '# TYPE k untyped',
      'k{instance="",job="b"} 7',
      '# TYPE m gauge',
      'm{instance="",job="b"} 2',
      ...FAILURE_HEAD,
      'push_failure_time_seconds{instance="",job="b"} <time>',
      ...SUCCESS_HEAD,
      'push_time_seconds{instance="",job="b"} <time>',
    ]),
  );

  assert.equal((await gw.request('PUT', '/api/v1/admin/wipe')).status, 202);
  assert.equal(await scrape(gw), '');
});

test("push_time_seconds moves forward with each push to the group, the others' stay", async () => {
  const gw = await testGateway();
  const times = async () => {
    const raw = (await gw.request('GET', '/metrics')).text;
    const found = [...raw.matchAll(/^push_time_seconds\{instance="",job="(\w+)"\} (\S+)$/gm)];
    return Object.fromEntries(found.map((m) => [m[1], Number(m[2])]));
  };
  await put(gw, '/metrics/job/a', 'm 1\n');
  await put(gw, '/metrics/job/b', 'm 1\n');
  const before = await times();
  await new Promise((r) => setTimeout(r, 5));
  await put(gw, '/metrics/job/a', 'm 2\n');
  const after = await times();
  assert.ok(after.a > before.a, `${after.a} > ${before.a}`);
  assert.equal(after.b, before.b);
  assert.ok(Math.abs(after.a * 1000 - Date.now()) < 5000);
});

test('gzip when the client accepts it, the same text unpacked', async () => {
  const gw = await testGateway();
  await put(gw, '/metrics/job/a', 'm 1\n');
  const zipped = await gw.request('GET', '/metrics', undefined, { 'Accept-Encoding': 'br, gzip;q=0.5' });
  assert.equal(zipped.status, 200);
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.equal(zipped.headers['content-type'], TEXT_CONTENT_TYPE);
  // Small scrapes are compressed whole, with their length (larger ones as they are sent).
  assert.equal(zipped.headers['content-length'], String(zipped.body.length));
  const expected = text([
    '# TYPE m untyped',
    'm{instance="",job="a"} 1',
    ...FAILURE_HEAD,
    'push_failure_time_seconds{instance="",job="a"} 0',
    ...SUCCESS_HEAD,
    'push_time_seconds{instance="",job="a"} <time>',
  ]);
  assert.equal(gw.pushed(gunzipSync(zipped.body).toString()), expected);
  const plain = await gw.request('GET', '/metrics', undefined, { 'Accept-Encoding': 'identity' });
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(gw.pushed(plain.text), expected);
});

test('negotiation: text by default and for unknown types; protobuf and OpenMetrics on request', async () => {
  const gw = await testGateway();
  await put(gw, '/metrics/job/a', '# HELP m A gauge.\n# TYPE m gauge\nm{x="1"} 1.5\n');
  const expected = text([
    '# HELP m A gauge.',
    '# TYPE m gauge',
    'm{instance="",job="a",x="1"} 1.5',
    ...FAILURE_HEAD,
    'push_failure_time_seconds{instance="",job="a"} 0',
    ...SUCCESS_HEAD,
    'push_time_seconds{instance="",job="a"} <time>',
  ]);
  for (const accept of [undefined, 'text/plain', 'application/json', '*/*']) {
    assert.equal(await scrape(gw, accept === undefined ? {} : { Accept: accept }), expected, String(accept));
  }

  const pb = await gw.request('GET', '/metrics', undefined, {
    Accept: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited',
  });
  assert.equal(pb.headers['content-type'], PROTOBUF_CONTENT_TYPE);
  const families = parseProtobufDelimited(pb.body);
  const names = families.map((f) => f.name);
  assert.deepEqual(names, [...names].sort(), 'families sorted by name');
  assert.deepEqual(
    families.find((f) => f.name === 'm'),
    {
      name: 'm',
      help: 'A gauge.',
      type: 'gauge',
      metrics: [
        {
          labels: [
            { name: 'instance', value: '' },
            { name: 'job', value: 'a' },
            { name: 'x', value: '1' },
          ],
          value: 1.5,
          gauge: { value: 1.5 },
        },
      ],
    },
  );
  const pushTime = families.find((f) => f.name === 'push_time_seconds')!.metrics[0];
  assert.ok(Math.abs((pushTime.value as number) * 1000 - Date.now()) < 5000, String(pushTime.value));
  assert.ok(names.includes('pushgateway_build_info'));

  // OpenMetrics only with --web.enable-openmetrics: the reference never serves it.
  const omAccept = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
  assert.equal(
    (await gw.request('GET', '/metrics', undefined, { Accept: omAccept })).headers['content-type'],
    TEXT_CONTENT_TYPE,
  );
  const withOm = await testGateway(['--web.enable-openmetrics']);
  await put(withOm, '/metrics/job/a', '# HELP m A gauge.\n# TYPE m gauge\nm{x="1"} 1.5\n');
  const om = await withOm.request('GET', '/metrics', undefined, { Accept: omAccept });
  assert.equal(om.headers['content-type'], OPENMETRICS_CONTENT_TYPE);
  const head = '# HELP m A gauge.\n# TYPE m gauge\nm{instance="",job="a",x="1"} 1.5\n';
  assert.ok(om.text.startsWith(head), om.text.slice(0, 200));
  assert.match(om.text, /\npush_failure_time_seconds\{instance="",job="a"\} 0\.0\n/);
  assert.ok(om.text.endsWith('\n# EOF\n'));
});
