// A large write is prepared in slices (prepare.ts, slices.ts): it must give exactly what the same
// write gives at once, wherever the slices fall, and let the event loop turn meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseText } from '../parse/text.js';
import { MemoryStore, type Slicing } from './memory.js';
import { sortSteps, runNow } from './slices.js';
import type { GroupingLabels, ReservedFamily, StoreChange } from './types.js';

interface Push {
  labels: GroupingLabels;
  body: string;
  replace?: boolean;
  check?: boolean;
}

const series = (name: string, n: number, labels: (i: number) => string, value = (i: number) => String(i)) =>
  Array.from({ length: n }, (_, i) => `${name}{${labels(i)}} ${value(i)}\n`).join('');

/** Pushes that reach every verdict of the check, and families kept packed and parsed. */
const pushes: Push[] = [
  {
    labels: { job: 'a' },
    body:
      '# HELP x A gauge.\n# TYPE x gauge\n' +
      series('x', 40, (i) => `item="i${(i * 7) % 40}",shard="${i % 3}"`) +
      '# TYPE y counter\n' +
      series('y', 5, (i) => `constructor="c${i}",toString="t"`),
  },
  // Series that group {job="a"} holds already, pushed from a group with more grouping labels.
  {
    labels: { job: 'a', instance: '' },
    body: '# TYPE x gauge\n' + series('x', 6, (i) => `item="i${i * 9}",shard="${i}"`),
  },
  { labels: { job: 'c', instance: 'x' }, body: '# TYPE z gauge\n' + series('z', 8, (i) => `k="${i}"`) },
  // Series that group {job="c",instance="x"} holds, pushed from {job="c"} (the series carry instance="x").
  {
    labels: { job: 'c' },
    body: '# TYPE z gauge\n' + series('z', 8, (i) => `instance="${i % 2 ? 'x' : 'y'}",k="${i}"`),
  },
  // Type conflict with another group: every series is not a GAUGE.
  { labels: { job: 'd' }, body: '# TYPE x counter\n' + series('x', 7, (i) => `item="${i}"`) },
  // Repeats inside the push, bad label names, and a fine series between them.
  {
    labels: { job: 'e' },
    body:
      '# TYPE w gauge\n' +
      series('w', 9, (i) => `a="${i % 3}"`) +
      'w{__bad="1"} 1\nw{b="0"} 3\nw{a="0",b="1"} 2\nw{b="1",a="0"} 2\nw{a="\\\\",c="\u00e9\u0000"} 4\n',
  },
  // A summary, then a family colliding with its _count from another group.
  {
    labels: { job: 'f' },
    body:
      '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 2\ns_count 3\n' + series('s', 3, (i) => `q="${i}",quantile="0.9"`),
  },
  { labels: { job: 'g' }, body: '# TYPE s_count gauge\n' + series('s_count', 4, (i) => `n="${i}"`) },
  { labels: { job: 'h' }, body: series('t', 3, (i) => `n="${i}"`).replace('\n', ' 1234\n') },
  // Kept parsed: NaN and infinities take the round trip; repeated series with the check off.
  {
    labels: { job: 'i' },
    body:
      '# TYPE v gauge\n' +
      series(
        'v',
        12,
        (i) => `n="${i % 5}",m="${i}"`,
        (i) => ['NaN', '+Inf', '-Inf', '1e300'][i % 4],
      ),
  },
  { labels: { job: 'j' }, body: series('r', 6, (i) => `n="${i % 2}"`), check: false },
  {
    labels: { job: 'k' },
    body:
      '# TYPE hist histogram\n' +
      series(
        'hist_bucket',
        4,
        (i) => `le="${['1', '2', '5', '+Inf'][i]}"`,
        (i) => String(i * 2),
      ) +
      'hist_sum 7\nhist_count 6\n' +
      series('big', 70, (i) => `n="${(i * 31) % 70}",path="/p/${i % 4}"`),
  },
  // POST keeping other families, PUT replacing them, and one more push to a group holding `x`.
  { labels: { job: 'a' }, body: series('u', 10, (i) => `n="${9 - i}"`), replace: false },
  { labels: { job: 'k' }, body: series('big', 3, (i) => `n="${i}",path="/p/1"`) },
  { labels: { job: 'b' }, body: '# TYPE x gauge\n' + series('x', 10, (i) => `item="i${i}",shard="${i % 3}"`) },
];

