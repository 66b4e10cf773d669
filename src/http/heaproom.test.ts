// The heap's growth step during large pushes: widened by the first, put back by the last, never
// left widened by a push that fails, and read from the flags node was started with.
import { test } from 'node:test';
import assert from 'node:assert/strict';

// The gateway runs with the step at 20 (nodeflags.ts); the test process does not. The singleton
// reads the flags when first loaded, so they are set before it (and the gateway) is loaded.
process.execArgv.push('--heap-growing-percent=20');
const { HeapRoom, LARGE_PUSH_GROWTH, heapRoom } = await import('./heaproom.js');
const { testGateway } = await import('../testing/gateway.js');

test('HeapRoom: the first lease widens, the last release restores; release is once; no widening after it', () => {
  const set: number[] = [];
  const room = new HeapRoom(20, (p) => set.push(p));
  const a = room.lease();
  const b = room.lease();
  a.widen();
  b.widen();
  b.widen();
  assert.deepEqual(set, [LARGE_PUSH_GROWTH]);
  a.release();
  a.release();
  assert.deepEqual(set, [LARGE_PUSH_GROWTH]);
  b.release();
  assert.deepEqual(set, [LARGE_PUSH_GROWTH, 20]);
  assert.equal(room.holders, 0);
  // A push that ended before its body was known large (its write failed first) widens nothing.
  const late = room.lease();
  late.release();
  late.widen();
  assert.equal(room.holders, 0);
  assert.deepEqual(set, [LARGE_PUSH_GROWTH, 20]);
});

test('HeapRoom: a step node chose itself (no flag) or already as wide is left alone', () => {
  for (const normal of [0, LARGE_PUSH_GROWTH, 300]) {
    const set: number[] = [];
    const lease = new HeapRoom(normal, (p) => set.push(p)).lease();
    lease.widen();
    lease.release();
    assert.deepEqual(set, [], String(normal));
  }
});

/** A text body of `series` gauge series, over the size parsed in slices. */
function largeBody(series: number, tail = ''): string {
  let s = '# TYPE room_gauge gauge\n';
  for (let i = 0; i < series; i++) s += `room_gauge{item="item-${i}",padding="${'x'.repeat(20)}"} ${i}\n`;
  return s + tail;
}

test('a large push holds the wider step while it is parsed and written, and gives it back however it ends', async () => {
  const gw = await testGateway(['--push.max-series-per-push=7000']);
  const cases: Array<[body: string, status: number]> = [
    [largeBody(6000), 200],
    [largeBody(6000, 'room_gauge{item="bad} 1\n'), 400], // a parse error at the end
    [largeBody(6500, 'other 1\nother 2\n'), 400], // the consistency check fails
    [largeBody(7001), 413], // over the limit of series per push
  ];
  for (const [body, status] of cases) {
    assert.ok(body.length > 256 * 1024);
    let seen = 0;
    let done = false;
    const watch = (async () => {
      while (!done) {
        seen = Math.max(seen, heapRoom.holders);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const r = await gw.request('PUT', '/metrics/job/room', body);
    done = true;
    await watch;
    assert.equal(r.status, status, r.text);
    assert.equal(seen, 1, `held during the push answered ${status}`);
    assert.equal(heapRoom.holders, 0, `released after the push answered ${status}`);
  }
  // A small push never widens it.
  let seen = 0;
  const small = gw.request('PUT', '/metrics/job/room', 'room_gauge 1\n');
  seen = Math.max(seen, heapRoom.holders);
  assert.equal((await small).status, 200);
  assert.equal(seen, 0);
});
