// Table-driven tests of the OpenMetrics renderer. Every case marked `go` was checked byte for byte
// against expfmt.MetricFamilyToOpenMetrics of prometheus/common 0.39 (Debian's
// golang-github-prometheus-common-dev, the version of the reference), fed the same family as a
// dto.MetricFamily. The other cases use what that version lacks (# UNIT, _created lines, gauge
// histograms, exemplars without labels, quoted names) and follow the newest expfmt's source
// (v0.70), or one of the deviations listed at the top of openmetrics.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabelPair, Metric, MetricFamily } from '../model.js';
import { parseOpenMetrics } from '../parse/openmetrics.js';
import { OPENMETRICS_CONTENT_TYPE } from '../lib/contenttype.js';
import {
  OPENMETRICS_EOF,
  formatOpenMetricsFloat,
  renderOpenMetrics,
  renderOpenMetricsFamily,
  type OpenMetricsOptions,
} from './openmetrics.js';

const L = (o: Record<string, string> = {}): LabelPair[] => Object.entries(o).map(([name, value]) => ({ name, value }));

export interface RenderCase {
  name: string;
  family: MetricFamily;
  options?: OpenMetricsOptions;
  want: string;
  /** Checked against expfmt 0.39. */
  go?: boolean;
}

export const renderCases: RenderCase[] = [
  {
    name: 'counter named _total: TYPE and HELP without the suffix, samples with it',
    go: true,
    family: {
      name: 'http_requests_total',
      help: 'Requests.',
      type: 'counter',
      metrics: [
        { labels: L({ code: '200' }), value: 1027 },
        { labels: L({ code: '500' }), value: 3 },
      ],
    },
    want:
      '# HELP http_requests Requests.\n# TYPE http_requests counter\n' +
      'http_requests_total{code="200"} 1027.0\nhttp_requests_total{code="500"} 3.0\n',
  },
  {
    name: 'counter without _total: unknown, and no _total added',
    go: true,
    family: { name: 'x', help: 'h', type: 'counter', metrics: [{ labels: [], value: 1 }] },
    want: '# HELP x h\n# TYPE x unknown\nx 1.0\n',
  },
  {
    name: 'counter named exactly _total: the empty family name is quoted (newest expfmt)',
    family: { name: '_total', type: 'counter', metrics: [{ labels: [], value: 2 }] },
    want: '# TYPE "" counter\n_total 2.0\n',
  },
  {
    name: 'gauge values: .0 added only without . or e',
    go: true,
    family: {
      name: 'g',
      type: 'gauge',
      metrics: [
        { labels: L({ v: 'a' }), value: 0 },
        { labels: L({ v: 'b' }), value: -0 },
        { labels: L({ v: 'c' }), value: 1 },
        { labels: L({ v: 'd' }), value: -1 },
        { labels: L({ v: 'e' }), value: 100 },
        { labels: L({ v: 'f' }), value: 0.25 },
        { labels: L({ v: 'g' }), value: 1e6 },
        { labels: L({ v: 'h' }), value: 1234567 },
        { labels: L({ v: 'i' }), value: 1e-5 },
        { labels: L({ v: 'j' }), value: 1e21 },
        { labels: L({ v: 'k' }), value: NaN },
        { labels: L({ v: 'l' }), value: Infinity },
        { labels: L({ v: 'm' }), value: -Infinity },
        { labels: L({ v: 'n' }), value: 999999 },
        { labels: L({ v: 'o' }), value: -42 },
      ],
    },
    want:
      '# TYPE g gauge\n' +
      'g{v="a"} 0.0\ng{v="b"} 0.0\ng{v="c"} 1.0\ng{v="d"} -1.0\ng{v="e"} 100.0\ng{v="f"} 0.25\n' +
      'g{v="g"} 1e+06\ng{v="h"} 1.234567e+06\ng{v="i"} 1e-05\ng{v="j"} 1e+21\ng{v="k"} NaN\n' +
      'g{v="l"} +Inf\ng{v="m"} -Inf\ng{v="n"} 999999.0\ng{v="o"} -42.0\n',
  },
  {
    name: 'untyped is unknown; a missing value reads 0',
    go: true,
    family: { name: 'u', help: '', type: 'untyped', metrics: [{ labels: [], value: 3 }, { labels: L({ a: 'b' }) }] },
    want: '# HELP u \n# TYPE u unknown\nu 3.0\nu{a="b"} 0.0\n',
  },
  {
    name: 'escaping: \\, newline and " in HELP and label values',
    go: true,
    family: { name: 'e', help: 'a\\b\nc"d', type: 'gauge', metrics: [{ labels: L({ l: 'x"y\\z\nw' }), value: 1 }] },
    want: '# HELP e a\\\\b\\nc\\"d\n# TYPE e gauge\ne{l="x\\"y\\\\z\\nw"} 1.0\n',
  },
  {
    name: 'summary: quantile labels as floats, count as integer',
    go: true,
    family: {
      name: 'rpc_seconds',
      type: 'summary',
      metrics: [
        {
          labels: L({ job: 'j' }),
          summary: {
            sampleCount: 1234567,
            sampleSum: 17.5,
            quantiles: [
              { quantile: 0.5, value: 1 },
              { quantile: 0.99, value: 2.5 },
              { quantile: 1, value: NaN },
            ],
          },
        },
      ],
    },
    want:
      '# TYPE rpc_seconds summary\n' +
      'rpc_seconds{job="j",quantile="0.5"} 1.0\nrpc_seconds{job="j",quantile="0.99"} 2.5\nrpc_seconds{job="j",quantile="1.0"} NaN\n' +
      'rpc_seconds_sum{job="j"} 17.5\nrpc_seconds_count{job="j"} 1234567\n',
  },
  {
    name: 'histogram: +Inf bucket added when missing, le as floats, counts as integers',
    go: true,
    family: {
      name: 'h',
      type: 'histogram',
      metrics: [
        {
          labels: [],
          histogram: {
            sampleCount: 4,
            sampleSum: 1e6,
            buckets: [
              { upperBound: 0.1, cumulativeCount: 1 },
              { upperBound: 1, cumulativeCount: 2 },
              { upperBound: 1e6, cumulativeCount: 3 },
            ],
          },
        },
      ],
    },
    want:
      '# TYPE h histogram\n' +
      'h_bucket{le="0.1"} 1\nh_bucket{le="1.0"} 2\nh_bucket{le="1e+06"} 3\nh_bucket{le="+Inf"} 4\nh_sum 1e+06\nh_count 4\n',
  },
  {
    name: 'histogram with an explicit +Inf bucket and labels',
    go: true,
    family: {
      name: 'h',
      type: 'histogram',
      metrics: [
        {
          labels: L({ a: 'b' }),
          histogram: {
            sampleCount: 4,
            sampleSum: 0,
            buckets: [
              { upperBound: -1, cumulativeCount: 1 },
              { upperBound: Infinity, cumulativeCount: 4 },
            ],
          },
        },
      ],
    },
    want: '# TYPE h histogram\nh_bucket{a="b",le="-1.0"} 1\nh_bucket{a="b",le="+Inf"} 4\nh_sum{a="b"} 0.0\nh_count{a="b"} 4\n',
  },
  {
    name: 'exemplar on a counter; its timestamp is float64(UnixNano)/1e9, as Go computes it',
    go: true,
    family: {
      name: 'c_total',
      type: 'counter',
      metrics: [
        {
          labels: [],
          value: 5,
          counter: {
            value: 5,
            exemplar: {
              labels: L({ trace_id: 'abc' }),
              value: 1,
              timestamp: { seconds: 1700000000, nanos: 123000000 },
            },
          },
        },
      ],
    },
    want: '# TYPE c counter\nc_total 5.0 # {trace_id="abc"} 1.0 1.7000000001230001e+09\n',
  },
  {
    name: 'bucket exemplars',
    go: true,
    family: {
      name: 'h',
      type: 'histogram',
      metrics: [
        {
          labels: [],
          histogram: {
            sampleCount: 2,
            sampleSum: 0.3,
            buckets: [
              { upperBound: 0.1, cumulativeCount: 1, exemplar: { labels: L({ id: 'x"y' }), value: 0.05 } },
              {
                upperBound: 1,
                cumulativeCount: 2,
                exemplar: { labels: L({ id: 'z' }), value: 0.25, timestamp: { seconds: 10, nanos: 0 } },
              },
            ],
          },
        },
      ],
    },
    want:
      '# TYPE h histogram\n' +
      'h_bucket{le="0.1"} 1 # {id="x\\"y"} 0.05\nh_bucket{le="1.0"} 2 # {id="z"} 0.25 10.0\nh_bucket{le="+Inf"} 2\nh_sum 0.3\nh_count 2\n',
  },
  {
    name: 'an exemplar without labels is left out (newest expfmt)',
    family: {
      name: 'c_total',
      type: 'counter',
      metrics: [{ labels: [], value: 1, counter: { value: 1, exemplar: { labels: [], value: 1 } } }],
    },
    want: '# TYPE c counter\nc_total 1.0\n',
  },
  {
    name: 'sample timestamps in seconds',
    go: true,
    family: {
      name: 'g',
      type: 'gauge',
      metrics: [
        { labels: L({ a: '1' }), value: 1, timestampMs: 1234 },
        { labels: L({ a: '2' }), value: 1, timestampMs: 1000 },
        { labels: L({ a: '3' }), value: 1, timestampMs: 1500000000000 },
        { labels: L({ a: '4' }), value: 1, timestampMs: 0 },
        { labels: L({ a: '5' }), value: 1, timestampMs: -1 },
      ],
    },
    want: '# TYPE g gauge\ng{a="1"} 1.0 1.234\ng{a="2"} 1.0 1.0\ng{a="3"} 1.0 1.5e+09\ng{a="4"} 1.0 0.0\ng{a="5"} 1.0 -0.001\n',
  },
  {
    name: 'timestamps on every line of a summary and before an exemplar',
    go: true,
    family: {
      name: 's',
      type: 'summary',
      metrics: [
        {
          labels: [],
          timestampMs: 2000,
          summary: { sampleCount: 1, sampleSum: 2, quantiles: [{ quantile: 0.5, value: 3 }] },
        },
      ],
    },
    want: '# TYPE s summary\ns{quantile="0.5"} 3.0 2.0\ns_sum 2.0 2.0\ns_count 1 2.0\n',
  },
  {
    name: 'unit after TYPE, shown without _total for counters',
    family: {
      name: 'io_seconds_total',
      help: 'h',
      unit: 'seconds',
      type: 'counter',
      metrics: [{ labels: [], value: 1 }],
    },
    want: '# HELP io_seconds h\n# TYPE io_seconds counter\n# UNIT io_seconds seconds\nio_seconds_total 1.0\n',
  },
  {
    name: 'a unit that is not a suffix of the name, or empty, is left out',
    family: { name: 'temp', unit: 'celsius', type: 'gauge', metrics: [{ labels: [], value: 1 }] },
    want: '# TYPE temp gauge\ntemp 1.0\n',
  },
  {
    name: 'empty unit left out',
    family: { name: 'temp', unit: '', type: 'gauge', metrics: [{ labels: [], value: 1 }] },
    want: '# TYPE temp gauge\ntemp 1.0\n',
  },
  {
    name: 'the unit must be a whole suffix',
    family: { name: 'x_kilobytes', unit: 'bytes', type: 'gauge', metrics: [{ labels: [], value: 1 }] },
    want: '# TYPE x_kilobytes gauge\nx_kilobytes 1.0\n',
  },
  {
    name: 'created timestamps are not written by default',
    family: {
      name: 'c_total',
      type: 'counter',
      metrics: [
        { labels: [], value: 1, counter: { value: 1, createdTimestamp: { seconds: 1700000000, nanos: 500000000 } } },
      ],
    },
    want: '# TYPE c counter\nc_total 1.0\n',
  },
  {
    name: '_created lines when asked for (counter)',
    options: { createdLines: true },
    family: {
      name: 'c_total',
      type: 'counter',
      metrics: [
        {
          labels: L({ a: 'b' }),
          value: 1,
          counter: {
            value: 1,
            exemplar: { labels: L({ t: '1' }), value: 1 },
            createdTimestamp: { seconds: 1700000000, nanos: 500000000 },
          },
        },
      ],
    },
    want: '# TYPE c counter\nc_total{a="b"} 1.0 # {t="1"} 1.0\nc_created{a="b"} 1.7000000005e+09\n',
  },
  {
    name: '_created lines when asked for (summary and histogram)',
    options: { createdLines: true },
    family: {
      name: 's',
      type: 'summary',
      metrics: [
        {
          labels: [],
          summary: { sampleCount: 1, sampleSum: 1, quantiles: [], createdTimestamp: { seconds: 12, nanos: 0 } },
        },
      ],
    },
    want: '# TYPE s summary\ns_sum 1.0\ns_count 1\ns_created 12.0\n',
  },
  {
    name: '_created after _count of a histogram',
    options: { createdLines: true },
    family: {
      name: 'h',
      type: 'histogram',
      metrics: [
        {
          labels: [],
          histogram: { sampleCount: 0, sampleSum: 0, buckets: [], createdTimestamp: { seconds: 1, nanos: 1 } },
        },
      ],
    },
    want: '# TYPE h histogram\nh_bucket{le="+Inf"} 0\nh_sum 0.0\nh_count 0\nh_created 1.000000001\n',
  },
  {
    name: 'no _created for a counter without _total (it is unknown)',
    options: { createdLines: true },
    family: {
      name: 'c',
      type: 'counter',
      metrics: [{ labels: [], value: 1, counter: { value: 1, createdTimestamp: { seconds: 1, nanos: 0 } } }],
    },
    want: '# TYPE c unknown\nc 1.0\n',
  },
  {
    name: 'gauge histogram with _gsum and _gcount',
    options: { createdLines: true },
    family: {
      name: 'q',
      help: 'Queue.',
      type: 'gaugehistogram',
      metrics: [
        {
          labels: [],
          histogram: {
            sampleCount: 5,
            sampleSum: 7,
            buckets: [{ upperBound: 1, cumulativeCount: 4 }],
            createdTimestamp: { seconds: 1, nanos: 0 },
          },
        },
      ],
    },
    want: '# HELP q Queue.\n# TYPE q gaugehistogram\nq_bucket{le="1.0"} 4\nq_bucket{le="+Inf"} 5\nq_gsum 7.0\nq_gcount 5\n',
  },
  {
    name: 'native histogram: only the classic part, as in the text format',
    family: {
      name: 'n',
      type: 'histogram',
      metrics: [
        {
          labels: [],
          histogram: {
            sampleCount: 3,
            sampleSum: 1.5,
            buckets: [],
            schema: 3,
            zeroThreshold: 1e-128,
            zeroCount: 1,
            positiveSpans: [{ offset: 0, length: 1 }],
            positiveDeltas: [2],
          },
        },
      ],
    },
    want: '# TYPE n histogram\nn_bucket{le="+Inf"} 3\nn_sum 1.5\nn_count 3\n',
  },
  {
    name: 'unknown type number renders as unknown',
    family: { name: 'w', type: 'untyped', typeNumber: 9, metrics: [{ labels: [], value: 1 }] },
    want: '# TYPE w unknown\nw 1.0\n',
  },
  {
    name: 'names outside the legacy character set are quoted',
    family: {
      name: 'my.metric',
      help: 'h',
      type: 'gauge',
      metrics: [
        { labels: L({ 'a.b': 'v', c: 'd' }), value: 1 },
        { labels: [], value: 2 },
      ],
    },
    want: '# HELP "my.metric" h\n# TYPE "my.metric" gauge\n{"my.metric","a.b"="v",c="d"} 1.0\n{"my.metric"} 2.0\n',
  },
  {
    name: 'a family without metrics has its metadata only',
    go: true,
    family: { name: 'empty', help: 'nothing', type: 'gauge', metrics: [] },
    want: '# HELP empty nothing\n# TYPE empty gauge\n',
  },
  {
    name: 'series keep the order given',
    go: true,
    family: {
      name: 'g',
      type: 'gauge',
      metrics: [
        { labels: L({ a: 'z' }), value: 1 },
        { labels: L({ a: 'a' }), value: 2 },
      ],
    },
    want: '# TYPE g gauge\ng{a="z"} 1.0\ng{a="a"} 2.0\n',
  },
];

