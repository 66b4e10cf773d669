import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricFamily, MetricType } from '../model.js';
import { MemoryStore } from './memory.js';
import type { GroupingLabels, ReservedFamily } from './types.js';

function fam(
  name: string,
  type: MetricType,
  values: Array<[Record<string, string>, number]>,
  help?: string,
): MetricFamily {
  return {
    name,
    type,
    help,
    metrics: values.map(([labels, value]) => ({
      labels: Object.entries(labels).map(([n, v]) => ({ name: n, value: v })),
      value,
    })),
  };
}

let clock = 1_700_000_000_000;
function write(store: MemoryStore, labels: GroupingLabels, families: MetricFamily[], replace = true, check = true) {
  clock += 1000.5;
  return store.write({ labels, families, replace, check, timestampMs: clock });
}

function names(store: MemoryStore, labels: GroupingLabels): string[] {
  const g = [...store.groups()].find((x) => JSON.stringify(x.labels) === JSON.stringify(labels));
  return g === undefined ? [] : [...g.families.keys()].sort();
}

test('PUT stores the families with push times; labels get grouping labels and instance=""', async () => {
  const s = new MemoryStore();
  assert.deepEqual(await write(s, { job: 'j' }, [fam('a', 'gauge', [[{ job: 'body', x: '1' }, 1]])]), { ok: true });
  const g = [...s.groups()][0];
  assert.deepEqual(g.families.get('a')!.unpack().metrics[0].labels, [
    { name: 'instance', value: '' },
    { name: 'job', value: 'j' },
    { name: 'x', value: '1' },
  ]);
  assert.equal(g.families.get('push_time_seconds')!.unpack().metrics[0].value, clock / 1000);
  assert.equal(g.families.get('push_failure_time_seconds')!.unpack().metrics[0].value, 0);
  assert.equal(g.lastPushSuccess, true);
  assert.equal(s.seriesCount, 3);
});

test('PUT replaces the whole group, POST only the families it names', async () => {
  const s = new MemoryStore();
  await write(s, { job: 'j' }, [fam('a', 'gauge', [[{}, 1]]), fam('b', 'gauge', [[{}, 2]])]);
  await write(s, { job: 'j' }, [fam('c', 'gauge', [[{}, 3]])], false);
  assert.deepEqual(names(s, { job: 'j' }), ['a', 'b', 'c', 'push_failure_time_seconds', 'push_time_seconds']);
  await write(s, { job: 'j' }, [fam('b', 'counter', [[{}, 4]])], true);
  assert.deepEqual(names(s, { job: 'j' }), ['b', 'push_failure_time_seconds', 'push_time_seconds']);
});

const conflicts: Array<{
  name: string;
  first: MetricFamily[];
  second: MetricFamily[];
  secondLabels?: GroupingLabels;
  error: RegExp;
}> = [
  {
    name: 'type differs from another group',
    first: [fam('x', 'gauge', [[{}, 1]])],
    second: [fam('x', 'counter', [[{}, 1]])],
    error:
      /^collected metric "x" \{ label:<name:"instance" value:"" > label:<name:"job" value:"b" > counter:<value:1 > \} is not a GAUGE$/,
  },
  {
    name: 'series duplicates one in another group',
    first: [fam('m', 'untyped', [[{ instance: 'x' }, 1]])],
    second: [fam('m', 'untyped', [[{}, 2]])],
    secondLabels: { job: 'a', instance: 'x' },
    error: /was collected before with the same name and label values$/,
  },
  {
    name: 'suffix collides with a summary elsewhere',
    first: [
      {
        name: 's',
        type: 'summary',
        metrics: [{ labels: [], summary: { sampleCount: 1, sampleSum: 1, quantiles: [] } }],
      },
    ],
    second: [fam('s_count', 'untyped', [[{}, 1]])],
    error: /^collected metric named "s_count" collides with previously collected summary named "s"$/,
  },
];
for (const c of conflicts) {
  test(`consistency: ${c.name} → refused, group unchanged, failure time set`, async () => {
    const s = new MemoryStore();
    assert.deepEqual(await write(s, { job: 'a' }, c.first), { ok: true });
    const labels = c.secondLabels ?? { job: 'b' };
    await write(s, labels, [fam('keep', 'gauge', [[{}, 9]])]);
    const before = names(s, labels);
    const r = await write(s, labels, c.second);
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, c.error);
    assert.deepEqual(names(s, labels), before);
    const g = [...s.groups()].find((x) => x.labels.job === labels.job && x.labels.instance === labels.instance)!;
    assert.equal(g.lastPushSuccess, false);
    assert.equal(g.families.get('push_failure_time_seconds')!.unpack().metrics[0].value, clock / 1000);
  });
}

