import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goJson, goTime } from './json.js';
import { encodeProtobufDelimited } from './protobuf.js';
import { testGateway } from '../testing/gateway.js';
import type { MetricFamily } from '../model.js';

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

test('/api/v1/metrics: a classic histogram with float counts shows them, count and buckets alike, as upstream 1.10', async () => {
  const gw = await testGateway();
  const family: MetricFamily = {
    name: 'fh',
    type: 'histogram',
    help: 'h',
    metrics: [
      {
        labels: [],
        histogram: {
          sampleCount: 0,
          sampleSum: 3.5,
          sampleCountFloat: 4.5,
          buckets: [
            { upperBound: 1, cumulativeCount: 0, cumulativeCountFloat: 1.5 },
            { upperBound: 2, cumulativeCount: 3 },
          ],
        },
      },
    ],
  };
  const push = await gw.request('PUT', '/metrics/job/fh', encodeProtobufDelimited([family]), {
    'content-type': 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
  });
  assert.equal(push.status, 200, push.text);
  const body = JSON.parse((await gw.request('GET', '/api/v1/metrics')).text) as {
    data: Array<Record<string, { metrics: unknown[] }>>;
  };
  // Upstream ≥ 1.10 (api/v1: the float field when it is above 0, else the integer one); Debian's
  // 1.5.1 shows count "0" and bucket "1" as "0".
  assert.deepEqual(body.data[0].fh.metrics, [
    { labels: { instance: '', job: 'fh' }, buckets: { '1': '1.5', '2': '3' }, count: '4.5', sum: '3.5' },
  ]);
});
