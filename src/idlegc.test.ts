import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectWhenQuiet } from './idlegc.js';
import type { StoreChange } from './store/types.js';

test('collects once writes have been quiet for the given time, never while they come', async () => {
  let notify: ((c: StoreChange) => void) | undefined;
  const store = {
    subscribe(l: (c: StoreChange) => void) {
      notify = l;
      return () => (notify = undefined);
    },
  };
  const listener = () => notify!({ version: 1, groupId: 'g', families: ['x'], record: { delete: { job: 'g' } } });
  let collections = 0;
  const stop = collectWhenQuiet(
    store,
    100,
    () => collections++,
    () => 0,
  );
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; i < 10; i++) {
    listener();
    await sleep(20);
  }
  assert.equal(collections, 0, 'collected during writes');
  await sleep(200);
  assert.equal(collections, 1);
  await sleep(200);
  assert.equal(collections, 1, 'collected again without writes');
  listener();
  await sleep(200);
  assert.equal(collections, 2);
  stop();
  assert.equal(notify, undefined);
});

test('leaves a large heap to V8: a full collection would hold the event loop', async () => {
  let notify: ((c: StoreChange) => void) | undefined;
  const store = {
    subscribe(l: (c: StoreChange) => void) {
      notify = l;
      return () => (notify = undefined);
    },
  };
  let heap = 100 * 1024 * 1024;
  let collections = 0;
  const stop = collectWhenQuiet(
    store,
    20,
    () => collections++,
    () => heap,
    64 * 1024 * 1024,
  );
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  notify!({ version: 1, groupId: 'g', families: ['x'], record: { delete: { job: 'g' } } });
  await sleep(80);
  assert.equal(collections, 0, 'collected a heap above the bound');
  heap = 10 * 1024 * 1024;
  notify!({ version: 2, groupId: 'g', families: ['x'], record: { delete: { job: 'g' } } });
  await sleep(80);
  assert.equal(collections, 1);
  stop();
});

test('collects the young generation once writes have been quiet longer, whatever the heap', async () => {
  let notify: ((c: StoreChange) => void) | undefined;
  const store = {
    subscribe(l: (c: StoreChange) => void) {
      notify = l;
      return () => (notify = undefined);
    },
  };
  const calls: string[] = [];
  const stop = collectWhenQuiet(
    store,
    20,
    (options) => calls.push(options?.type ?? 'full'),
    () => 100 * 1024 * 1024,
    64 * 1024 * 1024,
    120,
  );
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; i < 8; i++) {
    notify!({ version: i, groupId: 'g', families: ['x'], record: { delete: { job: 'g' } } });
    await sleep(40);
  }
  assert.deepEqual(calls, [], 'collected the young generation during writes');
  await sleep(250);
  assert.deepEqual(calls, ['minor'], 'once, and no full collection of a heap above the bound');
  await sleep(200);
  assert.deepEqual(calls, ['minor']);
  stop();
});
