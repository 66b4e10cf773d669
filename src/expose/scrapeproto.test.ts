// The protobuf and OpenMetrics scrapes assembled from kept per-group entries must be byte for byte
// the encoding of the merged families (the independent path: unpack, sort, encode everything),
// after any pushes and deletes, and equal to what a cache built from scratch sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Metric, MetricFamily, MetricType } from '../model.js';
import { MemoryStore } from '../store/memory.js';
import { ScrapeCache } from './scrape.js';
import { encodeProtobufDelimited } from './protobuf.js';
import { renderOpenMetrics } from './openmetrics.js';
import { textBytes } from '../lib/gostring.js';

interface FamilySpec {
  name: string;
  type: MetricType;
  /** Label name and value of each series; repeats allowed (stored only with the check off). */
  series: Array<[string, string]>;
  /**
   * Which protobuf-only content the series carry: none (the family is packed), exemplars, native
   * histograms, or the last series only a value whatever the type (a summary without quantiles, _sum
   * and _count lines: storable with the check off).
   */
  extra: 'none' | 'exemplar' | 'native' | 'bare';
  unit: boolean;
}

type Op =
  | { kind: 'write'; group: number; replace: boolean; check: boolean; families: FamilySpec[] }
  | { kind: 'delete'; group: number }
  | { kind: 'scrape'; own: FamilySpec[] };

const arbFamily: fc.Arbitrary<FamilySpec> = fc.record({
  name: fc.constantFrom('a', 'b', 'c_total', 'd'),
  type: fc.constantFrom<MetricType>('gauge', 'gauge', 'counter', 'untyped', 'summary', 'histogram'),
  // Series sort by label values in label name order: a label named before `instance` orders them
  // by its value, which sorts before, between or after the grouping values, so runs sometimes
  // interleave; one named after it keeps a group's series together; both give series of the same
  // sort key that differ. No label (''): in the group without an instance that shares keys with
  // the others' series labelled h.
  series: fc.array(
    fc.tuple(fc.constantFrom('h', 'k', ''), fc.constantFrom('', '0', 'g1', 'g3x', 'z', 'ü', 'a"b', 'n\nl')),
    { maxLength: 3 },
  ),
  extra: fc.constantFrom<FamilySpec['extra']>('none', 'none', 'exemplar', 'native', 'bare'),
  unit: fc.boolean(),
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
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('scrape' as const),
      // The gateway's own families: some share a pushed family's name, one never does.
      own: fc.array(
        arbFamily.map((f) => ({ ...f, name: f.name === 'd' ? 'e_own' : f.name })),
        { maxLength: 2 },
      ),
    }),
  },
);

const exemplar = { labels: [{ name: 'trace_id', value: 'abc' }], value: 0.5, timestamp: { seconds: 7, nanos: 9 } };

function metric(f: FamilySpec, [name, value]: [string, string], i: number): Metric {
  const labels = name === '' ? [] : [{ name, value }];
  if (f.extra === 'bare' && i === f.series.length - 1) return { labels, gauge: { value: i } };
  if (f.type === 'summary')
    return { labels, summary: { sampleCount: 2, sampleSum: i, quantiles: [{ quantile: 0.5, value: 1 }] } };
  if (f.type === 'histogram') {
    if (f.extra === 'native')
      return {
        labels,
        histogram: {
          sampleCount: 3,
          sampleSum: i,
          buckets: [],
          schema: 2,
          zeroThreshold: 0.001,
          zeroCount: 1,
          positiveSpans: [{ offset: -1, length: 2 }],
          positiveDeltas: [1, -1],
          exemplars: [exemplar],
        },
      };
    const bucket = { upperBound: 1, cumulativeCount: 1 };
    return {
      labels,
      histogram: { sampleCount: 2, sampleSum: i, buckets: [f.extra === 'exemplar' ? { ...bucket, exemplar } : bucket] },
    };
  }
  if (f.type === 'counter' && f.extra !== 'none') return { labels, value: i, counter: { value: i, exemplar } };
  return { labels, value: value.length + i };
}

