import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectWhenQuiet } from './idlegc.js';
import type { StoreChange } from './store/types.js';

/** A store that only announces writes, when the test says so. */
function fakeStore() {
  let notify: ((c: StoreChange) => void) | undefined;
  let version = 0;
  return {
    store: {
      subscribe(l: (c: StoreChange) => void) {
        notify = l;
        return () => (notify = undefined);
      },
    },
    write: () => notify!({ version: ++version, groupId: 'g', families: ['x'], record: { delete: { job: 'g' } } }),
    subscribed: () => notify !== undefined,
  };
}

test('collects once writes have been quiet for the given time, never while they come', async () => {
  const { store, write, subscribed } = fakeStore();
  let collections = 0;
  const stop = collectWhenQuiet(store, { quietMs: 100, gc: () => collections++, heapUsed: () => 0 });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; i < 10; i++) {
    write();
    await sleep(20);
  }
  assert.equal(collections, 0, 'collected during writes');
  await sleep(200);
  assert.equal(collections, 1);
  await sleep(200);
  assert.equal(collections, 1, 'collected again without writes');
  write();
  await sleep(200);
  assert.equal(collections, 2);
  stop();
  assert.equal(subscribed(), false);
});

test('leaves a large heap to V8: a full collection would hold the event loop', async () => {
  const { store, write } = fakeStore();
  let heap = 100 * 1024 * 1024;
  let collections = 0;
  const stop = collectWhenQuiet(store, {
    quietMs: 20,
    gc: () => collections++,
    heapUsed: () => heap,
    maxHeap: 64 * 1024 * 1024,
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  write();
  await sleep(80);
  assert.equal(collections, 0, 'collected a heap above the bound');
  heap = 10 * 1024 * 1024;
  write();
  await sleep(80);
  assert.equal(collections, 1);
  stop();
});

test('collects the young generation once writes have been quiet longer, whatever the heap, until V8 shrank it', async () => {
  const { store, write } = fakeStore();
  const calls: string[] = [];
  let young = 8 << 20;
  const stop = collectWhenQuiet(store, {
    quietMs: 20,
    shrinkMs: 200,
    gc: (options) => calls.push(options?.type ?? 'full'),
    heapUsed: () => 100 * 1024 * 1024,
    maxHeap: 64 * 1024 * 1024,
    youngSize: () => young,
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const until = async (n: number) => {
    for (let waited = 0; calls.length < n && waited < 5000; waited += 10) await sleep(10);
  };
  for (let i = 0; i < 8; i++) {
    write();
    await sleep(40);
  }
  assert.deepEqual(calls, [], 'collected the young generation during writes');
  await until(1);
  assert.deepEqual(calls, ['minor'], 'no full collection of a heap above the bound');
  // Still large (reads kept the allocation rate up): tried again, until it is shrunk.
  await until(2);
  young = 1 << 20;
  await until(3);
  await sleep(600);
  assert.deepEqual(calls, ['minor', 'minor', 'minor'], 'tried again once shrunk');
  stop();
});
