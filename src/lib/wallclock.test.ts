import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nowMs } from './wallclock.js';

test('wall-clock milliseconds: no call earlier than the one before, across many milliseconds', () => {
  let before = nowMs();
  const until = Date.now() + 30;
  let calls = 0;
  while (Date.now() < until || calls < 100_000) {
    const t = nowMs();
    assert.ok(t >= before, `${t} after ${before}`);
    before = t;
    calls++;
  }
  assert.ok(Math.abs(before - Date.now()) < 2, 'within the wall clock');
});
