// Pushes in-process: statuses and messages as the reference answers them (the conformance
// goldens), the order of writes to one group, read-your-writes, compressed and protobuf bodies,
// grouping keys in the path, and the limits on what one push may carry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { testGateway, type TestGateway } from '../testing/gateway.js';
import { answer } from '../testing/inject.js';
import { encodeSnappyFramed } from './snappy.js';

const ERROR = { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' };
const INVALID = 'pushed metrics are invalid or inconsistent with existing metrics: ';
const LINE_1 = 'text format parsing error in line 1: ';
const TIMESTAMPS = INVALID + 'pushed metrics must not have timestamps';
type Body = string | Uint8Array | undefined;
const PROTOBUF = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

/** The scrape's push-time families for groups given as their label text, e.g. `instance="",job="a"`. */
function pushTimes(groups: Array<[labels: string, succeeded: string, failed: string]>): string[] {
  return [
    '# HELP push_failure_time_seconds Last Unix time when changing this group in the Pushgateway failed.',
    '# TYPE push_failure_time_seconds gauge',
    ...groups.map(([l, , failed]) => `push_failure_time_seconds{${l}} ${failed}`),
    '# HELP push_time_seconds Last Unix time when changing this group in the Pushgateway succeeded.',
    '# TYPE push_time_seconds gauge',
    ...groups.map(([l, succeeded]) => `push_time_seconds{${l}} ${succeeded}`),
  ];
}

/** What the scrape shows of one group's families, `series` before the push times. */
function oneGroup(labels: string, series: string[], succeeded = '<time>', failed = '0'): string {
  return [...series, ...pushTimes([[labels, succeeded, failed]])].map((l) => l + '\n').join('');
}

async function pushed(gw: TestGateway): Promise<string> {
  const r = await gw.request('GET', '/metrics');
  assert.equal(r.status, 200);
  return gw.pushed(r.text);
}

/** Sends `request` ("METHOD /path") and checks the whole answer: an empty one, or the error `message`. */
async function expectAnswer(gw: TestGateway, request: string, body: Body, status: number, message?: string) {
  const [method, url] = request.split(' ');
  const got = answer(await gw.request(method, url, body));
  const expected =
    message === undefined ? { status, headers: {}, body: '' } : { status, headers: ERROR, body: message + '\n' };
  assert.deepEqual(got, expected, request);
}

test('PUT replaces the group, POST only the families it names, DELETE removes the group', async () => {
  const gw = await testGateway();
  await expectAnswer(gw, 'PUT /metrics/job/a', 'a 1\nb 2\n', 200);
  await expectAnswer(gw, 'POST /metrics/job/a', 'b 3\nc 4\n', 200);
  assert.equal(
    await pushed(gw),
    oneGroup('instance="",job="a"', [
      '# TYPE a untyped',
      'a{instance="",job="a"} 1',
      '# TYPE b untyped',
      'b{instance="",job="a"} 3',
      '# TYPE c untyped',
      'c{instance="",job="a"} 4',
    ]),
  );
  await expectAnswer(gw, 'POST /metrics/job/a', '', 200);
  await expectAnswer(gw, 'PUT /metrics/job/a', 'c 5\n', 200);
  await expectAnswer(gw, 'PUT /metrics/job/b', 'c 6\n', 200);
  assert.equal(
    await pushed(gw),
    [
      '# TYPE c untyped',
      'c{instance="",job="a"} 5',
      'c{instance="",job="b"} 6',
      ...pushTimes([
        ['instance="",job="a"', '<time>', '0'],
        ['instance="",job="b"', '<time>', '0'],
      ]),
      '',
    ].join('\n'),
  );
  await expectAnswer(gw, 'DELETE /metrics/job/a', undefined, 202);
  await expectAnswer(gw, 'DELETE /metrics/job/none', undefined, 202);
  assert.equal(await pushed(gw), oneGroup('instance="",job="b"', ['# TYPE c untyped', 'c{instance="",job="b"} 6']));
  await expectAnswer(gw, 'PUT /metrics/job/b', '', 200);
  assert.equal(await pushed(gw), oneGroup('instance="",job="b"', []));
});

test('--push.disable-consistency-check: 202 for every accepted write; parse errors still 400', async () => {
  const gw = await testGateway(['--push.disable-consistency-check']);
  await expectAnswer(gw, 'PUT /metrics/job/a', 'm 1\n', 202);
  await expectAnswer(gw, 'POST /metrics/job/a', 'n 2\n', 202);
  await expectAnswer(gw, 'DELETE /metrics/job/none', undefined, 202);
  await expectAnswer(gw, 'PUT /metrics/job/a', 'm 1', 400, LINE_1 + 'unexpected end of input stream');
  await expectAnswer(gw, 'PUT /metrics/job/a/b', 'm 1\n', 400, 'odd number of components in label string "/b"');
  // A timestamp is still refused, though the answer says accepted: the failure time tells.
  await expectAnswer(gw, 'PUT /metrics/job/a', 'm 2 1234\n', 202);
  assert.equal(
    await pushed(gw),
    oneGroup(
      'instance="",job="a"',
      ['# TYPE m untyped', 'm{instance="",job="a"} 1', '# TYPE n untyped', 'n{instance="",job="a"} 2'],
      '<time>',
      '<time>',
    ),
  );
});

test("parse errors: 400 with the parser's message, nothing stored", async () => {
  const gw = await testGateway();
  const cases: Array<[string, string]> = [
    ['# HELP m\n\nm 1\nn 2\nbroken{\n', 'text format parsing error in line 5: invalid label name for metric "broken"'],
    ['m abc\n', LINE_1 + 'expected float as value, got "abc"'],
    ['m 0x10\n', LINE_1 + 'expected float as value, got "0x10"'],
    ['m 1e309\n', LINE_1 + 'expected float as value, got "1e309"'],
    ['m 1 2 3\n', LINE_1 + 'spurious string after timestamp: " 3"'],
    ['m 1 abc\n', LINE_1 + 'expected integer as timestamp, got "abc"'],
    ['m\n', LINE_1 + 'expected float as value, got ""'],
    ['m 1\r\n', LINE_1 + 'expected float as value, got "1\\r"'],
    ['m 1', LINE_1 + 'unexpected end of input stream'],
  ];
  for (const [body, message] of cases) await expectAnswer(gw, 'PUT /metrics/job/a', body, 400, message);
  const invalidUtf8 = Buffer.from('6d7b783d22ff227d20310a', 'hex');
  await expectAnswer(gw, 'PUT /metrics/job/a', invalidUtf8, 400, LINE_1 + 'invalid label value "\\xff"');
  assert.equal(gw.store.groupCount, 0);
});

test('consistency errors and timestamps: 400, the group keeps its metrics and gets a failure time', async () => {
  const gw = await testGateway();
  await expectAnswer(gw, 'PUT /metrics/job/t', 'm 1 1234\n', 400, TIMESTAMPS);
  assert.equal(await pushed(gw), oneGroup('instance="",job="t"', [], '0', '<time>'));
  await expectAnswer(gw, 'DELETE /metrics/job/t', undefined, 202);

  await expectAnswer(gw, 'PUT /metrics/job/a', '# TYPE m counter\nm 1\n', 200);
  await expectAnswer(gw, 'PUT /metrics/job/b', 'n 1\n', 200);
  const group = (job: string) => `label:<name:"instance" value:"" > label:<name:"job" value:"${job}" >`;
  await expectAnswer(
    gw,
    'PUT /metrics/job/b',
    '# TYPE m gauge\nm 2\n',
    400,
    INVALID + `collected metric "m" { ${group('b')} gauge:<value:2 > } is not a COUNTER`,
  );
  await expectAnswer(gw, 'POST /metrics/job/b', 'n 2 1234\n', 400, TIMESTAMPS);
  await expectAnswer(
    gw,
    'PUT /metrics/job/c',
    'd{x="1"} 1\nd{x="1"} 2\n',
    400,
    INVALID +
      `collected metric "d" { ${group('c')} label:<name:"x" value:"1" > untyped:<value:2 > } ` +
      'was collected before with the same name and label values',
  );
  assert.equal(
    await pushed(gw),
    [
      '# TYPE m counter',
      'm{instance="",job="a"} 1',
      '# TYPE n untyped',
      'n{instance="",job="b"} 1',
      ...pushTimes([
        ['instance="",job="a"', '<time>', '0'],
        ['instance="",job="b"', '<time>', '<time>'],
        ['instance="",job="c"', '0', '<time>'],
      ]),
      '',
    ].join('\n'),
  );
  // A later good push to the failed group succeeds.
  await expectAnswer(gw, 'PUT /metrics/job/b', 'n 3\n', 200);
  assert.match(await pushed(gw), /\nn\{instance="",job="b"\} 3\n/);
});

test('writes to one group apply in request order even when the earlier body arrives later', async () => {
  const gw = await testGateway();
  const slowBody = new PassThrough();
  slowBody.write('x ');
  const settled: string[] = [];
  const first = gw.request('PUT', '/metrics/job/order', slowBody).then((r) => (settled.push('first'), r));
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  const second = gw.request('PUT', '/metrics/job/order', 'x 2\n').then((r) => (settled.push('second'), r));
  // Another group is not held up by the slow body.
  assert.equal((await gw.request('PUT', '/metrics/job/other', 'y 1\n')).status, 200);
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(settled, [], 'the second write waits for the first');
  slowBody.end('1\n');
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  assert.deepEqual(settled, ['first', 'second']);
  assert.match(await pushed(gw), /\nx\{instance="",job="order"\} 2\n/, 'the later request wins');
});

test('a client reads its own write right after the answer', async () => {
  const gw = await testGateway();
  for (let i = 0; i < 20; i++) {
    const [put, del] = await Promise.all([
      gw.request('PUT', '/metrics/job/ryw', `v ${i}\n`),
      gw.request('DELETE', `/metrics/job/gone${i}`),
    ]);
    assert.equal(put.status, 200);
    assert.equal(del.status, 202);
    assert.match((await gw.request('GET', '/metrics')).text, new RegExp(`\\nv\\{instance="",job="ryw"\\} ${i}\\n`));
    type Groups = { data: Array<{ v: { metrics: Array<{ value: string }> } }> };
    const api = JSON.parse((await gw.request('GET', '/api/v1/metrics')).text) as Groups;
    assert.equal(api.data[0].v.metrics[0].value, String(i));
  }
});

test("gzip bodies: unpacked; a damaged one gets the reader's message, a bomb 413", async () => {
  const gw = await testGateway(['--push.max-body-bytes=1000']);
  const gzip = { 'Content-Encoding': 'gzip' };
  const gzipped = Buffer.from('1f8b0800000000000003cb5530e402008e58cdf604000000', 'hex'); // m 1\n
  const ok = await gw.request('PUT', '/metrics/job/a', gzipped, gzip);
  assert.deepEqual(answer(ok), { status: 200, headers: {}, body: '' });
  assert.equal(await pushed(gw), oneGroup('instance="",job="a"', ['# TYPE m untyped', 'm{instance="",job="a"} 1']));
  const refused = async (body: Buffer, status: number, message: string) => {
    const r = await gw.request('PUT', '/metrics/job/b', body, gzip);
    assert.deepEqual(answer(r), { status, headers: ERROR, body: message + '\n' });
  };
  await refused(Buffer.from('not gzip at all, long enough\n'), 400, 'gzip: invalid header');
  // Shorter than gzip's 10-byte header: Go's reader reports the early end.
  await refused(Buffer.from('short\n'), 400, 'unexpected EOF');
  const bomb = gzipSync(Buffer.alloc(256 * 1024, 0x20));
  assert.ok(bomb.length < 1000);
  await refused(bomb, 413, 'decompressed request body exceeds the limit of 1000 bytes (--push.max-body-bytes)');
  assert.equal(gw.store.groupCount, 1, 'refused bodies store nothing');
});

test('snappy (framed) bodies: unpacked; a damaged one gets the reason', async () => {
  const gw = await testGateway();
  const snappy = { 'Content-Encoding': 'snappy' };
  const framed = encodeSnappyFramed(Buffer.from('m_snappy 3\n'));
  assert.equal((await gw.request('PUT', '/metrics/job/s', framed, snappy)).status, 200);
  const stored = ['# TYPE m_snappy untyped', 'm_snappy{instance="",job="s"} 3'];
  assert.equal(await pushed(gw), oneGroup('instance="",job="s"', stored));
  const bad = await gw.request('PUT', '/metrics/job/s', 'not snappy', snappy);
  assert.deepEqual(answer(bad), { status: 400, headers: ERROR, body: 'snappy: corrupt input\n' });
});

test('protobuf bodies: families stored; timestamps and truncation refused', async () => {
  const gw = await testGateway();
  const pb = (hex: string) => Buffer.from(hex, 'hex');
  const push = (hex: string) => gw.request('PUT', '/metrics/job/a', pb(hex), { 'Content-Type': PROTOBUF });
  // gauge g (help "A gauge.", labels x="1") = 1.5; counter c_total = 3
  const ok = await push(
    '240a01671208412067617567652e180122130a060a0178120131120909000000000000f83f' +
      '180a07635f746f74616c1800220b1a09090000000000000840',
  );
  assert.equal(ok.status, 200);
  const stored = [
    '# TYPE c_total counter',
    'c_total{instance="",job="a"} 3',
    '# HELP g A gauge.',
    '# TYPE g gauge',
    'g{instance="",job="a",x="1"} 1.5',
  ];
  assert.equal(await pushed(gw), oneGroup('instance="",job="a"', stored));
  // gauge g = 1 with timestamp_ms 1000
  assert.deepEqual(answer(await push('150a01671801220e120909000000000000f03f30e807')), {
    status: 400,
    headers: ERROR,
    body: INVALID + 'pushed metrics must not have timestamps\n',
  });
  assert.deepEqual(answer(await push('120a01671801220b')), { status: 400, headers: ERROR, body: 'unexpected EOF\n' });
  assert.equal(await pushed(gw), oneGroup('instance="",job="a"', stored, '<time>', '<time>'));
});

test('grouping keys: @base64 values, %-escapes, `+` and `%2F` kept inside a value', async () => {
  const gw = await testGateway();
  const cases: Array<[url: string, labels: string]> = [
    ['/metrics/job@base64/YS9i', 'instance="",job="a/b"'],
    ['/metrics/job/a/path@base64/L3Zhci90bXA', 'instance="",job="a",path="/var/tmp"'],
    ['/metrics/job/a/x@base64/', 'instance="",job="a",x=""'],
    ['/metrics/job/a/x@base64/=', 'instance="",job="a",x=""'],
    ['/metrics/job/a%2Fb', 'instance="",job="a/b"'],
    ['/metrics/job/a/x/a%2Fb', 'instance="",job="a",x="a/b"'],
    ['/metrics/job/a+b/x/c%20d/y/e+f%20g', 'instance="",job="a+b",x="c d",y="e+f g"'],
    ['/metrics/job/%C3%A4/x/%E2%82%AC%F0%9F%98%80', 'instance="",job="ä",x="€😀"'],
  ];
  for (const [url, labels] of cases) {
    await expectAnswer(gw, 'PUT ' + url, 'm 1\n', 200);
    assert.equal(await pushed(gw), oneGroup(labels, ['# TYPE m untyped', `m{${labels}} 1`]), url);
    await expectAnswer(gw, 'DELETE ' + url, undefined, 202);
    assert.equal(gw.store.groupCount, 0, url);
  }
  // Padded and unpadded base64 name the same group.
  await expectAnswer(gw, 'PUT /metrics/job@base64/YWI=', 'old 1\n', 200);
  await expectAnswer(gw, 'PUT /metrics/job@base64/YWI', 'new 1\n', 200);
  const padded = ['# TYPE new untyped', 'new{instance="",job="ab"} 1'];
  assert.equal(await pushed(gw), oneGroup('instance="",job="ab"', padded));
});

test("invalid grouping keys: 400 with the reference's message", async () => {
  const gw = await testGateway();
  const illegal = 'illegal base64 data at input byte';
  const cases: Array<[string, string]> = [
    ['PUT /metrics/job@base64/=', 'job name is required'],
    ['PUT /metrics/job@base64/!!', `invalid base64 encoding in job name "": ${illegal} 0`],
    ['DELETE /metrics/job@base64/a!b/x/y', `invalid base64 encoding in job name "": ${illegal} 1`],
    ['DELETE /metrics/job/a/1x/y', 'improper label name "1x"'],
    ['DELETE /metrics/job/a/b', 'odd number of components in label string "/b"'],
    ['PUT /metrics/job/a/b/c/', 'odd number of components in label string "/b/c/"'],
    ['PUT /metrics/job/a%2Fb/c', 'odd number of components in label string "/c"'],
    ['DELETE /metrics/job/a/x@base64/Y', `invalid base64 encoding for label x="Y": ${illegal} 0`],
    ['PUT /metrics/job/a/__reserved/x', 'improper label name "__reserved"'],
  ];
  for (const [request, message] of cases) {
    await expectAnswer(gw, request, request.startsWith('PUT') ? 'm 1\n' : undefined, 400, message);
  }
  // A trailing slash after the job is no label.
  await expectAnswer(gw, 'PUT /metrics/job/a/', 'm 1\n', 200);
  assert.equal(await pushed(gw), oneGroup('instance="",job="a"', ['# TYPE m untyped', 'm{instance="",job="a"} 1']));
});

test('limits: each refusal names its flag and stores nothing', async () => {
  const gw = await testGateway([
    '--push.max-body-bytes=1000',
    '--push.max-series-per-push=5',
    '--push.max-name-length=20',
    '--push.max-label-value-length=30',
  ]);
  const six = [1, 2, 3, 4, 5, 6].map((i) => `s{i="${i}"} 1\n`).join('');
  const name = 'more than the limit of 20 bytes (--push.max-name-length)';
  const value = 'more than the limit of 30 bytes (--push.max-label-value-length)';
  const [v31, w31] = ['v'.repeat(31), 'w'.repeat(31)];
  const refusals: Array<[string, string, number, string]> = [
    [
      '/metrics/job/a',
      'x 1\n'.repeat(300),
      413,
      'request body of 1200 bytes exceeds the limit of 1000 bytes (--push.max-body-bytes)',
    ],
    ['/metrics/job/a', six, 413, 'the push carries 6 series, more than the limit of 5 (--push.max-series-per-push)'],
    [
      '/metrics/job/a',
      'a_very_long_metric_name_indeed 1\n',
      400,
      `metric name "a_very_long_metric_name_indeed" is 30 bytes long, ${name}`,
    ],
    [
      '/metrics/job/a',
      'm{a_very_long_label_name_x="1"} 1\n',
      400,
      `label name "a_very_long_label_name_x" is 24 bytes long, ${name}`,
    ],
    ['/metrics/job/a', `m{l="${v31}"} 1\n`, 400, `label l value "${v31}" is 31 bytes long, ${value}`],
    [`/metrics/job/a/g/${w31}`, 'm 1\n', 400, `grouping label g value "${w31}" is 31 bytes long, ${value}`],
  ];
  for (const [url, body, status, message] of refusals) await expectAnswer(gw, 'PUT ' + url, body, status, message);
  // A body without a length, past the limit as it streams in.
  const stream = new PassThrough();
  const chunked = gw.request('PUT', '/metrics/job/chunked', stream);
  for (let i = 0; i < 30; i++) stream.write('x 1\n'.repeat(10));
  stream.end();
  assert.deepEqual(answer(await chunked), {
    status: 413,
    headers: ERROR,
    body: 'request body exceeds the limit of 1000 bytes (--push.max-body-bytes)\n',
  });
  assert.equal(gw.store.groupCount, 0);
  await expectAnswer(gw, 'PUT /metrics/job/ok', 'm{l="short"} 1\n', 200);
});
