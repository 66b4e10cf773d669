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
