import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricFamily } from '../model.js';
import { parseText } from '../parse/text.js';
import { pack, unpack } from './compact.js';

const packs = (mf: MetricFamily) => pack(mf) !== undefined;
const back = (mf: MetricFamily) => unpack(mf.name, mf.help, mf.type, pack(mf)!);

// Families whose text lines hold everything: packed, and rebuilt equal to what was pushed.
const exact: Array<[string, string]> = [
  ['gauge, labels, push order kept', '# HELP g h\n# TYPE g gauge\ng{s="b"} 2\ng{s="a"} 1\ng{s="c"} 0.25\n'],
  ['untyped without HELP', 'u{x="1"} NaN\nu{x="2"} +Inf\nu{x="3"} -Inf\n'],
  ['empty HELP', '# HELP e \n# TYPE e counter\ne 1.5e+300\n'],
  ['escapes in HELP and values', '# HELP h a\\\\b\\nc\n# TYPE h gauge\nh{v="q\\"\\\\\\n"} 1\n'],
  ['non-ASCII', '# HELP n ünï\n# TYPE n gauge\nn{v="日本"} 1\n'],
  ['same values under other names keep their order', 'o{b="1"} 1\no{a="1"} 2\n'],
  [
    'summary',
    '# TYPE s summary\ns{quantile="0.5"} 1\ns{quantile="0.9"} 2\ns_sum 3\ns_count 4\ns{l="x",quantile="0.5"} 5\ns_sum{l="x"} 6\ns_count{l="x"} 7\n',
  ],
  ['timestamps (refused in pushes, but text holds them)', 't{a="1"} 1 5\nt{a="2"} 2 -7\n'],
  ['histogram with +Inf', '# TYPE hi histogram\nhi_bucket{le="1"} 1\nhi_bucket{le="+Inf"} 2\nhi_sum 3\nhi_count 2\n'],
];

for (const [name, text] of exact) {
  test(`pack: ${name}`, () => {
    const [mf] = parseText(text);
    assert.ok(packs(mf));
    assert.deepEqual(back(mf), mf);
  });
}

test('pack: a family of more than 65,535 series keeps its push order', () => {
  const n = 70_000;
  const mf: MetricFamily = { name: 'big', type: 'gauge', metrics: [] };
  for (let i = 0; i < n; i++) mf.metrics.push({ labels: [{ name: 'i', value: String(n - i) }], value: i });
  const rebuilt = back(mf);
  assert.equal(rebuilt.metrics.length, n);
  assert.deepEqual(rebuilt.metrics[0], mf.metrics[0]);
  assert.deepEqual(rebuilt.metrics[n - 1], mf.metrics[n - 1]);
  assert.deepEqual(rebuilt.metrics[12345], mf.metrics[12345]);
});

// Families the text format cannot hold exactly: kept parsed.
const inexact: Array<[string, MetricFamily]> = [
  ['no series', { name: 'x', type: 'gauge', metrics: [] }],
  [
    'histogram without its +Inf bucket (client_golang protobuf)',
    {
      name: 'h',
      type: 'histogram',
      metrics: [
        { labels: [], histogram: { sampleCount: 2, sampleSum: 1, buckets: [{ upperBound: 1, cumulativeCount: 1 }] } },
      ],
    },
  ],
  [
    'native histogram',
    {
      name: 'h',
      type: 'histogram',
      metrics: [{ labels: [], histogram: { sampleCount: 1, sampleSum: 1, buckets: [], schema: 3, zeroCount: 0 } }],
    },
  ],
  [
    'created timestamp',
    {
      name: 'c',
      type: 'counter',
      metrics: [{ labels: [], value: 1, counter: { value: 1, createdTimestamp: { seconds: 1, nanos: 0 } } }],
    },
  ],
  [
    'exemplar',
    {
      name: 'c',
      type: 'counter',
      metrics: [{ labels: [], value: 1, counter: { value: 1, exemplar: { labels: [], value: 1 } } }],
    },
  ],
  [
    'value message of another type',
    { name: 'g', type: 'gauge', metrics: [{ labels: [], value: 0, counter: { value: 1 } }] },
  ],
  [
    'two value messages',
    { name: 'g', type: 'gauge', metrics: [{ labels: [], value: 1, gauge: { value: 1 }, untyped: { value: 1 } }] },
  ],
  ['value message without a value', { name: 'g', type: 'gauge', metrics: [{ labels: [], value: 0, gauge: {} }] }],
  ['unknown type number', { name: 'u', type: 'untyped', typeNumber: 9, metrics: [{ labels: [], value: 1 }] }],
  [
    'negative zero (the text format writes it as 0)',
    { name: 'z', type: 'gauge', metrics: [{ labels: [], value: -0 }] },
  ],
  ['unit', { name: 'u', type: 'gauge', unit: 'seconds', metrics: [{ labels: [], value: 1 }] }],
  [
    'gauge histogram',
    {
      name: 'gh',
      type: 'gaugehistogram',
      metrics: [
        {
          labels: [],
          histogram: { sampleCount: 1, sampleSum: 1, buckets: [{ upperBound: Infinity, cumulativeCount: 1 }] },
        },
      ],
    },
  ],
  [
    'NaN with a payload',
    {
      name: 'n',
      type: 'gauge',
      metrics: [{ labels: [], value: new Float64Array(new BigUint64Array([0x7ff8000000000001n]).buffer)[0] }],
    },
  ],
  [
    'raw invalid UTF-8 in a label value',
    { name: 'r', type: 'gauge', metrics: [{ labels: [{ name: 'l', value: '\udcff' }], value: 1 }] },
  ],
  [
    'label left out of the protobuf message',
    { name: 'l', type: 'gauge', metrics: [{ labels: [{ name: 'a', value: '', unset: ['value'] }], value: 1 }] },
  ],
  [
    'series repeated',
    {
      name: 'd',
      type: 'gauge',
      metrics: [
        { labels: [], value: 1 },
        { labels: [], value: 2 },
      ],
    },
  ],
];