test('consistency: the same series twice in one push', async () => {
  const s = new MemoryStore();
  const r = await write(s, { job: 'd' }, [
    fam('m', 'untyped', [
      [{ a: '1' }, 1],
      [{ a: '1' }, 2],
    ]),
  ]);
  assert.deepEqual(r, {
    ok: false,
    error:
      'collected metric "m" { label:<name:"a" value:"1" > label:<name:"instance" value:"" > label:<name:"job" value:"d" > untyped:<value:2 > } was collected before with the same name and label values',
  });
  // A failed push to a new group leaves the group with only its push times.
  assert.deepEqual(names(s, { job: 'd' }), ['push_failure_time_seconds', 'push_time_seconds']);
});

test('consistency: several errors are listed as client_golang lists them', async () => {
  const s = new MemoryStore();
  await write(s, { job: 'a' }, [fam('x', 'gauge', [[{}, 1]])]);
  const r = await write(s, { job: 'b' }, [
    fam('x', 'counter', [
      [{ i: '1' }, 1],
      [{ i: '2' }, 2],
    ]),
  ]);
  assert.equal(r.ok, false);
  assert.match(
    (r as { error: string }).error,
    /^2 error\(s\) occurred:\n\* collected metric "x" .* is not a GAUGE\n\* collected metric "x" .* is not a GAUGE$/,
  );
});

test('consistency: a family of the gateway itself with another type is refused', async () => {
  const reserved = new Map<string, ReservedFamily>([
    ['process_cpu_seconds_total', { type: 'counter', help: 'h', forceHelp: true }],
    ['pushgateway_http_requests_total', { type: 'counter', help: 'Total.', forceHelp: false }],
  ]);
  const s = new MemoryStore(reserved);
  assert.deepEqual(await write(s, { job: 'a' }, [fam('process_cpu_seconds_total', 'gauge', [[{}, 1]])]), {
    ok: false,
    error: 'gathered metric family process_cpu_seconds_total has type GAUGE but should have COUNTER',
  });
  assert.deepEqual(
    await write(s, { job: 'a' }, [fam('process_cpu_seconds_total', 'counter', [[{}, 1]], 'other help')]),
    { ok: true },
  );
  // A family without series at start-up has no forced HELP: a different one is refused first.
  assert.deepEqual(await write(s, { job: 'a' }, [fam('pushgateway_http_requests_total', 'gauge', [[{}, 1]])]), {
    ok: false,
    error: 'gathered metric family pushgateway_http_requests_total has help "" but should have "Total."',
  });
  assert.deepEqual(
    await write(s, { job: 'a' }, [fam('pushgateway_http_requests_total', 'counter', [[{}, 1]], 'Total.')], false),
    { ok: true },
  );
});

const labelCases: Array<[string, MetricFamily, string]> = [
  ['reserved label name', fam('m', 'untyped', [[{ __x: 'x' }, 1]]), 'has a label with an invalid name: __x'],
  ['invalid label name', fam('m', 'untyped', [[{ 'bad-name': 'x' }, 1]]), 'has a label with an invalid name: bad-name'],
  [
    'invalid UTF-8 value',
    fam('m', 'untyped', [[{ a: '\udcff\udcfe' }, 1]]),
    'has a label named "a" whose value is not utf8: "\\xff\\xfe"',
  ],
];
for (const [name, mf, message] of labelCases) {
  test(`consistency: ${name}`, async () => {
    const r = await write(new MemoryStore(), { job: 'l' }, [mf]);
    assert.equal(r.ok, false);
    assert.ok((r as { error: string }).error.endsWith(message), (r as { error: string }).error);
  });
}

test('a group may change the type of its own family', async () => {
  const s = new MemoryStore();
  await write(s, { job: 'a' }, [fam('x', 'gauge', [[{}, 1]])]);
  assert.deepEqual(await write(s, { job: 'a' }, [fam('x', 'counter', [[{}, 1]])], false), { ok: true });
});

test('timestamps are refused even without the consistency check', async () => {
  const s = new MemoryStore();
  const mf = fam('x', 'gauge', [[{}, 1]]);
  mf.metrics[0].timestampMs = 5;
  assert.deepEqual(await write(s, { job: 'a' }, [mf], true, false), {
    ok: false,
    error: 'pushed metrics must not have timestamps',
  });
});

