import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabelPair, Metric, MetricType } from '../model.js';
import {
  compareSortKeys,
  escapeHelp,
  escapeLabelValue,
  headerText,
  isLegacyName,
  seriesIdText,
  seriesSortKey,
  seriesText,
  textName,
} from './textformat.js';

const L = (o: Record<string, string>): LabelPair[] => Object.entries(o).map(([name, value]) => ({ name, value }));

// [input, expfmt's label value escaping, its HELP escaping]: \, newline and (values only) ".
const escapes: Array<[string, string, string]> = [
  ['plain', 'plain', 'plain'],
  ['a\\b', 'a\\\\b', 'a\\\\b'],
  ['a\nb', 'a\\nb', 'a\\nb'],
  ['a"b', 'a\\"b', 'a"b'],
  ['tab\there\r', 'tab\there\r', 'tab\there\r'],
];

for (const [s, value, help] of escapes) {
  test(`escaping ${JSON.stringify(s)}`, () => {
    assert.equal(escapeLabelValue(s), value);
    assert.equal(escapeHelp(s), help);
  });
}

// [type, metric, the lines expfmt.MetricFamilyToText writes for it in a family named "x"].
const series: Array<[MetricType, Metric, string]> = [
  ['untyped', { labels: [], value: 1 }, 'x 1\n'],
  ['gauge', { labels: L({ a: '1', b: 'q"' }), value: -0 }, 'x{a="1",b="q\\""} 0\n'],
  ['counter', { labels: L({ a: '1' }), value: 1234567, timestampMs: 5 }, 'x{a="1"} 1.234567e+06 5\n'],
  [
    'summary',
    { labels: L({ a: '1' }), summary: { sampleCount: 2, sampleSum: 0.5, quantiles: [{ quantile: 0.5, value: NaN }] } },
    'x{a="1",quantile="0.5"} NaN\nx_sum{a="1"} 0.5\nx_count{a="1"} 2\n',
  ],
  [
    'histogram',
    { labels: [], histogram: { sampleCount: 3, sampleSum: 1e-7, buckets: [{ upperBound: 1, cumulativeCount: 1 }] } },
    'x_bucket{le="1"} 1\nx_bucket{le="+Inf"} 3\nx_sum 1e-07\nx_count 3\n',
  ],
  [
    'gaugehistogram',
    {
      labels: L({ a: '1' }),
      histogram: { sampleCount: 1, sampleSum: 2, buckets: [{ upperBound: Infinity, cumulativeCount: 1 }] },
    },
    'x_bucket{a="1",le="+Inf"} 1\nx_sum{a="1"} 2\nx_count{a="1"} 1\n',
  ],
];

for (const [type, m, want] of series) {
  test(`seriesText of a ${type}`, () => {
    assert.equal(seriesText('x', type, m), want);
    // The start of the _count line (or the only line) up to the value identifies the series.
    const id = seriesIdText('x', type, m.labels);
    assert.ok(
      want.split('\n').some((line) => line.startsWith(id)),
      `${JSON.stringify(id)} starts a line`,
    );
  });
}

test('headerText: HELP escaped and only when set; gauge histograms are typed histogram', () => {
  assert.equal(headerText('x', undefined, 'untyped'), '# TYPE x untyped\n');
  assert.equal(headerText('x', '', 'gauge'), '# HELP x \n# TYPE x gauge\n');
  assert.equal(headerText('x', 'a\\b\n"', 'counter'), '# HELP x a\\\\b\\n"\n# TYPE x counter\n');
  assert.equal(headerText('x', 'h', 'gaugehistogram'), '# HELP x h\n# TYPE x histogram\n');
});

test('seriesSortKey orders as client_golang: fewer labels first, then values position by position', () => {
  const keys = [L({ a: 'x y', b: '1' }), L({ a: 'x', b: '2' }), L({ a: 'w' }), L({ a: 'x', b: '10' })].map(
    seriesSortKey,
  );
  const order = [...keys].sort().map((k) => keys.indexOf(k));
  assert.deepEqual(order, [2, 3, 1, 0]);
});

// [name, model.IsValidLegacyMetricName, how expfmt's writeName writes it].
const names: Array<[string, boolean, string]> = [
  ['a', true, 'a'],
  ['a:b_c9', true, 'a:b_c9'],
  ['_x', true, '_x'],
  ['1a', false, '"1a"'],
  ['', false, '""'],
  ['my.metric', false, '"my.metric"'],
  ['q"\n\\', false, '"q\\"\\n\\\\"'],
  ['\u00e4', false, '"\u00e4"'],
];

for (const [name, legacy, written] of names) {
  test(`name ${JSON.stringify(name)}`, () => {
    assert.equal(isLegacyName(name), legacy);
    assert.equal(textName(name), written);
  });
}

test('compareSortKeys orders as the sort keys do, values with \\0 and values that start others included', () => {
  const values = ['', 'a', 'b', 'ab', 'a\0', 'a\0b', '\0', '\0a', 'b\0a', 'é', '\0\0'];
  let seed = 7;
  const random = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) % n;
  const labels = (): LabelPair[] =>
    Array.from({ length: 1 + random(3) }, (_, i) => ({ name: `l${i}`, value: values[random(values.length)] }));
  for (let round = 0; round < 3000; round++) {
    const x = labels();
    const y = random(4) === 0 ? x.map((p) => ({ ...p })) : labels();
    const kx = seriesSortKey(x);
    const ky = seriesSortKey(y);
    assert.equal(Math.sign(compareSortKeys(x, y)), kx < ky ? -1 : kx > ky ? 1 : 0, JSON.stringify([x, y]));
  }
});