for (const [name, mf] of inexact) {
  test(`not packed: ${name}`, () => {
    assert.equal(packs(mf), false);
  });
}

test('pack: a protobuf value message of the family type is the same as the value', () => {
  const mf: MetricFamily = {
    name: 'g',
    type: 'gauge',
    metrics: [{ labels: [{ name: 'a', value: 'b' }], value: 3, gauge: { value: 3 } }],
  };
  assert.ok(packs(mf));
  assert.deepEqual(back(mf).metrics[0].value, 3);
});

// pack skips the parse-back for plain families it can vouch for; whatever it packs must still
// read back exactly, for every corner of names, HELP, label values and numbers.
test('pack: whatever is packed reads back exactly (plain families, corner cases)', () => {
  const names = ['a', 'a:b', '_x', 'x_count', 'x_bucket', 'a.b', '0a', ''];
  const helps = [undefined, '', ' lead', 'trail ', '\\', '\n', 'é', '\udcc3\udca9', '\ud800', '\t', '"q"'];
  const labelNames = ['l', 'le', 'quantile', '__name__', 'a.b', '0a', '', 'z_9'];
  const values = ['', '\\', '"', '\n', '\r', '\t', '\u0000', 'é', '😀', '\ud800', '\udcff', '\udcc3\udca9', '\ufffd'];
  const numbers = [0, -0, 1, -1.5, 1e-5, 1e-7, 1e21, 1e6, 5e-324, Number.MAX_VALUE, -1e-300, NaN, Infinity, -Infinity];
  const types = ['gauge', 'counter', 'untyped'] as const;
  let packed = 0;
  let k = 0;
  const pick = <T>(xs: readonly T[], step: number): T => xs[(k * step) % xs.length];
  for (; k < 3000; k++) {
    const first = pick(labelNames, 7);
    const second = pick(labelNames, 3);
    const labels = [
      { name: first, value: pick(values, 5) },
      { name: second, value: pick(values, 11) },
    ].slice(0, k % 3);
    const mf: MetricFamily = {
      name: pick(names, 13),
      help: pick(helps, 17),
      type: pick(types, 1),
      metrics: [
        { labels, value: pick(numbers, 19) },
        { labels: [{ name: 'zz', value: pick(values, 23) }], value: pick(numbers, 29) },
      ],
    };
    if (mf.help === undefined) delete mf.help;
    const p = pack(mf);
    if (p === undefined) continue;
    packed++;
    assert.deepEqual(unpack(mf.name, mf.help, mf.type, p), mf, JSON.stringify(mf));
  }
  assert.ok(packed > 100, `only ${packed} packed`);
});

