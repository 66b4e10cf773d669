// The memory guard's collections and verdicts on a simulated heap, and what a write adds. The
// refusals as the store applies them are in the contract suite; on a real heap, in
// test/server/memoryguard.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricFamily } from '../model.js';
import { MemoryGuard, seriesAdded, StoreLimits } from './limits.js';
import { MemoryStore } from './memory.js';
import { StoredGroup } from './group.js';

/** A heap of 1000 bytes whose use the test sets; a collection leaves `live`. */
function simulated() {
  const sim = { used: 0, live: 0, now: 0, collections: 0 };
  const guard = new MemoryGuard(
    0.8,
    () => {
      sim.collections++;
      sim.used = sim.live;
    },
    () => ({ used: sim.used, limit: 1000 }),
    () => sim.now,
  );
  return { sim, guard };
}

test('memory guard: below the mark, no collection and no refusal', () => {
  const { sim, guard } = simulated();
  sim.used = 799;
  assert.equal(guard.full(), undefined);
  assert.equal(sim.collections, 0);
});

test('memory guard: over the mark, judged by what survives a collection', () => {
  const { sim, guard } = simulated();
  // Garbage: a collection brings the heap under the mark (800 bytes), the write goes ahead.
  Object.assign(sim, { used: 900, live: 780 });
  assert.equal(guard.full(), undefined);
  assert.equal(sim.collections, 1);
  // Less than a quarter of the headroom (50 bytes) above the last live size, within a second:
  // the live size cannot be over the mark by more; no collection, the last verdict holds.
  sim.used = 820;
  assert.equal(guard.full(), undefined);
  assert.equal(sim.collections, 1);
  // Grown by 50 bytes or more: collected again; live data over the mark is refused.
  Object.assign(sim, { used: 840, live: 840 });
  assert.deepEqual(guard.full(), { used: 840, limit: 1000 });
  assert.equal(sim.collections, 2);
  // Refused writes do not each pay a collection.
  sim.used = 880;
  assert.deepEqual(guard.full(), { used: 840, limit: 1000 });
  assert.equal(sim.collections, 2);
  // Groups deleted: once a second has passed, the next collection finds room.
  Object.assign(sim, { live: 300, now: 1000 });
  assert.equal(guard.full(), undefined);
  assert.equal(sim.collections, 3);
  // Or at once, when a collection elsewhere already brought the heap under the mark.
  Object.assign(sim, { used: 900, live: 850, now: 5000 });
  assert.deepEqual(guard.full(), { used: 850, limit: 1000 });
  sim.used = 700;
  assert.equal(guard.full(), undefined);
  assert.equal(sim.collections, 4);
});

test('memory guard: without a way to collect, the heap in use decides', () => {
  let used = 850;
  const guard = new MemoryGuard(0.8, undefined, () => ({ used, limit: 1000 }));
  assert.deepEqual(guard.full(), { used: 850, limit: 1000 });
  used = 790;
  assert.equal(guard.full(), undefined);
});

function fam(name: string, series: number): MetricFamily {
  return {
    name,
    type: 'gauge',
    metrics: Array.from({ length: series }, (_, i) => ({ labels: [{ name: 'i', value: String(i) }], value: i })),
  };
}

test('series a write adds: new groups bring their two push times; replaced series count off', async () => {
  const store = new MemoryStore();
  await store.write({ labels: { job: 'a' }, families: [fam('x', 3), fam('y', 2)], replace: true, check: true });
  const group = store.group([...store.groups()][0].id) as StoredGroup;
  assert.equal(seriesAdded(undefined, [fam('x', 3)], true), 5);
  assert.equal(seriesAdded(undefined, [fam('push_time_seconds', 1)], true), 2, 'never stored');
  assert.equal(seriesAdded(group, [fam('x', 3)], true), -2, 'PUT replaces x and y');
  assert.equal(seriesAdded(group, [fam('x', 4), fam('z', 1)], true), 0);
  assert.equal(seriesAdded(group, [fam('x', 4)], false), 1, 'POST replaces only x');
  assert.equal(seriesAdded(group, [fam('z', 2)], false), 2);
});

test('store limits: 0 means no limit, and each refusal is counted by reason', () => {
  const none = new StoreLimits({ maxGroups: 0, maxTotalSeries: 0, memoryGuardPercent: 0 });
  assert.equal(none.admit(undefined, [fam('x', 1e6)], true, { groupCount: 1e6, seriesCount: 1e9 }), undefined);
  const limits = new StoreLimits({ maxGroups: 2, maxTotalSeries: 10, memoryGuardPercent: 80 }, undefined, () => ({
    used: 900,
    limit: 1000,
  }));
  const held = { groupCount: 2, seriesCount: 6 };
  assert.equal(limits.admit(undefined, [], true, held)?.refused, 'groups');
  assert.equal(limits.admit(undefined, [], true, { groupCount: 1, seriesCount: 9 })?.refused, 'series');
  assert.equal(limits.admit(undefined, [], true, { groupCount: 1, seriesCount: 6 })?.refused, 'memory');
  assert.deepEqual(limits.refusals, { groups: 1, series: 1, memory: 1 });
});
