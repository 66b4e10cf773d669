import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decimalEnd,
  formatCount,
  formatGoFloat,
  formatSampleValue,
  parseGoFloat,
  printsAsItself,
  writeSampleValue,
} from './gofloat.js';

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

// [input, strconv.ParseFloat(s, 64) where it returns no error, else undefined], from Go 1.19; '1_000'
// parses in Go, but the text parser refuses any '_', 'p' or 'P' before it calls ParseFloat.
const parsed: Array<[string, number | undefined]> = [
  ['', undefined],
  ['1', 1],
  ['-1.5', -1.5],
  ['+.5', 0.5],
  ['5.', 5],
  ['1e308', 1e308],
  ['1e309', undefined],
  ['1e-400', 0],
  ['1E3', 1000],
  ['1e', undefined],
  ['.', undefined],
  ['+', undefined],
  [' 1', undefined],
  ['0x10', undefined],
  ['1_000', undefined],
  ['Inf', Infinity],
  ['-infinity', -Infinity],
  ['+INF', Infinity],
  ['NaN', NaN],
  ['-NaN', undefined],
  ['nan1', undefined],
];

for (const [s, want] of parsed) {
  test(`parseGoFloat(${JSON.stringify(s)})`, () => assert.deepStrictEqual(parseGoFloat(s), want));
}

test('decimalEnd stops where a decimal number ends, -1 for none', () => {
  assert.equal(decimalEnd('12.5e3x', 0), 6);
  assert.equal(decimalEnd('x1', 1), 2);
  assert.equal(decimalEnd('1e+', 0), -1);
  assert.equal(decimalEnd('.e1', 0), -1);
});

test('writeSampleValue writes the bytes of formatSampleValue', () => {
  const buf = Buffer.alloc(32);
  const written = (v: number) => buf.toString('latin1', 0, writeSampleValue(buf, 0, v));
  const fixed = [
    0,
    -0,
    1,
    -1,
    0.1,
    0.2,
    0.1 + 0.2,
    1 / 3,
    2 / 3,
    0.5,
    12.5,
    19.5,
    1e-4,
    9.9e-5,
    0.00012345,
    0.0001000001,
    999999,
    999999.5,
    999999.999999,
    1e6,
    1e6 - 1e-10,
    123456.789012345,
    123456.7890123456,
    87.087,
    1000004096,
    5e-324,
    Number.MAX_VALUE,
    NaN,
    Infinity,
    -Infinity,
    0.3,
    1.005,
    4.35,
    0.07,
    100,
    1e5,
    1e-3,
    0.025,
  ];
  for (const v of fixed) assert.equal(written(v), formatSampleValue(v), String(v));
  let seed = 5;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 20_000; i++) {
    // Decimals of 1 to 17 digits at scales around the plain range's ends, and arbitrary doubles.
    const digits = 1 + Math.floor(random() * 17);
    const scale = 10 ** (Math.floor(random() * 14) - 6);
    const v =
      i % 4 === 0 ? (random() - 0.5) * 2 ** (random() * 60 - 30) : Number((random() * 10 ** digits).toFixed(0)) * scale;
    assert.equal(written(v), formatSampleValue(v), String(v));
    assert.equal(written(-v), formatSampleValue(-v), String(-v));
  }
});

test('printsAsItself: only tokens formatSampleValue gives back unchanged, and the plain decimals among them', () => {
  const fixed = [
    '0',
    '-0',
    '1',
    '10',
    '0.5',
    '-0.5',
    '00',
    '01',
    '0.0',
    '0.10',
    '1.',
    '.5',
    '+1',
    '1e3',
    '999999',
    '1000000',
    '-999999.5',
    '0.0001',
    '0.00001',
    '-0.0001234',
    '123456.789012345',
    '123456.7890123456',
    '0.000123456789012345',
    '0.0001234567890123456',
    'NaN',
    '',
    '-',
    '1_0',
    '12a',
  ];
  let seed = 7;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed % n;
  };
  const random = Array.from({ length: 20000 }, () => {
    const digits = (n: number) => Array.from({ length: n }, () => String(rnd(10))).join('');
    const int = rnd(4) === 0 ? '0' : digits(1 + rnd(8));
    return (rnd(3) === 0 ? '-' : '') + int + (rnd(2) === 0 ? '' : '.' + digits(1 + rnd(12)));
  });
  let kept = 0;
  for (const token of [...fixed, ...random]) {
    const v = parseGoFloat(token);
    const same = v !== undefined && formatSampleValue(v) === token;
    const says = printsAsItself(`x ${token}\n`, 2, 2 + token.length);
    if (says) kept++;
    // Never a token that prints otherwise; every one that prints as itself, up to 15 digits.
    assert.ok(!says || same, token);
    const decimal = /^-?\d+(\.\d+)?$/.test(token);
    if (same && decimal && token.replace(/[-.]/g, '').replace(/^0+/, '').length <= 15) assert.ok(says, token);
  }
  assert.deepEqual(
    fixed.filter((t) => printsAsItself(t, 0, t.length)),
    [
      '0',
      '1',
      '10',
      '0.5',
      '-0.5',
      '999999',
      '-999999.5',
      '0.0001',
      '-0.0001234',
      '123456.789012345',
      '0.000123456789012345',
    ],
  );
  assert.ok(kept > 5000, `${kept}`);
});
