import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nowMs } from './wallclock.js';

test('wall-clock milliseconds: no call earlier than the one before, across many milliseconds', () => {
  let before = nowMs();
  const until = Date.now() + 30;
  let calls = 0;
  while (Date.now() < until || calls < 20_000) {
    // A microsecond apart at least, as pushes are.
    for (const from = performance.now(); performance.now() - from < 0.001;);
    const t = nowMs();
    assert.ok(t > before, `${t} after ${before}`);
    before = t;
    calls++;
  }
  assert.ok(Math.abs(before - Date.now()) < 2, 'within the wall clock');
});

test('wall-clock milliseconds: a monotonic clock running ahead of the wall clock never takes a time back', (t) => {
  // The monotonic clock gains 5 % on the wall clock: the anchor moves back every few milliseconds.
  let mono = 1_000_000;
  t.mock.method(performance, 'now', () => mono);
  t.mock.method(Date, 'now', () => Math.floor(1.8e12 + mono / 1.05));
  let before = nowMs();
  for (let i = 0; i < 20_000; i++) {
    mono += 0.01;
    const now = nowMs();
    assert.ok(now > before, `${now} after ${before} at call ${i}`);
    assert.ok(Math.abs(now - Date.now()) < 3, `${now} within 3 ms of ${Date.now()}`);
    before = now;
  }
  // A clock stepped back by an hour is followed back.
  t.mock.method(Date, 'now', () => Math.floor(1.8e12 - 3_600_000 + mono / 1.05));
  assert.ok(Math.abs(nowMs() - Date.now()) < 2);
});