function family(f: FamilySpec, help: string): MetricFamily {
  const mf: MetricFamily = { name: f.name, help, type: f.type, metrics: f.series.map((s, i) => metric(f, s, i)) };
  if (f.unit) mf.unit = 'seconds';
  return mf;
}

/** Own families with distinct names, as the gateway gathers them. */
function ownFamilies(specs: FamilySpec[]): MetricFamily[] {
  const byName = new Map(specs.map((f) => [f.name, family(f, `own ${f.name}`)]));
  return [...byName.values()];
}

function joined(parts: ReadonlyArray<string | Uint8Array>): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
}

test('protobuf and OpenMetrics scrapes from kept entries equal encoding the merged families, after any pushes and deletes', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 40 }), async (ops) => {
      const store = new MemoryStore();
      const cache = new ScrapeCache(store);
      let clock = 1_000_000;
      const check = (own: MetricFamily[]) => {
        const kept = joined(cache.protobufParts(own));
        assert.deepEqual(kept, Buffer.from(encodeProtobufDelimited(cache.families(own))));
        const keptOm = joined(cache.openMetricsParts(own));
        assert.deepEqual(keptOm, textBytes(renderOpenMetrics(cache.families(own))));
        const fresh = new ScrapeCache(store);
        assert.deepEqual(joined(fresh.protobufParts(own)), kept);
        assert.deepEqual(joined(fresh.openMetricsParts(own)), keptOm);
        fresh.close();
      };
      for (const op of ops) {
        const group = op.kind === 'scrape' ? 0 : op.group;
        const labels: Record<string, string> = group === 5 ? { job: 'j' } : { job: 'j', instance: `g${group}` };
        if (op.kind === 'write') {
          clock += 1000;
          await store.write({
            labels,
            families: op.families.map((f) => family(f, `help of ${f.name}`)),
            replace: op.replace,
            check: op.check,
            timestampMs: clock,
          });
        } else if (op.kind === 'delete') await store.delete(labels);
        else check(ownFamilies(op.own));
      }
      check([]);
      cache.close();
    }),
    { numRuns: 300 },
  );
});

test('a protobuf scrape after a push encodes only the pushed group', async () => {
  const store = new MemoryStore();
  const cache = new ScrapeCache(store);
  const body = (v: number): MetricFamily[] => [{ name: 'x', type: 'gauge', metrics: [{ labels: [], value: v }] }];
  for (let i = 0; i < 100; i++)
    await store.write({ labels: { job: 'j', instance: `h${i}` }, families: body(i), replace: true, check: true });
  cache.protobufParts([]);
  const group = store.group.bind(store);
  let reads = 0;
  store.group = (id: string) => {
    reads++;
    return group(id);
  };
  await store.write({ labels: { job: 'j', instance: 'h5' }, families: body(500), replace: true, check: true });
  const parts = cache.protobufParts([]);
  assert.equal(reads, 2, 'x and push_time_seconds of the pushed group only');
  assert.deepEqual(joined(parts), Buffer.from(encodeProtobufDelimited(cache.families([]))));
  // The head and a piece per group: nothing merged.
  assert.ok(parts.length > 100);
});

test('a series without text lines of its own kind (check off) leaves the order to the merge', async () => {
  // Group a's first series by sort key is a bare value in a summary family: its text run starts
  // at its first _count line (h="c"), after group b's, though its series h="a" sorts first.
  const store = new MemoryStore();
  const summary = (v: string): Metric => ({
    labels: [{ name: 'h', value: v }],
    summary: { sampleCount: 1, sampleSum: 1, quantiles: [] },
  });
  const write = (instance: string, metrics: Metric[]) =>
    store.write({
      labels: { job: 'j', instance },
      families: [{ name: 's', help: 'h', type: 'summary', metrics }],
      replace: true,
      check: false,
      timestampMs: 1,
    });
  await write('a', [{ labels: [{ name: 'h', value: 'a' }], gauge: { value: 1 } }, summary('c')]);
  await write('b', [summary('b')]);
  const cache = new ScrapeCache(store);
  assert.deepEqual(joined(cache.protobufParts([])), Buffer.from(encodeProtobufDelimited(cache.families([]))));
});
