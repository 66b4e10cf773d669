import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goJson, goTime } from './json.js';

const cases: Array<[string, unknown, string]> = [
  [
    'map keys sort as strings, integer-like ones too',
    new Map([
      ['10', 1],
      ['+Inf', 2],
      ['0.5', 3],
      ['1', 4],
    ]),
    '{"+Inf":2,"0.5":3,"1":4,"10":1}',
  ],
  [
    'struct fields keep their order',
    { time_stamp: 't', type: 'GAUGE', metrics: [] },
    '{"time_stamp":"t","type":"GAUGE","metrics":[]}',
  ],
  ['HTML characters escaped as Go does', '<a & b>', '"\\u003ca \\u0026 b\\u003e"'],
  ['line separators escaped', '\u2028\u2029', '"\\u2028\\u2029"'],
  [
    'nested',
    {
      data: [
        new Map([
          ['b', true],
          ['a', null],
        ]),
      ],
    },
    '{"data":[{"a":null,"b":true}]}',
  ],
];
for (const [name, value, want] of cases) test(`goJson: ${name}`, () => assert.equal(goJson(value), want));

test('goTime: RFC 3339 with trailing zeros trimmed', () => {
  assert.equal(goTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678) + 0.9), '2026-01-02T03:04:05.6789Z');
  assert.equal(goTime(Date.UTC(2026, 0, 2, 3, 4, 5)), '2026-01-02T03:04:05Z');
});
