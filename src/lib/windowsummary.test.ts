import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WindowSummary } from './windowsummary.js';

function summary(clock: { ms: number }, samplesPerBucket?: number) {
  return new WindowSummary('d_seconds', 'Durations.', 'method', {
    quantiles: [0.1, 0.5, 0.9],
    maxAgeMs: 600_000,
    ageBuckets: 5,
    samplesPerBucket,
    now: () => clock.ms,
  });
}

function quantiles(s: WindowSummary, labelValue: string): number[] {
  const m = s.family().metrics.find((x) => x.labels[0].value === labelValue);
  return m!.summary!.quantiles.map((q) => q.value);
}

test('exact quantiles, count and sum per label value, series in label order', () => {
  const clock = { ms: 0 };
  const s = summary(clock);
  for (let i = 1; i <= 100; i++) s.observe('put', i);
  s.observe('post', 7);
  const mf = s.family();
  assert.equal(mf.type, 'summary');
  assert.deepEqual(
    mf.metrics.map((m) => [m.labels[0].value, m.summary!.sampleCount, m.summary!.sampleSum]),
    [
      ['post', 1, 7],
      ['put', 100, 5050],
    ],
  );
  assert.deepEqual(quantiles(s, 'put'), [10, 50, 90]);
  assert.deepEqual(quantiles(s, 'post'), [7, 7, 7]);
});

test('observations leave the window after maxAge; count and sum stay; an empty window is NaN', () => {
  const clock = { ms: 0 };
  const s = summary(clock);
  for (let i = 0; i < 10; i++) s.observe('put', 1000);
  clock.ms = 300_000;
  for (let i = 0; i < 30; i++) s.observe('put', 1);
  assert.deepEqual(quantiles(s, 'put'), [1, 1, 1000]);
  clock.ms = 600_000; // the first bucket is 10 minutes old
  assert.deepEqual(quantiles(s, 'put'), [1, 1, 1]);
  clock.ms = 900_000;
  assert.ok(quantiles(s, 'put').every(Number.isNaN));
  const m = s.family().metrics[0].summary!;
  assert.equal(m.sampleCount, 40);
  assert.equal(m.sampleSum, 10_030);
});

test('past the sample size, a bucket keeps a uniform sample weighted by what it saw', () => {
  const clock = { ms: 0 };
  const s = summary(clock, 100);
  for (let i = 0; i < 100_000; i++) s.observe('put', i % 1000);
  const [q1, q5, q9] = quantiles(s, 'put');
  // 100 samples of a uniform 0..999: the sample quantiles are near the true ones.
  assert.ok(Math.abs(q1 - 100) < 150, `0.1 quantile ${q1}`);
  assert.ok(Math.abs(q5 - 500) < 200, `0.5 quantile ${q5}`);
  assert.ok(Math.abs(q9 - 900) < 150, `0.9 quantile ${q9}`);
  // A later bucket with few observations does not outweigh the sampled one.
  clock.ms = 130_000;
  for (let i = 0; i < 10; i++) s.observe('put', 5000);
  assert.ok(quantiles(s, 'put')[2] < 1000);
  assert.equal(s.family().metrics[0].summary!.sampleCount, 100_010);
});

test('quantiles over buckets of different weights, observed between scrapes, match the weighted ranks', () => {
  const clock = { ms: 0 };
  let seed = 7;
  const random = () => ((seed = (seed * 48271) % 2147483647) - 1) / 2147483646;
  const s = new WindowSummary('d_seconds', 'Durations.', 'method', {
    quantiles: [0.9, 0.01, 0.5, 0.99],
    maxAgeMs: 500,
    ageBuckets: 5,
    samplesPerBucket: 50,
    now: () => clock.ms,
    random,
  });
  // Every value the summary was given per 100 ms bucket (observed every 10 ms, so its buckets
  // start at each 100 ms).
  const seen: number[][] = [];
  let exact = 0;
  for (let t = 0; t < 1300; t += 10) {
    clock.ms = t;
    // From 600 to 700 ms, more than a bucket keeps.
    const n = 1 + Math.floor(random() * (t >= 600 && t < 700 ? 20 : 4));
    for (let i = 0; i < n; i++) {
      const v = Math.round(random() * 1000) / 10;
      s.observe('put', v);
      (seen[Math.floor(t / 100)] ??= []).push(v);
    }
    // Scraped now and then between observations: what was computed before must not linger.
    if (t % 30 === 0) {
      const live = seen.slice(Math.max(0, Math.floor(t / 100) - 4)).filter((b) => b !== undefined);
      const got = quantiles(s, 'put');
      // Each bucket holds at most 50 samples of what it saw, so a quantile is bracketed by the
      // weighted ranks of all values allowing for the sampling: check the unsampled case exactly.
      if (live.every((b) => b.length <= 50)) {
        const all = live.flat().sort((a, b) => a - b);
        const want = [0.9, 0.01, 0.5, 0.99].map((q) => all[Math.max(0, Math.ceil(q * all.length) - 1)]);
        assert.deepEqual(got, want, `at ${t} ms`);
        exact++;
      } else {
        assert.ok(
          got.every((v) => live.flat().includes(v)),
          `at ${t} ms: ${got} are observed values`,
        );
      }
    }
  }
  assert.ok(exact >= 10, `${exact} scrapes checked exactly`);
});