test('disabled check stores conflicting types', async () => {
  const s = new MemoryStore();
  await write(s, { job: 'a' }, [fam('x', 'gauge', [[{}, 1]])]);
  assert.deepEqual(await write(s, { job: 'b' }, [fam('x', 'counter', [[{}, 1]])], true, false), { ok: true });
  assert.equal([...s.familyGroups('x')].length, 2);
});

test('delete and wipe remove groups and announce the change', async () => {
  const s = new MemoryStore();
  const changes: string[][] = [];
  s.subscribe((c) => changes.push([...c.families].sort()));
  await write(s, { job: 'a' }, [fam('x', 'gauge', [[{}, 1]])]);
  await write(s, { job: 'b' }, [fam('y', 'gauge', [[{}, 1]])]);
  await s.delete({ job: 'a' });
  assert.equal(s.groupCount, 1);
  assert.deepEqual([...s.familyGroups('x')], []);
  await s.delete({ job: 'nope' });
  await s.wipe();
  assert.equal(s.groupCount, 0);
  assert.equal(s.seriesCount, 0);
  assert.deepEqual(changes[2], ['push_failure_time_seconds', 'push_time_seconds', 'x']);
  assert.equal(changes.length, 4);
});

test('consistency: a series already stored by a group of another shape is refused', async () => {
  const s = new MemoryStore();
  // {job=a} stores a series that carries instance="x" itself; {job=a, instance=x} may not push it again.
  assert.deepEqual(
    await write(s, { job: 'a' }, [
      fam('m', 'gauge', [
        [{ instance: 'x' }, 1],
        [{ instance: 'y' }, 2],
      ]),
    ]),
    { ok: true },
  );
  const r = await write(s, { job: 'a', instance: 'x' }, [fam('m', 'gauge', [[{}, 3]])]);
  assert.equal(r.ok, false);
  assert.match((r as { error: string }).error, /was collected before with the same name and label values/);
  // Another series of that group is fine, and so is the same series under another family name.
  assert.deepEqual(
    await write(s, { job: 'a', instance: 'x' }, [
      fam('m', 'gauge', [[{ other: '1' }, 3]]),
      fam('n', 'gauge', [[{}, 3]]),
    ]),
    { ok: true },
  );
  // The other way round: {job=a} may not push the series {job=a, instance=x} now holds.
  const back = await write(s, { job: 'a' }, [fam('m', 'gauge', [[{ instance: 'x', other: '1' }, 4]])]);
  assert.equal(back.ok, false);
  // Once that group is gone, the series is free.
  await s.delete({ job: 'a', instance: 'x' });
  assert.deepEqual(await write(s, { job: 'a' }, [fam('m', 'gauge', [[{ instance: 'x', other: '1' }, 4]])]), {
    ok: true,
  });
});

test('families are kept packed, and read back as pushed', async () => {
  const s = new MemoryStore();
  const pushed = fam(
    'p',
    'gauge',
    [
      [{ z: '2' }, 2],
      [{ z: '1' }, 1],
    ],
    'help',
  );
  assert.deepEqual(await write(s, { job: 'k' }, [structuredClone(pushed)]), { ok: true });
  const sf = [...s.groups()][0].families.get('p')!;
  assert.equal(sf.lines(), 'p{instance="",job="k",z="1"} 1\np{instance="",job="k",z="2"} 2\n');
  assert.deepEqual(
    sf.unpack().metrics.map((m) => m.labels.map((l) => l.value).join()),
    [',k,2', ',k,1'],
  );
  assert.equal(sf.seriesCount, 2);
  assert.equal(s.seriesCount, 4);
});

test('a push refused right after one that succeeded, stamped by the store itself: the last push failed', async () => {
  const s = new MemoryStore();
  await s.write({ labels: { job: 'a' }, families: [fam('m', 'counter', [[{}, 1]])], replace: true, check: true });
  // Within one millisecond, many times over: the stamps order as the writes did.
  for (let i = 0; i < 300; i++) {
    const b = { labels: { job: 'b' }, replace: true, check: true };
    assert.equal((await s.write({ ...b, families: [fam('n', 'untyped', [[{}, i]])] })).ok, true);
    assert.equal((await s.write({ ...b, families: [fam('m', 'gauge', [[{}, i]])] })).ok, false);
    const g = [...s.groups()].find((x) => x.labels.job === 'b')!;
    assert.equal(g.lastPushSuccess, false, `round ${i}`);
  }
});
