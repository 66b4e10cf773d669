import assert from 'node:assert/strict';
import test from 'node:test';
import { byCodeUnits, sortInPlace } from './shortsort.js';

test('sortInPlace sorts as the native sort does, short and long, stable, typed arrays too', () => {
  // src/lib/ is a leaf: test/support's generator is out of reach, a line of LCG does here.
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let round = 0; round < 300; round++) {
    const n = random() % 100;
    const pairs = Array.from({ length: n }, (_, i) => ({ key: random() % 6, i }));
    const ours = pairs.slice();
    sortInPlace(ours, (a, b) => a.key - b.key);
    assert.deepEqual(
      ours,
      pairs.slice().sort((a, b) => a.key - b.key),
    );
    const names = Array.from({ length: n }, () => String.fromCharCode(0x41 + (random() % 60), 0xe9 + (random() % 3)));
    const sorted = names.slice();
    sortInPlace(sorted, byCodeUnits);
    assert.deepEqual(sorted, names.slice().sort());
    const typed = Uint32Array.from(pairs, (p) => p.key * 100 + p.i);
    const expected = [...typed].sort((a, b) => b - a);
    sortInPlace(typed, (a, b) => b - a);
    assert.deepEqual([...typed], expected);
  }
});
