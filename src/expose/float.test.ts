import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCount, formatGoFloat, formatSampleValue } from './float.js';

// Expected strings are what Go's strconv.FormatFloat(v, 'g', -1, 64) prints.
const cases: Array<[number, string]> = [
  [0, '0'],
  [-0, '-0'],
  [1, '1'],
  [-1, '-1'],
  [0.1, '0.1'],
  [1.5, '1.5'],
  [123456, '123456'],
  [999999, '999999'],
  [1e6, '1e+06'],
  [1234567, '1.234567e+06'],
  [1e21, '1e+21'],
  [1.7957769713936014e9, '1.7957769713936014e+09'],
  [0.0001, '0.0001'],
  [0.00012, '0.00012'],
  [0.00001, '1e-05'],
  [1.5e-7, '1.5e-07'],
  [5e-324, '5e-324'],
  [1.7976931348623157e308, '1.7976931348623157e+308'],
  [-2.5e-10, '-2.5e-10'],
  [100, '100'],
  [NaN, 'NaN'],
  [Infinity, '+Inf'],
  [-Infinity, '-Inf'],
];

for (const [v, want] of cases) {
  test(`formatGoFloat(${v})`, () => assert.equal(formatGoFloat(v), want));
}

test('sample values print negative zero as 0', () => {
  assert.equal(formatSampleValue(-0), '0');
  assert.equal(formatSampleValue(2e6), '2e+06');
});

test('counts print as integers', () => {
  assert.equal(formatCount(3), '3');
  assert.equal(formatCount(2 ** 60), '1152921504606846976');
});
