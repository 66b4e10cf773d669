import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAccept } from './accept.js';

test('parseAccept orders clauses as goautoneg does', () => {
  const order = (h: string) => parseAccept(h).map((c) => `${c.type}/${c.subType};q=${c.q}`);
  // Higher q first; equal q keeps the order given.
  assert.deepEqual(order('a/b;q=0.5,c/d,e/f;q=0.5'), ['c/d;q=1', 'a/b;q=0.5', 'e/f;q=0.5']);
  // A concrete type goes before a wildcard even with a lower q.
  assert.deepEqual(order('*/*,a/b;q=0.25'), ['a/b;q=0.25', '*/*;q=1']);
  assert.deepEqual(order('a/*,a/b;q=0.25'), ['a/b;q=0.25', 'a/*;q=1']);
  // "*" alone is */*; other clauses without "/" are skipped; q is a float32, malformed reads 0.
  assert.deepEqual(order('*,text,a/b;q=0.25'), ['a/b;q=0.25', '*/*;q=1']);
  assert.deepEqual(order('a/b;q=x,c/d;q=0.3'), ['c/d;q=0.30000001192092896', 'a/b;q=0']);
  // Parameters: names and values trimmed of spaces, case and quotes kept.
  assert.deepEqual([...parseAccept('A/B ; Version = "1" ; x')[0].params], [['Version', '"1"']]);
});

// [q parameter, strconv.ParseFloat(q, 32) as goautoneg keeps it (errors ignored)], from Go 1.19.
const qs: Array<[string, number]> = [
  ['0.5', 0.5],
  [' 0.9', 0],
  ['0.9 ', 0],
  ['1', 1],
  ['0', 0],
  ['0.3', 0.30000001192092896],
  ['1e39', Infinity],
  ['-1e39', -Infinity],
  ['abc', 0],
  ['', 0],
  ['NaN', NaN],
  ['inf', Infinity],
  ['1e-50', 0],
  ['0.50000001', 0.5],
  ['.5', 0.5],
  ['-0.1', -0.10000000149011612],
];

for (const [q, want] of qs) {
  // A parameter follows, so that the trimming of the whole clause does not reach q's value.
  test(`q=${JSON.stringify(q)} reads ${want}`, () => assert.equal(parseAccept(`a/b;q=${q};x=y`)[0].q, want));
}
