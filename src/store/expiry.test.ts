import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricFamily } from '../model.js';
import { MemoryStore } from './memory.js';

const gauge = (v: number): MetricFamily[] => [{ name: 'g', type: 'gauge', metrics: [{ labels: [], value: v }] }];

test('re-pushes that leave the earliest deadline where it is do not set the timer again', async () => {
  const store = new MemoryStore(new Map(), {}, undefined, { defaultTtlMs: 5000 });
  try {
    // Deadlines carry sub-millisecond digits (push times do): the timer must be compared with the
    // deadline itself, not with "now + the rounded delay", or every push sets it again.
    for (let i = 0; i < 2000; i++) {
      await store.write({
        labels: { job: 'j', instance: `i${i % 20}` },
        families: gauge(i),
        replace: true,
        check: true,
      });
    }
    assert.equal(store.expiry.scheduled, 20);
    assert.ok(store.expiry.timersSet <= 2, `the timer was set ${store.expiry.timersSet} times for 2,000 pushes`);
  } finally {
    await store.close();
  }
});

test('a group due while pushes keep the event loop busy is removed close to its deadline', async () => {
  const store = new MemoryStore();
  try {
    await store.write({ labels: { job: 'dies' }, families: gauge(1), replace: true, check: true, ttlMs: 300 });
    const deadline = store.expiry.deadline(store.group([...store.groups()][0].id)!)!;
    let removedAt = 0;
    store.subscribe((c) => {
      if (c.record !== undefined && 'delete' in c.record) removedAt = Date.now();
    });
    let k = 0;
    while (removedAt === 0 && Date.now() < deadline + 5000) {
      for (let b = 0; b < 20; b++)
        await store.write({
          labels: { job: 'busy', n: String(k++ % 50) },
          families: gauge(k),
          replace: true,
          check: true,
        });
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(removedAt > 0, 'the group expired');
    // Generous (a loaded machine): the point is that a stream of pushes does not hold it back.
    assert.ok(removedAt - deadline < 1000, `removed ${removedAt - deadline} ms after its deadline`);
  } finally {
    await store.close();
  }
});

test('deadlines a millisecond apart are taken together, each group still removed on time', async () => {
  const store = new MemoryStore();
  try {
    const deadlines = new Map<string, number>();
    const lags: number[] = [];
    store.subscribe((c) => {
      if (c.record !== undefined && 'delete' in c.record) lags.push(Date.now() - deadlines.get(c.groupId)!);
    });
    for (let i = 0; i < 100; i++) {
      await store.write({
        labels: { job: 'j', n: String(i) },
        families: gauge(i),
        replace: true,
        check: true,
        ttlMs: 200 + i,
      });
    }
    for (const g of store.groups()) deadlines.set(g.id, store.expiry.deadline(g)!);
    const before = store.expiry.timersSet;
    const until = Date.now() + 5000;
    while (store.groupCount > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(store.groupCount, 0, 'every group expired');
    assert.ok(Math.max(...lags) < 1000, `removed up to ${Math.max(...lags)} ms after the deadline`);
    // 100 deadlines over ~100 ms: a timer per deadline would be ~100; a timer per step is a handful.
    const timers = store.expiry.timersSet - before;
    assert.ok(timers <= 10, `the timer was set ${timers} times for 100 deadlines over 100 ms`);
  } finally {
    await store.close();
  }
});

test('a group pushed again after it expired keeps nothing of the expired one', async () => {
  const store = new MemoryStore();
  const labels = { job: 'again', instance: 'a' };
  const old: MetricFamily[] = [
    { name: 'old_family', type: 'counter', metrics: [{ labels: [], value: 1 }] },
    { name: 'g', type: 'gauge', metrics: [{ labels: [{ name: 'x', value: '1' }], value: 1 }] },
  ];
  const gone = async () => {
    const until = Date.now() + 5000;
    while (store.groupCount > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(store.groupCount, 0, 'the group expired');
  };
  try {
    await store.write({ labels, families: old, replace: true, check: true, ttlMs: 100 });
    // A failed push stamps the failure (and does not move the deadline).
    const stamped = [{ name: 'g', type: 'gauge' as const, metrics: [{ labels: [], value: 1, timestampMs: 5 }] }];
    assert.equal((await store.write({ labels, families: stamped, replace: false, check: true })).ok, false);
    await gone();

    // Pushed again without a TTL: only what this push brought, no failure, the default TTL (none).
    assert.equal((await store.write({ labels, families: gauge(2), replace: false, check: true })).ok, true);
    const g = [...store.groups()][0];
    assert.deepEqual([...g.families.keys()], ['g', 'push_time_seconds', 'push_failure_time_seconds']);
    assert.deepEqual(g.families.get('g')!.unpack().metrics[0].labels, [
      { name: 'instance', value: 'a' },
      { name: 'job', value: 'again' },
    ]);
    assert.equal(g.failureTimeSeconds, 0);
    assert.equal(g.lastFailureReason, undefined);
    assert.equal(g.ttlMs, undefined);
    assert.equal(store.expiry.deadline(g), undefined);
    assert.deepEqual([...store.familyGroups('old_family')], []);
    assert.ok(![...store.familyNames()].includes('old_family'));

    // Expired again (a TTL of its own this time), then created again by a failed push.
    await store.write({ labels, families: gauge(3), replace: true, check: true, ttlMs: 100 });
    await gone();
    assert.equal((await store.write({ labels, families: stamped, replace: true, check: true })).ok, false);
    const f = [...store.groups()][0];
    assert.deepEqual([...f.families.keys()], ['push_time_seconds', 'push_failure_time_seconds']);
    assert.equal(f.pushTimeSeconds, 0);
    assert.ok(f.failureTimeSeconds > 0);
    assert.equal(store.expiry.deadline(f), undefined);
  } finally {
    await store.close();
  }
});
