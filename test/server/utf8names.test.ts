// --push.enable-utf8-names over real HTTP: pushes with quoted metric and label names (text) and
// UTF-8 names (protobuf), U__-escaped grouping label names in the path, and the scrape as
// Pushgateway 1.11 shows such names: escaped for a classic scraper (`escaping=underscores`, the
// default), quoted for one that asks `escaping=allow-utf-8` (Prometheus 3). Without the flag,
// the same requests get the answers of Pushgateway 1.5.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { send } from '../support/http.js';
import { startServer, type RunningServer } from '../support/servers.js';
import { encodeProtobufDelimited } from '../../src/expose/protobuf.js';
import { parseProtobufDelimited } from '../../src/parse/protobuf.js';
import { PROTOBUF_CONTENT_TYPE } from '../../src/lib/contenttype.js';
import { escapeFamily, escapeName, familyTextQuoted, utf8ScrapeText } from '../../src/expose/text.js';
import { parseText } from '../../src/parse/text.js';
import { textName } from '../../src/lib/textformat.js';
import type { MetricFamily } from '../../src/model.js';

/** What Prometheus 3 sends by default (scrape_protocols without protobuf, UTF-8 names allowed). */
const PROMETHEUS_3_ACCEPT =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,' +
  'text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';
const TEXT_UTF8 = 'text/plain;version=0.0.4;escaping=allow-utf-8';
const PROTOBUF_ACCEPT = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';

/** The scrape's lines about pushed families (no push_time_seconds, no gateway metrics). */
function pushedLines(text: string, job: string): string[] {
  return text.split('\n').filter((l) => l.includes(`job="${job}"`) && !/push_(failure_)?time_seconds/.test(l));
}

let gw: RunningServer;
let classic: RunningServer;
let withOpenMetrics: RunningServer;
before(async () => {
  [gw, classic, withOpenMetrics] = await Promise.all([
    startServer('ours', ['--push.enable-utf8-names']),
    startServer('ours'),
    startServer('ours', ['--push.enable-utf8-names', '--web.enable-openmetrics']),
  ]);
});
after(async () => {
  await Promise.all([gw?.stop(), classic?.stop(), withOpenMetrics?.stop()]);
});

