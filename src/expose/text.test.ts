import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricFamily } from '../model.js';
import { MemoryStore } from '../store/memory.js';
import { escapeHelp, escapeLabelValue } from '../lib/textformat.js';
import { familyText } from './text.js';
import { ScrapeCache } from './scrape.js';

const L = (o: Record<string, string>) => Object.entries(o).map(([name, value]) => ({ name, value }));

const families: Array<[string, MetricFamily, string]> = [
  [
    'untyped without help',
    { name: 'u', type: 'untyped', metrics: [{ labels: [], value: 3 }] },
    '# TYPE u untyped\nu 3\n',
  ],
  [
    'empty help is printed',
    { name: 'u', help: '', type: 'gauge', metrics: [{ labels: [], value: 1 }] },
    '# HELP u \n# TYPE u gauge\nu 1\n',
  ],
  [
    'help escapes',
    { name: 'g', help: 'a\\b\nc"d', type: 'gauge', metrics: [] },
    '# HELP g a\\\\b\\nc"d\n# TYPE g gauge\n',
  ],
  [
    'label escapes and sorting by value',
    {
      name: 'g',
      type: 'gauge',
      metrics: [
        { labels: L({ a: 'z' }), value: 1 },
        { labels: L({ a: 'x"\\\n' }), value: 2 },
      ],
    },
    '# TYPE g gauge\ng{a="x\\"\\\\\\n"} 2\ng{a="z"} 1\n',
  ],
  [
    'fewer labels sort first; values compare position by position',
    {
      name: 'g',
      type: 'gauge',
      metrics: [
        { labels: L({ a: 'x', b: '2' }), value: 1 },
        { labels: L({ a: 'x y', b: '1' }), value: 2 },
        { labels: L({ a: 'x', b: '10' }), value: 3 },
        { labels: L({ a: 'w' }), value: 4 },
      ],
    },
    '# TYPE g gauge\ng{a="w"} 4\ng{a="x",b="10"} 3\ng{a="x",b="2"} 1\ng{a="x y",b="1"} 2\n',
  ],
  [
    'special values',
    {
      name: 'g',
      type: 'gauge',
      metrics: [
        { labels: L({ a: '1' }), value: NaN },
        { labels: L({ a: '2' }), value: -Infinity },
        { labels: L({ a: '3' }), value: 1e-9 },
      ],
    },
    '# TYPE g gauge\ng{a="1"} NaN\ng{a="2"} -Inf\ng{a="3"} 1e-09\n',
  ],
  [
    'timestamp',
    { name: 'c', type: 'counter', metrics: [{ labels: [], value: 1, timestampMs: 1234 }] },
    '# TYPE c counter\nc 1 1234\n',
  ],
  [
    'summary',
    {
      name: 's',
      type: 'summary',
      metrics: [
        {
          labels: L({ job: 'j' }),
          summary: {
            sampleCount: 3,
            sampleSum: 2.5,
            quantiles: [
              { quantile: 0.5, value: 1 },
              { quantile: 0.99, value: 2 },
            ],
          },
        },
      ],
    },
    '# TYPE s summary\ns{job="j",quantile="0.5"} 1\ns{job="j",quantile="0.99"} 2\ns_sum{job="j"} 2.5\ns_count{job="j"} 3\n',
  ],
  [
    'histogram gets +Inf bucket',
    {
      name: 'h',
      type: 'histogram',
      metrics: [
        {
          labels: [],
          histogram: { sampleCount: 4, sampleSum: 1e6, buckets: [{ upperBound: 0.1, cumulativeCount: 1 }] },
        },
      ],
    },
    '# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_bucket{le="+Inf"} 4\nh_sum 1e+06\nh_count 4\n',
  ],
  [
    'counts print as floats, as the reference prints them',
    {
      name: 's',
      type: 'summary',
      metrics: [{ labels: [], summary: { sampleCount: 1234567, sampleSum: 1, quantiles: [] } }],
    },
    '# TYPE s summary\ns_sum 1\ns_count 1.234567e+06\n',
  ],
  [
    'histogram with explicit +Inf',
    {
      name: 'h',
      type: 'histogram',
      metrics: [
        {
          labels: L({ a: 'b' }),
          histogram: { sampleCount: 4, sampleSum: 0, buckets: [{ upperBound: Infinity, cumulativeCount: 4 }] },
        },
      ],
    },
    '# TYPE h histogram\nh_bucket{a="b",le="+Inf"} 4\nh_sum{a="b"} 0\nh_count{a="b"} 4\n',
  ],
];
for (const [name, mf, want] of families) test(`render: ${name}`, async () => assert.equal(familyText(mf), want));

test('escaping leaves plain strings alone', async () => {
  assert.equal(escapeLabelValue('plain'), 'plain');
  assert.equal(escapeHelp('plain'), 'plain');
});

test('scrape merges a family across groups, re-rendering only what changed', async () => {
  const store = new MemoryStore();
  const cache = new ScrapeCache(store);
  const push = (job: string, v: number) =>
    store.write({
      labels: { job },
      families: [{ name: 'x', type: 'gauge', help: `from ${job}`, metrics: [{ labels: [], value: v }] }],
      replace: true,
      check: true,
      timestampMs: 0,
    });
  await push('b', 2);
  await push('a', 1);
  const text = () =>
    cache
      .render([])
      .toString()
      .split('\n')
      .filter((l) => !l.startsWith('push_') && !l.includes(' push_'))
      .join('\n');
  assert.equal(text(), '# HELP x from a\n# TYPE x gauge\nx{instance="",job="a"} 1\nx{instance="",job="b"} 2\n');
  await push('a', 5);
  assert.match(text(), /x\{instance="",job="a"\} 5\n/);
  await store.delete({ job: 'a' });
  assert.equal(text(), '# HELP x from b\n# TYPE x gauge\nx{instance="",job="b"} 2\n');
});

test('scrape places the gateway own families among the pushed ones by name', async () => {
  const store = new MemoryStore();
  const cache = new ScrapeCache(store);
  await store.write({
    labels: { job: 'j' },
    families: [{ name: 'b', type: 'gauge', metrics: [{ labels: [], value: 1 }] }],
    replace: true,
    check: true,
    timestampMs: 0,
  });
  const own: MetricFamily[] = [
    { name: 'a_own', type: 'gauge', help: 'h', metrics: [{ labels: [], value: 7 }] },
    { name: 'b', type: 'gauge', metrics: [{ labels: [], value: 0 }] },
  ];
  const names = cache
    .render(own)
    .toString()
    .split('\n')
    .filter((l) => l.startsWith('# TYPE'))
    .map((l) => l.split(' ')[2]);
  assert.deepEqual(names, ['a_own', 'b', 'push_failure_time_seconds', 'push_time_seconds']);
  assert.match(cache.render(own).toString(), /# TYPE b gauge\nb 0\nb\{instance="",job="j"\} 1\n/);
});
