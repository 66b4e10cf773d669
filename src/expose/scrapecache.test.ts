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
      families: Array<{ name: string; type: MetricType; label: string; values: string[]; bump: number }>;
    }
  | { kind: 'delete'; group: number }
  | { kind: 'scrape' };

const arbFamily = fc.record({
  name: fc.constantFrom('a', 'b', 'c_total', 'd'),
  type: fc.constantFrom<MetricType>('gauge', 'gauge', 'counter', 'summary', 'histogram'),
  // A label named before the grouping labels makes runs of different groups interleave (as
  // `code` does in a fleet), one named after keeps each group's run whole.
  label: fc.constantFrom('code', 'k'),
  // Label values that sort before, between and after the grouping values.
  values: fc.array(fc.constantFrom('', '0', 'g1', 'g3x', 'z', 'ü', 'a"b', 'n\nl', 'b\\s'), { maxLength: 3 }),
  // New values for the same series: a re-push that keeps the run's place.
  bump: fc.nat(2),
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

function family(f: { name: string; type: MetricType; label: string; values: string[]; bump: number }): MetricFamily {
  const metrics = [...new Set(f.values)].map((v) => {
    const labels = [{ name: f.label, value: v }];
    if (f.type === 'summary')
      return { labels, summary: { sampleCount: 2, sampleSum: f.bump, quantiles: [{ quantile: 0.5, value: 1 }] } };
    if (f.type === 'histogram')
      return {
        labels,
        histogram: { sampleCount: 2, sampleSum: f.bump, buckets: [{ upperBound: 1, cumulativeCount: 1 }] },
      };
    return { labels, value: v.length + f.bump };
  });
  return { name: f.name, help: `help of ${f.name}`, type: f.type, metrics };
}

/**
 * Where a family says how its parts differ from an earlier build, they differ nowhere else (by
 * identity: a sender keys what it made of a part on the part); the parts of each build are
 * remembered as they were (the array itself is used again for a later build). Gives how many
 * parts were told changed.
 */
function deltaChecker(): (cache: ScrapeCache) => number {
  const seen = new Map<string, { build: number; parts: ReadonlyArray<string | Uint8Array> }>();
  return (cache) => {
    let told = 0;
    for (const f of cache.familyParts('text', [])) {
      const before = seen.get(f.name);
      if (f.since !== undefined && before?.build === f.since.base) {
        const base = before.parts;
        assert.equal(f.parts.length, base.length);
        const at = new Set(f.since.changed);
        told += at.size;
        for (let i = 0; i < base.length; i++) if (!at.has(i)) assert.ok(f.parts[i] === base[i], `${f.name}[${i}]`);
      }
      if (f.build !== undefined) {
        // The same build is the same parts.
        if (before?.build === f.build) assert.deepEqual(f.parts, before.parts, f.name);
        seen.set(f.name, { build: f.build, parts: f.parts.slice() });
      }
    }
    return told;
  };
}

test('the cache kept up to date equals a fresh cache and the merged families, after any pushes and deletes', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 40 }), async (ops) => {
      const store = new MemoryStore();
      const cache = new ScrapeCache(store);
      const checkDeltas = deltaChecker();
      let clock = 1_000_000;
      const check = () => {
        checkDeltas(cache);
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

test('re-pushes with new values, of runs that interleave and of runs that do not, show as a fresh cache shows them', async () => {
  const store = new MemoryStore();
  const cache = new ScrapeCache(store);
  // `code` sorts before the grouping labels: the groups' series of `a` interleave; those of `b` do not.
  const body = (v: number): MetricFamily[] => [
    {
      name: 'a',
      type: 'gauge',
      metrics: ['200', '500'].map((c) => ({ labels: [{ name: 'code', value: c }], value: v })),
    },
    { name: 'b', type: 'gauge', metrics: ['x', 'y'].map((k) => ({ labels: [{ name: 'k', value: k }], value: v })) },
  ];
  const push = (i: number, v: number) =>
    store.write({ labels: { job: 'j', instance: `h${i}` }, families: body(v), replace: true, check: true });
  for (let i = 0; i < 40; i++) await push(i, i);
  const checkDeltas = deltaChecker();
  checkDeltas(cache);
  let told = 0;
  // A few (placed one by one) and many (merged) between two scrapes.
  for (const pushed of [[3], [1, 2, 5, 7], Array.from({ length: 30 }, (_, i) => i)]) {
    for (const i of pushed) await push(i, 1000 + i);
    told += checkDeltas(cache);
    const fresh = new ScrapeCache(store);
    assert.equal(cache.render([]).toString('latin1'), fresh.render([]).toString('latin1'));
    fresh.close();
  }
  // `b` and push_time_seconds: the re-pushed groups' runs in place, said to have changed.
  assert.ok(told >= 10, `${told}`);
  assert.match(cache.render([]).toString(), /a\{code="500",instance="h3",job="j"\} 1003\n/);
  cache.close();
});

test('runs that interleave, changed in many groups and read a batch at a time, show as a fresh cache shows them', async () => {
  const store = new MemoryStore();
  const cache = new ScrapeCache(store);
  const codes = (n: number) => ['200', '404', '500'].slice(0, n);
  const push = (i: number, v: number, n = 3) =>
    store.write({
      labels: { job: 'j', instance: `h${i}` },
      families: [
        {
          name: 'a',
          type: 'counter',
          metrics: codes(n).map((c) => ({ labels: [{ name: 'code', value: c }], value: v })),
        },
      ],
      replace: true,
      check: true,
    });
  for (let i = 0; i < 1500; i++) await push(i, i);
  cache.render([]);
  // More groups than one batch of the catching up reads: new values, series gone, groups gone and new.
  for (let i = 0; i < 1500; i += 2) await push(i, 10_000 + i);
  for (let i = 1; i < 600; i += 6) await push(i, 20_000 + i, 1);
  for (let i = 3; i < 900; i += 10) await store.delete({ job: 'j', instance: `h${i}` });
  for (let i = 1500; i < 1700; i++) await push(i, i);
  assert.equal(await cache.prepare('text', () => false), true);
  const fresh = new ScrapeCache(store);
  assert.equal(cache.render([]).toString('latin1'), fresh.render([]).toString('latin1'));
  assert.match(cache.render([]).toString(), /a\{code="404",instance="h10",job="j"\} 10010\n/);
  assert.doesNotMatch(cache.render([]).toString(), /instance="h3",/);
  fresh.close();
  cache.close();
});

test('a family’s parts array is used again two builds on, unless a scrape still sends it', async () => {
  const store = new MemoryStore();
  const cache = new ScrapeCache(store);
  const push = (i: number, v: number) =>
    store.write({
      labels: { job: 'j', instance: `h${i}` },
      families: [{ name: 'x', type: 'gauge', metrics: [{ labels: [], value: v }] }],
      replace: true,
      check: true,
    });
  for (let i = 0; i < 50; i++) await push(i, i);
  const x = () => cache.familyParts('text', []).find((f) => f.name === 'x')!;
  const fresh = () => freshText(store);
  const first = x();
  const sent = cache.hold([first]);
  await push(3, 103);
  const second = x();
  await push(4, 104);
  // The first is still being sent: the third build is a copy.
  const third = x();
  assert.ok(third.parts !== first.parts && third.parts !== second.parts);
  assert.equal(cache.render([]).toString('latin1'), fresh());
  sent();
  await push(5, 105);
  // None sent: the fourth build is the second's array, brought up to date.
  const fourth = x();
  assert.ok(fourth.parts === second.parts);
  assert.ok(fourth.build! > third.build! && third.build! > second.build!);
  assert.deepEqual(fourth.since?.base, third.build);
  assert.equal(cache.render([]).toString('latin1'), fresh());
  const text = cache.render([]).toString();
  for (const i of [3, 4, 5]) assert.match(text, new RegExp(`x\\{instance="h${i}",job="j"\\} 10${i}\\n`));
  cache.close();
});

/** A push of gauge `a` = v with a series per code (a label that sorts before `instance`) to group h<i>. */
function pushCodes(store: MemoryStore, i: number, codes: string[], v: number): Promise<unknown> {
  const metrics = codes.map((c) => ({ labels: [{ name: 'code', value: c }], value: v }));
  return store.write({
    labels: { job: 'j', instance: `h${i}` },
    families: [{ name: 'a', type: 'gauge', metrics }],
    replace: true,
    check: true,
  });
}

/** The text scrape of a cache built from scratch over the store. */
function freshText(store: MemoryStore): string {
  const other = new ScrapeCache(store);
  const text = other.render([]).toString('latin1');
  other.close();
  return text;
}

/** A push of gauge x = v to the group of instance `instance`, job j. */
function pushX(store: MemoryStore, instance: string, v: number): Promise<unknown> {
  const families: MetricFamily[] = [{ name: 'x', type: 'gauge', metrics: [{ labels: [], value: v }] }];
  return store.write({ labels: { job: 'j', instance }, families, replace: true, check: true });
}

/** Counts the store's group lookups (a scrape cache reads a changed group's families through one). */
function countReads(store: MemoryStore): { n: number } {
  const group = store.group.bind(store);
  const reads = { n: 0 };
  store.group = (id: string) => {
    reads.n++;
    return group(id);
  };
  return reads;
}

test('a push re-reads only the pushed group', async () => {
  const store = new MemoryStore();
  const cache = new ScrapeCache(store);
  for (let i = 0; i < 100; i++) await pushX(store, `h${i}`, i);
  cache.render([]);
  const reads = countReads(store);
  await pushX(store, 'h5', 500);
  const text = cache.render([]).toString();
  assert.match(text, /x\{instance="h5",job="j"\} 500\n/);
  assert.equal(reads.n, 2, 'x and push_time_seconds of the pushed group only');
});

test('a third of the groups re-pushed between scrapes: the family says which parts changed', async () => {
  const store = new MemoryStore();
  const push = (i: number, v: number) => pushX(store, `h${String(i).padStart(3, '0')}`, v);
  for (let i = 0; i < 100; i++) await push(i, i);
  const cache = new ScrapeCache(store);
  const before = cache.familyParts('text', []).find((f) => f.name === 'x')!;
  const base = before.parts.slice();
  for (let i = 0; i < 100; i += 3) await push(i, 1000 + i);
  const after = cache.familyParts('text', []).find((f) => f.name === 'x')!;
  assert.equal(after.since?.base, before.build);
  // The head is part 0; group i's run is part i + 1.
  const changed = [...new Set(after.since!.changed)].sort((a, b) => a - b);
  assert.deepEqual(
    changed,
    Array.from({ length: 34 }, (_, k) => 3 * k + 1),
  );
  for (let i = 0; i < base.length; i++) if (!changed.includes(i)) assert.equal(after.parts[i], base[i]);
});

test('pushes are read in the background soon after: the scrape that follows reads no group', async () => {
  const store = new MemoryStore();
  const push = (i: number, v: number) => pushX(store, `h${i}`, v);
  for (let i = 0; i < 100; i++) await push(i, i);
  const cache = new ScrapeCache(store);
  cache.render([]);
  const reads = countReads(store);
  for (let i = 0; i < 50; i++) await push(i, 1000 + i);
  assert.equal(reads.n, 0, 'read at the push');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(reads.n, 100, 'x and push_time_seconds of each pushed group, once');
  reads.n = 0;
  assert.equal(await cache.prepare('text', () => false), true);
  const text = cache.render([]).toString();
  assert.equal(reads.n, 0);
  for (let i = 0; i < 50; i++) assert.ok(text.includes(`x{instance="h${i}",job="j"} ${1000 + i}\n`), `h${i}`);
  // Closed before its reading came: nothing is read.
  await push(3, 5);
  cache.close();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(reads.n, 0);
});

test('a store failing while pushes are read in the background does not end the process: the next scrape gets the error', async () => {
  const store = new MemoryStore();
  for (let i = 0; i < 10; i++) await pushX(store, `h${i}`, i);
  const cache = new ScrapeCache(store);
  cache.render([]);
  store.group = () => {
    throw new Error('store failed');
  };
  await pushX(store, 'h3', 33);
  await new Promise((r) => setTimeout(r, 100));
  assert.throws(() => cache.render([]), /store failed/);
});

test('prepare() gives other work its turns on a large store, stops when the scraper leaves, and the scrape after it is unchanged', async () => {
  const store = new MemoryStore();
  const families = (i: number): MetricFamily[] =>
    Array.from({ length: 10 }, (_, f) => ({
      name: `f${f}`,
      type: 'gauge' as const,
      metrics: [{ labels: [{ name: 'code', value: String(i % 7) }], value: i }],
    }));
  for (let i = 0; i < 500; i++)
    await store.write({ labels: { job: 'j', instance: `h${i}` }, families: families(i), replace: true, check: true });
  const expected = new ScrapeCache(store).render([]);

  const leaving = new ScrapeCache(store);
  let asked = 0;
  assert.equal(await leaving.prepare('text', () => ++asked > 1), false);
  assert.equal(asked, 2, 'went on after the scraper left');
  assert.deepEqual(leaving.render([]), expected);

  const cache = new ScrapeCache(store);
  let turns = 0;
  const ticker = setInterval(() => turns++, 0);
  try {
    assert.equal(await cache.prepare('text', () => false), true);
  } finally {
    clearInterval(ticker);
  }
  assert.ok(turns > 0, 'no timer ran while 5,000 runs were read');
  assert.deepEqual(cache.render([]), expected);
});

test('a re-push of the same lines leaves the family’s parts as they were; new HELP or values are shown', async () => {
  const store = new MemoryStore();
  const cache = new ScrapeCache(store);
  const body = (v: number, help = 'x help'): MetricFamily[] => [
    { name: 'x', help, type: 'gauge', metrics: [{ labels: [{ name: 'k', value: 'a' }], value: v }] },
  ];
  const push = (i: number, v: number, help?: string) =>
    store.write({ labels: { job: 'j', instance: `h${i}` }, families: body(v, help), replace: true, check: true });
  for (let i = 0; i < 20; i++) await push(i, i);
  const parts = (name: string) => cache.familyParts('text', []).find((f) => f.name === name)!;
  const x = parts('x').parts;
  const failures = parts('push_failure_time_seconds').parts;
  const times = parts('push_time_seconds').parts;
  await push(3, 3);
  await push(0, 0);
  // The very same arrays: a sender keeps all it made of them (push_time_seconds did change).
  assert.ok(parts('x').parts === x);
  assert.ok(parts('push_failure_time_seconds').parts === failures);
  assert.notEqual(parts('push_time_seconds').parts, times);
  // The first group's HELP is the family's: the same lines with another HELP are read again.
  await push(0, 0, 'new help');
  await push(7, 70);
  const text = cache.render([]).toString();
  assert.match(text, /# HELP x new help\n/);
  assert.match(text, /x\{instance="h7",job="j",k="a"\} 70\n/);
  const fresh = new ScrapeCache(store);
  assert.equal(text, fresh.render([]).toString());
  fresh.close();
  cache.close();
});

test('a group deleted, or re-pushed with other series, leaves the merge of runs that interleave', async () => {
  const store = new MemoryStore();
  const cache = new ScrapeCache(store);
  const push = (i: number, codes: string[]) => pushCodes(store, i, codes, i);
  for (let i = 0; i < 20; i++) await push(i, ['200', '500']);
  cache.render([]);
  // No re-push of the same series in between: nothing for the merge to stumble on but the stale series.
  await store.delete({ job: 'j', instance: 'h3' });
  await push(5, ['404']);
  const shown = cache.render([]).toString('latin1');
  const fresh = new ScrapeCache(store);
  assert.equal(shown, fresh.render([]).toString('latin1'));
  assert.doesNotMatch(shown, /instance="h3",/);
  assert.doesNotMatch(shown, /a\{code="200",instance="h5",/);
  assert.match(shown, /a\{code="404",instance="h5",job="j"\} 5\n/);
  fresh.close();
  cache.close();
});

test("a group's families whose series sort apart each place its run by their own series", async () => {
  const store = new MemoryStore();
  const cache = new ScrapeCache(store);
  // In `a` h0's series sorts first, in `b` h1's; `c` shows the grouping labels alone (the key the
  // groups' other runs share).
  const push = (i: number, a: string, b: string) =>
    store.write({
      labels: { job: 'j', instance: `h${i}` },
      families: [
        { name: 'a', type: 'gauge', metrics: [{ labels: [{ name: 'code', value: a }], value: 1 }] },
        { name: 'b', type: 'gauge', metrics: [{ labels: [{ name: 'code', value: b }], value: 2 }] },
        { name: 'c', type: 'gauge', metrics: [{ labels: [], value: 3 }] },
      ],
      replace: true,
      check: true,
    });
  await push(0, '1', '2');
  await push(1, '2', '1');
  const order = (text: string, name: string) =>
    [...text.matchAll(new RegExp(`^${name}\\{.*instance="(h\\d)"`, 'gm'))].map((m) => m[1]);
  for (let round = 0; round < 2; round++) {
    const text = cache.render([]).toString();
    assert.deepEqual(order(text, 'a'), ['h0', 'h1']);
    assert.deepEqual(order(text, 'b'), ['h1', 'h0']);
    assert.deepEqual(order(text, 'c'), ['h0', 'h1']);
    // The same again with the groups' runs read back from the ones before.
    await push(0, '1', '2');
    await push(1, '2', '1');
  }
  cache.close();
});

test('a group re-pushed with the same series takes their places where runs interleave: only its parts change', async () => {
  const store = new MemoryStore();
  const cache = new ScrapeCache(store);
  const push = (i: number, codes: string[], v: number) => pushCodes(store, i, codes, v);
  for (let i = 0; i < 30; i++) await push(i, ['200', '500'], i);
  const a = () => cache.familyParts('text', []).find((f) => f.name === 'a')!;
  const fresh = () => freshText(store);
  const before = a();
  await push(7, ['200', '500'], 700);
  const after = a();
  // Part 0 is the head, then every group's code="200" series in the order of their instance, then code="500".
  const at = Array.from({ length: 30 }, (_, i) => `h${i}`)
    .sort()
    .indexOf('h7');
  assert.equal(after.since?.base, before.build);
  assert.deepEqual(
    [...after.since!.changed].sort((x, y) => x - y),
    [1 + at, 31 + at],
  );
  assert.equal(cache.render([]).toString('latin1'), fresh());
  // As many series, but others: merged again in their own places.
  await push(7, ['201', '404'], 701);
  const shown = cache.render([]).toString('latin1');
  assert.equal(shown, fresh());
  assert.doesNotMatch(shown, /a\{code="200",instance="h7",/);
  assert.match(shown, /a\{code="200",instance="h9",job="j"\} 9\na\{code="201",instance="h7",job="j"\} 701\n/);
  cache.close();
});