test('text push with quoted names; scrape escaped by default, quoted with allow-utf-8', async () => {
  const body = [
    '# HELP "my.metric" A metric with dots.',
    '# TYPE "my.metric" counter',
    '{"my.metric","label.with.dots"="v"} 1',
    'plain_metric{"dotted.label"="x",b="y"} 2',
    '',
  ].join('\n');
  const put = await send(gw.url, 'PUT', '/metrics/job/t1', body);
  assert.equal(put.status, 200, put.body.toString());

  const plain = await send(gw.url, 'GET', '/metrics');
  assert.equal(plain.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores');
  const text = plain.body.toString();
  assert.match(text, /# HELP my_metric A metric with dots\.\n# TYPE my_metric counter\n/);
  assert.deepEqual(pushedLines(text, 't1'), [
    'my_metric{instance="",job="t1",label_with_dots="v"} 1',
    'plain_metric{b="y",dotted_label="x",instance="",job="t1"} 2',
  ]);

  const utf8 = await send(gw.url, 'GET', '/metrics', undefined, { Accept: TEXT_UTF8 });
  assert.equal(utf8.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8');
  const t = utf8.body.toString();
  assert.match(t, /# HELP "my\.metric" A metric with dots\.\n# TYPE "my\.metric" counter\n/);
  assert.deepEqual(pushedLines(t, 't1'), [
    '{"my.metric",instance="",job="t1","label.with.dots"="v"} 1',
    'plain_metric{b="y","dotted.label"="x",instance="",job="t1"} 2',
  ]);
  // What we serve with allow-utf-8 parses back (with UTF-8 names) to what was pushed.
  const back = parseText(t, { utf8Names: true });
  assert.ok(back.some((mf) => mf.name === 'my.metric' && mf.type === 'counter' && mf.help === 'A metric with dots.'));

  // Prometheus 3 asks for OpenMetrics first: text 0.0.4 by default, with the escaping of the
  // OpenMetrics and text 1.0.0 clauses passed over before it.
  const prom3 = await send(gw.url, 'GET', '/metrics', undefined, { Accept: PROMETHEUS_3_ACCEPT });
  assert.equal(prom3.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8');
  assert.match(prom3.body.toString(), /\n\{"my\.metric",instance="",job="t1","label\.with\.dots"="v"\} 1\n/);
  // With --web.enable-openmetrics it is served OpenMetrics, which quotes the names the same way.
  assert.equal((await send(withOpenMetrics.url, 'PUT', '/metrics/job/t1', body)).status, 200);
  const om = await send(withOpenMetrics.url, 'GET', '/metrics', undefined, { Accept: PROMETHEUS_3_ACCEPT });
  assert.equal(
    om.headers['content-type'],
    'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8',
  );
  assert.match(om.body.toString(), /\n\{"my\.metric",instance="",job="t1","label\.with\.dots"="v"\} 1\.0\n/);
  // The escaping is the served clause's: q=" 0.9" reads 0 (as in goautoneg), so text is served.
  const accept =
    'application/openmetrics-text;version=1.0.0;escaping=dots;q= 0.9, text/plain;version=0.0.4;escaping=values;q=0.5';
  const served = await send(withOpenMetrics.url, 'GET', '/metrics', undefined, { Accept: accept });
  assert.equal(served.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8; escaping=values');
  assert.match(served.body.toString(), /\nU__my_2e_metric\{instance="",job="t1",U__label_2e_with_2e_dots="v"\} 1\n/);

  const dots = await send(gw.url, 'GET', '/metrics', undefined, { Accept: 'text/plain;version=0.0.4;escaping=dots' });
  assert.deepEqual(pushedLines(dots.body.toString(), 't1'), [
    'my_dot_metric{instance="",job="t1",label_dot_with_dot_dots="v"} 1',
    'plain_metric{b="y",dotted_dot_label="x",instance="",job="t1"} 2',
  ]);
  const values = await send(gw.url, 'GET', '/metrics', undefined, {
    Accept: 'text/plain;version=0.0.4;escaping=values',
  });
  assert.deepEqual(pushedLines(values.body.toString(), 't1'), [
    'U__my_2e_metric{instance="",job="t1",U__label_2e_with_2e_dots="v"} 1',
    'plain_metric{b="y",U__dotted_2e_label="x",instance="",job="t1"} 2',
  ]);
});

test('U__-escaped grouping label names are decoded; DELETE finds the group by them', async () => {
  const put = await send(
    gw.url,
    'PUT',
    '/metrics/job/t2/U__label_2e_name/value/U__a__b_2e_c@base64/L3Zhci90bXA',
    'x 3\n',
  );
  assert.equal(put.status, 200, put.body.toString());
  const t = (await send(gw.url, 'GET', '/metrics', undefined, { Accept: TEXT_UTF8 })).body.toString();
  assert.deepEqual(pushedLines(t, 't2'), ['x{"a_b.c"="/var/tmp",instance="",job="t2","label.name"="value"} 3']);
  const api = JSON.parse((await send(gw.url, 'GET', '/api/v1/metrics')).body.toString()) as {
    data: Array<{ labels: Record<string, string> }>;
  };
  assert.ok(
    api.data.some(
      (g) => g.labels['label.name'] === 'value' && g.labels['a_b.c'] === '/var/tmp' && g.labels.job === 't2',
    ),
  );

  // The same group, named with the UTF-8 names unescaped (percent-encoded where needed).
  const del = await send(gw.url, 'DELETE', '/metrics/job/t2/label.name/value/a_b.c@base64/L3Zhci90bXA');
  assert.equal(del.status, 202);
  assert.deepEqual(pushedLines((await send(gw.url, 'GET', '/metrics')).body.toString(), 't2'), []);

  const bad = await send(gw.url, 'PUT', '/metrics/job/t2/__reserved/v', 'x 1\n');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.toString(), 'improper label name "__reserved"\n');
});

test('protobuf push with UTF-8 names; protobuf scrape escaped unless allow-utf-8', async () => {
  const families: MetricFamily[] = [
    {
      name: 'proto.metric',
      help: 'From protobuf.',
      type: 'gauge',
      metrics: [{ labels: [{ name: 'label.é', value: 'ü' }], value: 4 }],
    },
  ];
  const put = await send(gw.url, 'PUT', '/metrics/job/t3', Buffer.from(encodeProtobufDelimited(families)), {
    'Content-Type': PROTOBUF_CONTENT_TYPE,
  });
  assert.equal(put.status, 200, put.body.toString());

  const t = (await send(gw.url, 'GET', '/metrics', undefined, { Accept: TEXT_UTF8 })).body.toString();
  assert.deepEqual(pushedLines(t, 't3'), ['{"proto.metric",instance="",job="t3","label.é"="ü"} 4']);
  assert.deepEqual(pushedLines((await send(gw.url, 'GET', '/metrics')).body.toString(), 't3'), [
    'proto_metric{instance="",job="t3",label__="ü"} 4',
  ]);

  const pb = await send(gw.url, 'GET', '/metrics', undefined, { Accept: PROTOBUF_ACCEPT });
  assert.match(String(pb.headers['content-type']), /encoding=delimited; escaping=underscores$/);
  const escaped = parseProtobufDelimited(pb.body).find((mf) => mf.name === 'proto_metric');
  assert.ok(escaped, 'proto_metric in the protobuf scrape');
  assert.deepEqual(
    escaped.metrics[0].labels.map((l) => l.name),
    ['instance', 'job', 'label__'],
  );

  const pbUtf8 = await send(gw.url, 'GET', '/metrics', undefined, {
    Accept: `${PROTOBUF_ACCEPT};escaping=allow-utf-8`,
  });
  const raw = parseProtobufDelimited(pbUtf8.body).find((mf) => mf.name === 'proto.metric');
  assert.ok(raw, 'proto.metric in the protobuf scrape with allow-utf-8');
  assert.deepEqual(
    raw.metrics[0].labels.map((l) => l.name),
    ['instance', 'job', 'label.é'],
  );
});

test('the consistency check takes UTF-8 label names, still not __ ones nor invalid UTF-8', async () => {
  const reserved = await send(gw.url, 'PUT', '/metrics/job/t4', 'foo{"__x.y"="1"} 1\n');
  assert.equal(reserved.status, 400);
  assert.match(
    reserved.body.toString(),
    /^pushed metrics are invalid or inconsistent with existing metrics: collected metric "foo" .* has a label with an invalid name: __x\.y\n$/,
  );

  // Invalid UTF-8 in a label name can only come by protobuf (the text parser refuses it first).
  const invalid = await send(gw.url, 'PUT', '/metrics/job/t4', Buffer.from('foo{"\xff"="1"} 1\n', 'latin1'));
  assert.equal(invalid.status, 400);
  assert.equal(invalid.body.toString(), 'text format parsing error in line 1: invalid label name "\\xff"\n');
  const pbInvalid = Buffer.from(
    encodeProtobufDelimited([
      { name: 'foo', type: 'untyped', metrics: [{ labels: [{ name: 'a\udcffb', value: '1' }], value: 1 }] },
    ]),
  );
  const r = await send(gw.url, 'PUT', '/metrics/job/t4', pbInvalid, { 'Content-Type': PROTOBUF_CONTENT_TYPE });
  assert.equal(r.status, 400);
  assert.match(r.body.toString(), /has a label with an invalid name: a\ufffdb\n$/);
});

test('without the flag: the answers of Pushgateway 1.5.1', async () => {
  const quoted = await send(classic.url, 'PUT', '/metrics/job/c1', '{"my.metric"} 1\n');
  assert.equal(quoted.status, 400);
  assert.equal(quoted.body.toString(), 'text format parsing error in line 1: invalid metric name\n');
  const label = await send(classic.url, 'PUT', '/metrics/job/c1', 'foo{"a.b"="1"} 1\n');
  assert.equal(label.body.toString(), 'text format parsing error in line 1: invalid label name for metric "foo"\n');
  const path = await send(classic.url, 'PUT', '/metrics/job/c1/a.b/v', 'foo 1\n');
  assert.equal(path.body.toString(), 'improper label name "a.b"\n');
  // U__ names are ordinary legacy names.
  assert.equal((await send(classic.url, 'PUT', '/metrics/job/c1/U__label_2e_name/v', 'foo 1\n')).status, 200);
  const scrape = await send(classic.url, 'GET', '/metrics', undefined, { Accept: TEXT_UTF8 });
  assert.equal(scrape.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.deepEqual(pushedLines(scrape.body.toString(), 'c1'), ['foo{U__label_2e_name="v",instance="",job="c1"} 1']);
  // A UTF-8 label name by protobuf fails the consistency check, as in 1.5.1.
  const pb = Buffer.from(
    encodeProtobufDelimited([
      { name: 'foo', type: 'untyped', metrics: [{ labels: [{ name: 'a.b', value: '1' }], value: 1 }] },
    ]),
  );
  const r = await send(classic.url, 'PUT', '/metrics/job/c2', pb, { 'Content-Type': PROTOBUF_CONTENT_TYPE });
  assert.equal(r.status, 400);
  assert.match(r.body.toString(), /has a label with an invalid name: a\.b\n$/);
});

// --- The rendering and negotiation helpers (src/expose/text.ts) -------------------------------

test('escapeName: model.EscapeName for the four schemes', () => {
  const cases: Array<[string, string, string, string]> = [
    // name, underscores, dots, values
    ['my.metric', 'my_metric', 'my_dot_metric', 'U__my_2e_metric'],
    ['classic_name', 'classic_name', 'classic__name', 'classic_name'],
    ['1st', '_st', '__st', 'U___31_st'],
    ['a:b', 'a:b', 'a:b', 'a:b'],
    ['日本', '__', '____', 'U___65e5__672c_'],
    ['x😊', 'x_', 'x__', 'U__x_1f60a_'],
    ['a\udcffb', 'a_b', 'a__b', 'U__a_fffd_b'], // a raw invalid byte reads as U+FFFD, as Go ranges over it
  ];
  for (const [name, u, d, v] of cases) {
    assert.equal(escapeName(name, 'underscores'), u, name);
    assert.equal(escapeName(name, 'dots'), d, name);
    assert.equal(escapeName(name, 'values'), v, name);
    assert.equal(escapeName(name, 'allow-utf-8'), name, name);
  }
});

test('escapeFamily: names escaped, label order and values kept, the family itself when nothing to do', () => {
  const mf: MetricFamily = {
    name: 'a.b',
    type: 'gauge',
    metrics: [
      {
        labels: [
          { name: 'job', value: 'j' },
          { name: 'x.y', value: 'v.w' },
        ],
        value: 1,
      },
      { labels: [{ name: 'job', value: 'k' }], value: 2 },
    ],
  };
  const e = escapeFamily(mf, 'underscores');
  assert.equal(e.name, 'a_b');
  assert.deepEqual(e.metrics[0].labels, [
    { name: 'job', value: 'j' },
    { name: 'x_y', value: 'v.w' },
  ]);
  assert.equal(e.metrics[1], mf.metrics[1]);
  assert.equal(mf.name, 'a.b', 'the input is left alone');
  const classic: MetricFamily = {
    name: 'ok',
    type: 'gauge',
    metrics: [{ labels: [{ name: 'a:b', value: '1' }], value: 1 }],
  };
  assert.equal(escapeFamily(classic, 'underscores'), classic);
  assert.equal(escapeFamily(mf, 'allow-utf-8'), mf);
});

test('familyTextQuoted: expfmt.MetricFamilyToText with UTF-8 names', () => {
  const L = (o: Record<string, string>) => Object.entries(o).map(([name, value]) => ({ name, value }));
  assert.equal(
    familyTextQuoted({
      name: 'my.metric',
      help: 'h\\x',
      type: 'counter',
      metrics: [
        { labels: [], value: 1, timestampMs: 5 },
        { labels: L({ 'a.b': 'v"', c: '1' }), value: 2 },
      ],
    }),
    '# HELP "my.metric" h\\\\x\n# TYPE "my.metric" counter\n{"my.metric"} 1 5\n{"my.metric","a.b"="v\\"",c="1"} 2\n',
  );
  assert.equal(
    familyTextQuoted({
      name: 's.x',
      type: 'summary',
      metrics: [
        { labels: L({ j: 'a' }), summary: { sampleCount: 3, sampleSum: 2, quantiles: [{ quantile: 0.5, value: 1 }] } },
      ],
    }),
    '# TYPE "s.x" summary\n{"s.x",j="a",quantile="0.5"} 1\n{"s.x_sum",j="a"} 2\n{"s.x_count",j="a"} 3\n',
  );
  assert.equal(
    familyTextQuoted({
      name: 'h',
      type: 'histogram',
      metrics: [
        {
          labels: L({ é: 'a' }),
          histogram: { sampleCount: 3, sampleSum: 2, buckets: [{ upperBound: 1, cumulativeCount: 2 }] },
        },
      ],
    }),
    '# TYPE h histogram\nh_bucket{"é"="a",le="1"} 2\nh_bucket{"é"="a",le="+Inf"} 3\nh_sum{"é"="a"} 2\nh_count{"é"="a"} 3\n',
  );
  assert.equal(
    familyTextQuoted({ name: 'q"\n\\', type: 'untyped', metrics: [{ labels: [], value: 0 }] }),
    '# TYPE "q\\"\\n\\\\" untyped\n{"q\\"\\n\\\\"} 0\n',
  );
  assert.equal(textName('a:b'), 'a:b');
  assert.equal(textName('1a'), '"1a"');
  // Classic names: the same bytes as the classic renderer.
  assert.equal(
    utf8ScrapeText([{ name: 'x', type: 'gauge', metrics: [{ labels: L({ a: '1' }), value: 1 }] }], 'underscores'),
    '# TYPE x gauge\nx{a="1"} 1\n',
  );
});