for (const c of renderCases) {
  test(`render: ${c.name}`, () => assert.equal(renderOpenMetricsFamily(c.family, c.options), c.want));
}

test('formatOpenMetricsFloat', () => {
  const cases: Array<[number, string]> = [
    [0, '0.0'],
    [-0, '0.0'],
    [1, '1.0'],
    [-1, '-1.0'],
    [2, '2.0'],
    [0.1, '0.1'],
    [1e6, '1e+06'],
    [123456, '123456.0'],
    [1.5e-7, '1.5e-07'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [1.7000000005e9, '1.7000000005e+09'],
  ];
  for (const [v, s] of cases) assert.equal(formatOpenMetricsFloat(v), s, String(v));
});

test('renderOpenMetrics ends the exposition with # EOF', () => {
  assert.equal(OPENMETRICS_EOF, '# EOF\n');
  assert.equal(OPENMETRICS_CONTENT_TYPE, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  assert.equal(renderOpenMetrics([]), '# EOF\n');
  const fams: MetricFamily[] = [
    { name: 'a', type: 'gauge', metrics: [{ labels: [], value: 1 }] },
    { name: 'b_total', type: 'counter', metrics: [{ labels: [], value: 2 }] },
  ];
  assert.equal(renderOpenMetrics(fams), '# TYPE a gauge\na 1.0\n# TYPE b counter\nb_total 2.0\n# EOF\n');
});

/** Drops what the OpenMetrics text cannot carry, to compare a family before and after a round trip. */
function comparable(mf: MetricFamily): MetricFamily {
  const metrics = mf.metrics.map((m): Metric => {
    const out: Metric = { ...m };
    if (out.histogram !== undefined && !out.histogram.buckets.some((b) => b.upperBound === Infinity)) {
      out.histogram = {
        ...out.histogram,
        buckets: [...out.histogram.buckets, { upperBound: Infinity, cumulativeCount: out.histogram.sampleCount }],
      };
    }
    return out;
  });
  return { ...mf, metrics };
}

test('what the renderer writes, the parser reads back (created lines on)', () => {
  const families: MetricFamily[] = [
    {
      name: 'req_seconds_total',
      help: 'Requests "in" \\ seconds\n.',
      unit: 'seconds',
      type: 'counter',
      metrics: [
        {
          labels: L({ code: '200', path: '/a b' }),
          value: 12.5,
          counter: {
            value: 12.5,
            exemplar: { labels: L({ trace: 'x' }), value: 0.5, timestamp: { seconds: 1700000000, nanos: 500000000 } },
            createdTimestamp: { seconds: 1600000000, nanos: 0 },
          },
        },
      ],
    },
    {
      name: 'temp',
      help: 'T.',
      type: 'gauge',
      metrics: [
        { labels: L({ room: 'a' }), value: -3.5 },
        { labels: L({ room: 'b' }), value: NaN },
      ],
    },
    { name: 'other', type: 'untyped', metrics: [{ labels: [], value: 1e300 }] },
    {
      name: 'lat',
      type: 'histogram',
      metrics: [
        {
          labels: L({ m: 'x' }),
          histogram: {
            sampleCount: 3,
            sampleSum: 2.5,
            buckets: [
              { upperBound: 0.5, cumulativeCount: 1, exemplar: { labels: L({ t: '1' }), value: 0.2 } },
              { upperBound: 2, cumulativeCount: 3 },
            ],
            createdTimestamp: { seconds: 1600000000, nanos: 1000 },
          },
        },
      ],
    },
    {
      name: 'sz',
      type: 'summary',
      metrics: [
        {
          labels: [],
          summary: {
            sampleCount: 2,
            sampleSum: 3,
            quantiles: [
              { quantile: 0.5, value: 1 },
              { quantile: 0.9, value: 2 },
            ],
            createdTimestamp: { seconds: 5, nanos: 0 },
          },
        },
      ],
    },
    {
      name: 'q',
      type: 'gaugehistogram',
      metrics: [
        { labels: [], histogram: { sampleCount: 2, sampleSum: 1, buckets: [{ upperBound: 1, cumulativeCount: 2 }] } },
      ],
    },
  ];
  const text = renderOpenMetrics(families, { createdLines: true });
  assert.deepEqual(parseOpenMetrics(text), families.map(comparable));
});