// The same for summaries and classic histograms, which pack also vouches for without parsing back.
test('pack: whatever is packed reads back exactly (summaries and histograms, corner cases)', () => {
  const labelNames = ['l', 'le', 'quantile', '__name__', '0a', 'z_9'];
  const numbers = [0, -0, 1, 7, 2.5, 1e-7, 1e21, 2 ** 53, 5e-324, -1, NaN, Infinity, -Infinity];
  const bounds = [[0.5, 0.9], [0.9, 0.5], [0.5, 0.5], [-Infinity, 1, Infinity], [1, NaN], []];
  let packed = 0;
  for (let k = 0; k < 2000; k++) {
    const pick = <T>(xs: readonly T[], step: number): T => xs[(k * step) % xs.length];
    const labels = k % 3 === 0 ? [] : [{ name: pick(labelNames, 7), value: `v${k % 5}` }];
    const b = pick(bounds, 5);
    const summary = k % 2 === 0;
    const mf: MetricFamily = summary
      ? {
          name: 's',
          type: 'summary',
          metrics: [
            {
              labels,
              summary: {
                sampleCount: pick(numbers, 3),
                sampleSum: pick(numbers, 13),
                quantiles: b.map((q, i) => ({ quantile: q, value: pick(numbers, 17 + i) })),
              },
            },
          ],
        }
      : {
          name: 'h',
          help: 'x',
          type: 'histogram',
          metrics: [
            {
              labels,
              histogram: {
                sampleCount: pick(numbers, 3),
                sampleSum: pick(numbers, 13),
                buckets: b.map((ub, i) => ({ upperBound: ub, cumulativeCount: pick(numbers, 19 + i) })),
              },
            },
          ],
        };
    const before = structuredClone(mf);
    const p = pack(mf);
    assert.deepEqual(mf, before, 'pack must not change what it packs');
    if (p === undefined) continue;
    packed++;
    assert.deepEqual(
      unpack(mf.name, mf.help, mf.type, p),
      mf,
      JSON.stringify(mf, (_, v: unknown) => String(v)),
    );
  }
  assert.ok(packed > 100, `only ${packed} packed`);
});

// pack checks each label name once per position while the series of a family share it: a name
// that differs from the one before at its position is checked again, in any series.
test('pack: whatever is packed reads back exactly (label names changing between series)', () => {
  const labelNames = ['l', 'z_9', 'le', 'quantile', 'a.b', '0a', '__name__', '', 'l'];
  let packed = 0;
  let refused = 0;
  for (let k = 0; k < 3000; k++) {
    const metrics = Array.from({ length: 2 + (k % 5) }, (_, s) => {
      const name = labelNames[(k * 7 + s * (1 + (k % 4))) % labelNames.length];
      const labels = [{ name, value: `v${s}` }];
      if (k % 3 === 0) labels.unshift({ name: 'a', value: '' });
      return { labels, value: s };
    });
    const mf: MetricFamily = { name: 'm', type: k % 2 ? 'gauge' : 'untyped', metrics };
    const p = pack(mf);
    if (p === undefined) {
      refused++;
      continue;
    }
    packed++;
    assert.deepEqual(unpack(mf.name, mf.help, mf.type, p), mf, JSON.stringify(mf));
  }
  assert.ok(packed > 200 && refused > 200, `packed ${packed}, refused ${refused}`);
});

test('pack: a family given up on (a repeated series) leaves nothing in the next one', () => {
  const repeated: MetricFamily = {
    name: 'rep',
    type: 'gauge',
    metrics: [
      { labels: [{ name: 'a', value: 'x' }], value: 1 },
      { labels: [{ name: 'a', value: 'x' }], value: 2 },
    ],
  };
  assert.equal(pack(repeated), undefined);
  const [next] = parseText('# TYPE next gauge\nnext{b="y"} 3\n');
  assert.equal(pack(next)?.text, 'next{b="y"} 3\n');
});

// The names found to pass are kept from family to family, apart by kind of bound: `le` is a fine
// label of a gauge or a summary but not of a histogram, `quantile` not of a summary.
test('pack: a label name passed in one kind of family is checked again in another (le, quantile)', () => {
  const one = (name: string, label: string, type: MetricFamily['type']): MetricFamily => {
    const labels = [{ name: label, value: 'x' }];
    if (type === 'histogram')
      return {
        name,
        type,
        metrics: [
          {
            labels,
            histogram: { sampleCount: 1, sampleSum: 1, buckets: [{ upperBound: Infinity, cumulativeCount: 1 }] },
          },
        ],
      };
    if (type === 'summary')
      return { name, type, metrics: [{ labels, summary: { sampleCount: 1, sampleSum: 1, quantiles: [] } }] };
    return { name, type, metrics: [{ labels, value: 1 }] };
  };
  const pairs: Array<[MetricFamily, MetricFamily]> = [
    [one('g', 'le', 'gauge'), one('h', 'le', 'histogram')],
    [one('s', 'le', 'summary'), one('h', 'le', 'histogram')],
    [one('g', 'quantile', 'gauge'), one('s', 'quantile', 'summary')],
    [one('h', 'quantile', 'histogram'), one('s', 'quantile', 'summary')],
  ];
  for (const [first, second] of pairs) {
    assert.ok(packs(first), `${first.type} with ${first.metrics[0].labels[0].name}`);
    assert.equal(pack(second), undefined, `${second.type} with ${second.metrics[0].labels[0].name}`);
  }
});
