// The scrape cache kept up to date push by push must show exactly what a cache built from scratch
// shows, and what rendering the merged families shows (an independent path: unpack, sort, render).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { MetricFamily, MetricType } from '../model.js';
import { MemoryStore } from '../store/memory.js';
import { ScrapeCache } from './scrape.js';
import { byteString } from '../lib/gostring.js';
import { familyText } from './text.js';

type Op =
  | {
      kind: 'write';
      group: number;
      replace: boolean;
      check: boolean;
      families: Array<{ name: string; type: MetricType; values: string[] }>;
    }
  | { kind: 'delete'; group: number }
  | { kind: 'scrape' };

const arbFamily = fc.record({
  name: fc.constantFrom('a', 'b', 'c_total', 'd'),
  type: fc.constantFrom<MetricType>('gauge', 'gauge', 'counter', 'summary', 'histogram'),
  // Label values that sort before, between and after the grouping values, so runs sometimes interleave.
  values: fc.array(fc.constantFrom('', '0', 'g1', 'g3x', 'z', 'ü', 'a"b', 'n\nl', 'b\\s'), { maxLength: 3 }),
});

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      group: fc.nat(5),
      replace: fc.boolean(),
      check: fc.boolean(),
      families: fc.array(arbFamily, { maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), group: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'scrape' as const }) },
);

function family(f: { name: string; type: MetricType; values: string[] }): MetricFamily {
  const metrics = [...new Set(f.values)].map((v) => {
    const labels = [{ name: 'k', value: v }];
    if (f.type === 'summary')
      return { labels, summary: { sampleCount: 2, sampleSum: 1, quantiles: [{ quantile: 0.5, value: 1 }] } };
    if (f.type === 'histogram')
      return { labels, histogram: { sampleCount: 2, sampleSum: 1, buckets: [{ upperBound: 1, cumulativeCount: 1 }] } };
    return { labels, value: v.length };
  });
  return { name: f.name, help: `help of ${f.name}`, type: f.type, metrics };
}

test('the cache kept up to date equals a fresh cache and the merged families, after any pushes and deletes', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 40 }), async (ops) => {
      const store = new MemoryStore();
      const cache = new ScrapeCache(store);
      let clock = 1_000_000;
      const check = () => {
        const kept = cache.render([]).toString('latin1');
        const fresh = new ScrapeCache(store);
        assert.equal(kept, fresh.render([]).toString('latin1'));
        fresh.close();
        assert.equal(
          kept,
          cache
            .families([])
            .map((mf) => byteString(familyText(mf)))
            .join(''),
        );
      };
      for (const op of ops) {
        const labels = { job: 'j', instance: `g${op.kind === 'scrape' ? 0 : op.group}` };
        if (op.kind === 'write') {
          clock += 1000;
          await store.write({
            labels,
            families: op.families.map(family),
            replace: op.replace,
            check: op.check,
            timestampMs: clock,
          });
        } else if (op.kind === 'delete') await store.delete(labels);
        else check();
      }
      check();
      cache.close();
    }),
    { numRuns: 300 },
  );
});

test('a push re-reads only the pushed group', async () => {
  const store = new MemoryStore();
  const cache = new ScrapeCache(store);
  const body = (v: number): MetricFamily[] => [{ name: 'x', type: 'gauge', metrics: [{ labels: [], value: v }] }];
  for (let i = 0; i < 100; i++)
    await store.write({ labels: { job: 'j', instance: `h${i}` }, families: body(i), replace: true, check: true });
  cache.render([]);
  const group = store.group.bind(store);
  let reads = 0;
  store.group = (id: string) => {
    reads++;
    return group(id);
  };
  await store.write({ labels: { job: 'j', instance: 'h5' }, families: body(500), replace: true, check: true });
  const text = cache.render([]).toString();
  assert.match(text, /x\{instance="h5",job="j"\} 500\n/);
  assert.equal(reads, 2, 'x and push_time_seconds of the pushed group only');
});