const reserved = new Map<string, ReservedFamily>([
  ['pushgateway_build_info', { type: 'gauge', help: 'Build info.', forceHelp: true }],
]);
pushes.push({ labels: { job: 'r' }, body: '# TYPE pushgateway_build_info counter\npushgateway_build_info 1\n' });

/** Everything a store shows: each group's families as packed/parsed and their lines, and the change feed. */
async function run(slicing: Slicing | undefined) {
  const store = new MemoryStore(reserved, {}, undefined, {}, slicing);
  const changes: StoreChange[] = [];
  store.subscribe((c) => changes.push(c));
  const results = [];
  let clock = 1_700_000_000_000;
  for (const p of pushes) {
    clock += 1000.25;
    results.push(
      await store.write({
        labels: p.labels,
        families: parseText(p.body),
        replace: p.replace ?? true,
        check: p.check ?? true,
        timestampMs: clock,
      }),
    );
  }
  const groups = [...store.groups()].map((g) => ({
    labels: g.labels,
    ok: g.lastPushSuccess,
    families: [...g.families.values()].map((sf) => ({ record: sf.record(), lines: sf.lines() })),
  }));
  return {
    results,
    groups: JSON.parse(JSON.stringify(groups)) as unknown,
    changes: changes.map((c) => [
      c.version,
      c.groupId,
      c.families,
      c.record === undefined ? '' : JSON.stringify(c.record),
    ]),
  };
}

test('a write prepared in slices gives what it gives at once: results, errors, stored families, changes', async () => {
  const once = await run(undefined);
  // The scenarios reach the verdicts they are meant to (else the comparison proves little).
  const errors = once.results.map((r) => (r.ok ? '' : r.error));
  assert.equal(once.results[0].ok, true);
  assert.match(
    errors[1],
    /^5 error\(s\) occurred:\n\* collected metric "push_failure_time_seconds".*"x".* was collected before/s,
  );
  assert.match(errors[3], /^4 error\(s\).*value:"x".* was collected before/s);
  assert.match(errors[4], /^7 error\(s\).* is not a GAUGE/s);
  assert.match(errors[5], /has a label with an invalid name: __bad/);
  assert.equal(errors[5].match(/was collected before/g)?.length, 7);
  assert.match(errors[7], /collides with previously collected summary named "s"/);
  assert.equal(errors[8], 'pushed metrics must not have timestamps');
  assert.match(errors[15], /has type COUNTER but should have GAUGE/);
  assert.deepEqual(
    once.results.map((r) => r.ok),
    [true, false, true, false, false, false, true, false, false, true, true, true, false, true, true, false],
  );
  for (const grain of [1, 2, 7, 64]) {
    const sliced = await run({ series: 0, grain, sliceMs: 0 });
    assert.deepEqual(sliced, once, `grain ${grain}`);
  }
});

test('labels named like Object.prototype properties are kept, not taken for grouping labels', async () => {
  const store = new MemoryStore();
  const families = parseText('y{constructor="c",toString="t",hasOwnProperty="h"} 1\n');
  assert.deepEqual(await store.write({ labels: { job: 'a' }, families, replace: true, check: true }), { ok: true });
  assert.equal(
    [...store.groups()][0].families.get('y')!.lines(),
    'y{constructor="c",hasOwnProperty="h",instance="",job="a",toString="t"} 1\n',
  );
});

