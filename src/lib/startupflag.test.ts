import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startupFlag } from './startupflag.js';

test('startupFlag: the last flag given wins, the command line after NODE_OPTIONS; undefined without one', () => {
  const growth = (argv: string[], options?: string) => startupFlag('heap-growing-percent', argv, options);
  assert.equal(growth(['--max-semi-space-size=1', '--heap-growing-percent=20']), 20);
  assert.equal(growth(['--heap_growing_percent=35'], '--heap-growing-percent=50'), 35);
  assert.equal(growth([], '--max-old-space-size=64 --heap-growing-percent=50'), 50);
  assert.equal(growth(['--heap-growing-percent']), undefined);
  assert.equal(growth(['--heap-growing-percent-x=3', '--xheap-growing-percent=3']), undefined);
  assert.equal(growth([]), undefined);
  assert.equal(
    startupFlag('max-semi-space-size', ['--max-semi-space-size=4', '--max_semi_space_size=2'], undefined),
    2,
  );
});
