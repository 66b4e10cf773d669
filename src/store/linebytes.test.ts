import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Metric, MetricType } from '../model.js';
import { byteString } from '../lib/gostring.js';
import { seriesText } from '../lib/textformat.js';
import { LineBytes } from './linebytes.js';

const lp = (name: string, value: string) => ({ name, value });

// Each written as the string path writes it: the plain ASCII form and every fallback.
const cases: Array<[string, MetricType, Metric]> = [
  ['no labels', 'gauge', { labels: [], value: 1.5 }],
  ['labels', 'counter', { labels: [lp('a', 'x'), lp('b', '')], value: 3 }],
  ['escapes in a value', 'gauge', { labels: [lp('v', 'q"\\\n"x\\')], value: 1 }],
  ['NaN, infinities, -0, exponents', 'untyped', { labels: [lp('k', 'nan')], value: NaN }],
  ['+Inf', 'gauge', { labels: [], value: Infinity }],
  ['-Inf', 'gauge', { labels: [], value: -Infinity }],
  ['-0', 'gauge', { labels: [], value: -0 }],
  ['large', 'gauge', { labels: [], value: 1.5e300 }],
  ['small', 'gauge', { labels: [], value: -2.5e-7 }],
  ['no value (protobuf)', 'gauge', { labels: [lp('a', '1')] }],
  ['UTF-8 in a value', 'gauge', { labels: [lp('v', 'ünï 日本 🎉')], value: 2 }],
  ['lone surrogate in a value', 'gauge', { labels: [lp('v', 'a\udc80b')], value: 2 }],
  ['UTF-8 in a label name', 'gauge', { labels: [lp('nämé', '1')], value: 2 }],
  ['timestamp', 'gauge', { labels: [lp('a', '1')], value: 2, timestampMs: 1700000000000 }],
  [
    'summary',
    'summary',
    { labels: [lp('a', '1')], summary: { sampleCount: 2, sampleSum: 3, quantiles: [{ quantile: 0.5, value: 1 }] } },
  ],
  [
    'histogram',
    'histogram',
    {
      labels: [],
      histogram: { sampleCount: 2, sampleSum: 3, buckets: [{ upperBound: Infinity, cumulativeCount: 2 }] },
    },
  ],
  [
    'summary without labels, several quantiles, odd numbers',
    'summary',
    {
      labels: [],
      summary: {
        sampleCount: 2 ** 53 - 1,
        sampleSum: -1.5e-7,
        quantiles: [
          { quantile: 0.5, value: NaN },
          { quantile: 0.99, value: Infinity },
          { quantile: 1e-5, value: -0 },
        ],
      },
    },
  ],
  [
    'summary without quantiles',
    'summary',
    { labels: [lp('a', 'x"y')], summary: { sampleCount: 0, sampleSum: 0, quantiles: [] } },
  ],
  [
    'histogram with labels to escape, without its +Inf bucket',
    'histogram',
    {
      labels: [lp('a', 'q\\"'), lp('b', 'line\nbreak')],
      histogram: {
        sampleCount: 7,
        sampleSum: 1e21,
        buckets: [
          { upperBound: 0.005, cumulativeCount: 1 },
          { upperBound: 2.5e6, cumulativeCount: 7 },
        ],
      },
    },
  ],
  [
    'gauge histogram',
    'gaugehistogram',
    {
      labels: [lp('a', '1')],
      histogram: { sampleCount: 1, sampleSum: 1, buckets: [{ upperBound: -Infinity, cumulativeCount: 1 }] },
    },
  ],
  [
    'histogram, UTF-8 in a value',
    'histogram',
    {
      labels: [lp('v', 'é')],
      histogram: { sampleCount: 1, sampleSum: 1, buckets: [{ upperBound: 1, cumulativeCount: 1 }] },
    },
  ],
  [
    'summary, UTF-8 in a label name',
    'summary',
    { labels: [lp('ñ', '1')], summary: { sampleCount: 1, sampleSum: 1, quantiles: [{ quantile: 0.5, value: 1 }] } },
  ],
  ['summary type, a plain value', 'summary', { labels: [lp('a', '1')], value: 4 }],
  [
    'gauge type, a summary',
    'gauge',
    { labels: [], summary: { sampleCount: 1, sampleSum: 1, quantiles: [{ quantile: 0.5, value: 1 }] }, value: 2 },
  ],
  [
    'histogram with a timestamp',
    'histogram',
    {
      labels: [lp('a', '1')],
      timestampMs: 5,
      histogram: { sampleCount: 1, sampleSum: 1, buckets: [{ upperBound: 1, cumulativeCount: 1 }] },
    },
  ],
];

for (const [what, type, m] of cases) {
  test(`LineBytes: ${what}, as the string path`, () => {
    const w = new LineBytes();
    w.series('fam_name', type, m);
    assert.equal(w.take(), byteString(seriesText('fam_name', type, m)));
  });
}

test('LineBytes: a UTF-8 family name takes the string path', () => {
  const w = new LineBytes();
  const m: Metric = { labels: [lp('a', '"')], value: 1 };
  w.series('näme', 'gauge', m);
  assert.equal(w.take(), byteString(seriesText('näme', 'gauge', m)));
});

test('LineBytes: many series, grown past its first buffer, taken in chunks', () => {
  const w = new LineBytes();
  let want = '';
  let got = '';
  for (let i = 0; i < 5000; i++) {
    const m: Metric = {
      labels: [lp('i', `${i}`.repeat(i % 7)), lp('w', i % 97 === 0 ? 'é'.repeat(50) : 'x')],
      value: i / 3,
    };
    want += byteString(seriesText('m', 'gauge', m));
    w.series('m', 'gauge', m);
    if (i % 1000 === 999) got += w.take();
  }
  const long: Metric = { labels: [lp('big', '\\'.repeat(100_000))], value: 1 };
  w.series('m', 'gauge', long);
  want += byteString(seriesText('m', 'gauge', long));
  got += w.take();
  assert.equal(got, want);
  assert.equal(w.take(), '');
});

test('LineBytes: summaries and histograms among plain series, one chunk, a UTF-8 one in the middle', () => {
  const w = new LineBytes();
  let want = '';
  for (let i = 0; i < 300; i++) {
    const labels = i % 5 === 0 ? [] : [lp('i', String(i)), lp('z', i % 50 === 7 ? 'ü' : 'v"')];
    const buckets = Array.from({ length: i % 12 }, (_, b) => ({
      upperBound: b === 10 ? Infinity : 2 ** b / 7,
      cumulativeCount: b * i,
    }));
    const quantiles = Array.from({ length: i % 4 }, (_, q) => ({ quantile: q / 4, value: i / (q + 1) }));
    const [type, m]: [MetricType, Metric] =
      i % 3 === 0
        ? ['histogram', { labels, histogram: { sampleCount: i, sampleSum: i / 3, buckets } }]
        : i % 3 === 1
          ? ['summary', { labels, summary: { sampleCount: i, sampleSum: -i, quantiles } }]
          : ['gauge', { labels, value: i * 1e5 }];
    want += byteString(seriesText('fam', type, m));
    w.series('fam', type, m);
  }
  assert.equal(w.take(), want);
});