test('a large write lets the event loop turn, and other groups are written meanwhile; its own group waits', async () => {
  const store = new MemoryStore();
  const big = parseText('# TYPE big gauge\n' + series('big', 66_000, (i) => `item="${i}",shard="${i % 64}"`));
  let turns = 0;
  let counting = true;
  const count = () => {
    turns++;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  const large = store.write({ labels: { job: 'big' }, families: big, replace: true, check: true });
  const sameGroup = store.write({
    labels: { job: 'big' },
    families: parseText('small 1\n'),
    replace: false,
    check: true,
  });
  let otherDone = false;
  let largeDone = false;
  const other = store
    .write({ labels: { job: 'other' }, families: parseText('small 2\n'), replace: true, check: true })
    .then((r) => {
      otherDone = !largeDone;
      return r;
    });
  assert.deepEqual(await large, { ok: true });
  largeDone = true;
  counting = false;
  assert.deepEqual(await other, { ok: true });
  assert.equal(otherDone, true, 'the other group was written before the large write finished');
  assert.ok(turns > 3, `the event loop turned ${turns} times during the write`);
  assert.deepEqual(await sameGroup, { ok: true });
  const g = store.group('job\xffbig')!;
  assert.deepEqual([...g.families.keys()], ['big', 'small', 'push_time_seconds', 'push_failure_time_seconds']);
  assert.equal(g.families.get('big')!.seriesCount, 66_000);
  // More than 65,535 series: their push order is kept two chars per series.
  const back = g.families.get('big')!.unpack();
  assert.equal(back.metrics[65_999].labels.find((l) => l.name === 'item')!.value, '65999');
});

test('sortSteps sorts as a native sort does, whatever the grain', () => {
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
  for (const n of [0, 1, 2, 5, 100, 1000]) {
    const values = Array.from({ length: n }, () => random() % 50);
    const expected = [...values.keys()].sort((a, b) => values[a] - values[b] || a - b);
    for (const grain of [1, 3, 16, Infinity]) {
      const order = Uint32Array.from(values.keys());
      runNow(sortSteps(order, (a, b) => values[a] - values[b] || a - b, grain));
      assert.deepEqual([...order], expected, `n=${n} grain=${grain}`);
    }
  }
});

test('sortSteps keeps stretches already in order and sorts the rest, as a native sort does', () => {
  let seed = 11;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
  const n = 3000;
  const shapes: Record<string, (i: number) => number> = {
    sorted: (i) => i,
    'sorted with ties': (i) => i >> 3,
    reversed: (i) => n - i,
    'ids counted up, compared as text': (i) => Number(String(i).padEnd(4, '0') + String(i).length),
    'long runs with random stretches between': (i) => (i % 700 < 500 ? i : random() % n),
    'short runs': (i) => (i % 40) * 100 + (random() % 7),
    'sawtooth of 33': (i) => i % 33,
  };
  let comparisons = 0;
  for (const [shape, f] of Object.entries(shapes)) {
    const values = Array.from({ length: n }, (_, i) => f(i));
    const compare = (a: number, b: number) => (comparisons++, values[a] - values[b] || a - b);
    const expected = [...values.keys()].sort((a, b) => values[a] - values[b] || a - b);
    for (const grain of [1, 7, 512, Infinity]) {
      const order = Uint32Array.from(values.keys());
      comparisons = 0;
      runNow(sortSteps(order, compare, grain));
      assert.deepEqual([...order], expected, `${shape}, grain ${grain}`);
      if (shape === 'sorted') assert.equal(comparisons, n - 1, 'sorted input: one pass');
    }
  }
});

// The check looks at each label name once per position while the series of a family share it; a
// series whose name differs at a position is checked again. Oracle: each series written alone.
const write = (labels: GroupingLabels, body: string) => ({
  labels,
  families: parseText(body),
  replace: true,
  check: true,
});
test('check: label names changing between series get the verdicts each series gets alone', async () => {
  const labelNames = ['l', 'z_9', '__x', 'a', '__name__', 'q', 'l'];
  for (let k = 0; k < 200; k++) {
    const lines = Array.from({ length: 2 + (k % 6) }, (_, s) => {
      const name = labelNames[(k * 5 + s * (1 + (k % 3))) % labelNames.length];
      return `m{${name === '__name__' ? '__nam' : name}="v${s}",u="${s}"} ${s}\n`;
    });
    const alone: string[] = [];
    for (const line of lines) {
      const r = await new MemoryStore().write(write({ job: 'p' }, '# TYPE m gauge\n' + line));
      if (!r.ok) alone.push(r.error);
    }
    const r = await new MemoryStore().write(write({ job: 'p' }, '# TYPE m gauge\n' + lines.join('')));
    const expected =
      alone.length === 0
        ? undefined
        : alone.length === 1
          ? alone[0]
          : `${alone.length} error(s) occurred:\n${alone.map((e) => '* ' + e).join('\n')}`;
    assert.equal(r.ok ? undefined : r.error, expected, lines.join(''));
  }
});
