// Table-driven tests of the protobuf push parser. Bodies are built byte by byte with the small
// wire builder below (independent of the code under test). Every framing rule and error message
// was checked against the reference Pushgateway 1.5.1 (the 400 body of a PUT); the last tests
// repeat that check against a running reference when its binary is installed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { TimestampSchema } from '@bufbuild/protobuf/wkt';
import type { Metric, MetricFamily } from '../model.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  ProtobufParseError,
  type ProtobufParseErrorCode,
  parseProtobufDelimited,
} from './protobuf.js';
import { PROTOBUF_CONTENT_TYPE } from '../lib/contenttype.js';
import {
  BucketSchema,
  BucketSpanSchema,
  CounterSchema,
  ExemplarSchema,
  GaugeSchema,
  HistogramSchema,
  LabelPairSchema,
  MetricFamilySchema,
  MetricSchema,
  QuantileSchema,
  SummarySchema,
  UntypedSchema,
} from './gen/metrics_pb.js';
import { encodeProtobufDelimited } from '../expose/protobuf.js';
import { referenceAvailable, startServer, type RunningServer } from '../../test/support/servers.js';

// --- wire builder ------------------------------------------------------------------------------

type Bytes = number[];
const varint = (n: number | bigint): Bytes => {
  let x = BigInt.asUintN(64, BigInt(n));
  const out: Bytes = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
};
const tag = (field: number, wire: number): Bytes => varint(field * 8 + wire);
/** Varint field. */
const V = (field: number, n: number | bigint): Bytes => [...tag(field, 0), ...varint(n)];
/** Zigzag varint field. */
const Z = (field: number, n: number): Bytes => {
  const b = BigInt(n);
  return V(field, b >= 0n ? b * 2n : -b * 2n - 1n);
};
/** Double field. */
const D = (field: number, x: number): Bytes => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return [...tag(field, 1), ...b];
};
/** The 8 bytes of a double. */
const f64 = (x: number): Bytes => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return [...b];
};
/** Length-delimited field. */
const L = (field: number, content: Bytes): Bytes => [...tag(field, 2), ...varint(content.length), ...content];
/** String field (UTF-8). */
const S = (field: number, s: string): Bytes => L(field, [...Buffer.from(s, 'utf8')]);
/** A body of length-delimited messages. */
const body = (...messages: Bytes[]): Uint8Array =>
  Uint8Array.from(messages.flatMap((m) => [...varint(m.length), ...m]));
const raw = (...bytes: Bytes[]): Uint8Array => Uint8Array.from(bytes.flat());

// Messages.
const label = (name: string, value: string): Bytes => L(1, [...S(1, name), ...S(2, value)]);
const gaugeMsg = (v: number): Bytes => L(2, D(1, v));
const counterMsg = (v: number, ...extra: Bytes[]): Bytes => L(3, [...D(1, v), ...extra.flat()]);
const untypedMsg = (v: number): Bytes => L(5, D(1, v));
const metric = (...fields: Bytes[]): Bytes => L(4, fields.flat());
const family = (name: string, type: number | undefined, ...fields: Bytes[]): Bytes => [
  ...S(1, name),
  ...(type === undefined ? [] : V(3, type)),
  ...fields.flat(),
];
const ts = (seconds: number, nanos: number): Bytes => [...V(1, seconds), ...V(2, nanos)];

// Model shorthands.
const LP = (labels: Record<string, string> = {}) => Object.entries(labels).map(([name, value]) => ({ name, value }));
const fam = (
  name: string,
  type: MetricFamily['type'],
  metrics: Metric[],
  extra: Partial<MetricFamily> = {},
): MetricFamily => ({
  name,
  type,
  metrics,
  ...extra,
});

// --- valid bodies ------------------------------------------------------------------------------

interface Case {
  name: string;
  input: Uint8Array;
  want: MetricFamily[];
}

const valid: Case[] = [
  {
    name: 'gauge with help and labels',
    input: body(family('g', 1, S(2, 'help me'), metric(label('a', '1'), label('b', 'x y'), gaugeMsg(1.5)))),
    want: [
      fam('g', 'gauge', [{ labels: LP({ a: '1', b: 'x y' }), gauge: { value: 1.5 }, value: 1.5 }], { help: 'help me' }),
    ],
  },
  {
    name: 'empty help is kept as ""',
    input: body(family('g', 1, S(2, ''), metric(gaugeMsg(0)))),
    want: [fam('g', 'gauge', [{ labels: [], gauge: { value: 0 }, value: 0 }], { help: '' })],
  },
  {
    name: 'counter with exemplar and created timestamp',
    input: body(
      family(
        'c',
        0,
        metric(
          label('x', 'y'),
          counterMsg(
            7,
            L(2, [...label('trace_id', 'abc'), ...D(2, 1), ...L(3, ts(1700000000, 5))]),
            L(3, ts(1600000000, 0)),
          ),
        ),
      ),
    ),
    want: [
      fam('c', 'counter', [
        {
          labels: LP({ x: 'y' }),
          counter: {
            value: 7,
            exemplar: { labels: LP({ trace_id: 'abc' }), value: 1, timestamp: { seconds: 1700000000, nanos: 5 } },
            createdTimestamp: { seconds: 1600000000, nanos: 0 },
          },
          value: 7,
        },
      ]),
    ],
  },
  {
    name: 'untyped, and special floats',
    input: body(
      family(
        'u',
        3,
        metric(untypedMsg(NaN)),
        metric(label('i', '1'), untypedMsg(-Infinity)),
        metric(label('i', '2'), untypedMsg(-0)),
      ),
    ),
    want: [
      fam('u', 'untyped', [
        { labels: [], untyped: { value: NaN }, value: NaN },
        { labels: LP({ i: '1' }), untyped: { value: -Infinity }, value: -Infinity },
        { labels: LP({ i: '2' }), untyped: { value: -0 }, value: -0 },
      ]),
    ],
  },
  {
    name: 'summary with quantiles and created timestamp',
    input: body(
      family(
        's',
        2,
        metric(
          L(4, [
            ...V(1, 4),
            ...D(2, 1e-7),
            ...L(3, [...D(1, 0.5), ...D(2, 3)]),
            ...L(3, [...D(1, 0.99), ...D(2, NaN)]),
            ...L(4, ts(5, 6)),
          ]),
        ),
      ),
    ),
    want: [
      fam('s', 'summary', [
        {
          labels: [],
          summary: {
            sampleCount: 4,
            sampleSum: 1e-7,
            quantiles: [
              { quantile: 0.5, value: 3 },
              { quantile: 0.99, value: NaN },
            ],
            createdTimestamp: { seconds: 5, nanos: 6 },
          },
        },
      ]),
    ],
  },
  {
    name: 'classic histogram with float counts and a bucket exemplar',
    input: body(
      family(
        'h',
        4,
        metric(
          L(7, [
            ...V(1, 3),
            ...D(2, 2.5),
            ...L(3, [...V(1, 2), ...D(2, 1), ...L(3, [...label('t', 'x'), ...D(2, 0.5)])]),
            ...L(3, [...V(1, 3), ...D(2, Infinity), ...D(4, 3.5)]),
            ...D(4, 3.5),
          ]),
        ),
      ),
    ),
    want: [
      fam('h', 'histogram', [
        {
          labels: [],
          histogram: {
            sampleCount: 3,
            sampleSum: 2.5,
            sampleCountFloat: 3.5,
            buckets: [
              { upperBound: 1, cumulativeCount: 2, exemplar: { labels: LP({ t: 'x' }), value: 0.5 } },
              { upperBound: Infinity, cumulativeCount: 3, cumulativeCountFloat: 3.5 },
            ],
          },
        },
      ]),
    ],
  },
  {
    name: 'native histogram: schema, zero bucket, spans, deltas, counts, exemplars',
    input: body(
      family(
        'n',
        4,
        metric(
          L(7, [
            ...V(1, 10),
            ...D(2, 12),
            ...Z(5, -3),
            ...D(6, 1e-128),
            ...V(7, 2),
            ...D(8, 2.5),
            ...L(9, [...Z(1, -2), ...V(2, 2)]),
            ...Z(10, 1),
            ...Z(10, -1),
            ...D(11, 0.5),
            ...L(12, [...Z(1, 0), ...V(2, 1)]),
            ...L(12, [...Z(1, 3), ...V(2, 2)]),
            ...Z(13, 4),
            ...Z(13, -2),
            ...Z(13, 0),
            ...D(14, 7),
            ...L(15, ts(10, 20)),
            ...L(16, [...label('trace_id', 'q'), ...D(2, 3), ...L(3, ts(11, 0))]),
          ]),
        ),
      ),
    ),
    want: [
      fam('n', 'histogram', [
        {
          labels: [],
          histogram: {
            sampleCount: 10,
            sampleSum: 12,
            buckets: [],
            schema: -3,
            zeroThreshold: 1e-128,
            zeroCount: 2,
            zeroCountFloat: 2.5,
            negativeSpans: [{ offset: -2, length: 2 }],
            negativeDeltas: [1, -1],
            negativeCounts: [0.5],
            positiveSpans: [
              { offset: 0, length: 1 },
              { offset: 3, length: 2 },
            ],
            positiveDeltas: [4, -2, 0],
            positiveCounts: [7],
            createdTimestamp: { seconds: 10, nanos: 20 },
            exemplars: [{ labels: LP({ trace_id: 'q' }), value: 3, timestamp: { seconds: 11, nanos: 0 } }],
          },
        },
      ]),
    ],
  },
  {
    name: 'packed repeated deltas and counts read like unpacked ones',
    input: body(
      family('p', 4, metric(L(7, [...L(13, [...varint(8), ...varint(3)]), ...L(11, [...f64(1.5), ...f64(2.5)])]))),
    ),
    want: [
      fam('p', 'histogram', [
        {
          labels: [],
          histogram: {
            sampleCount: 0,
            sampleSum: 0,
            buckets: [],
            positiveDeltas: [4, -2],
            negativeCounts: [1.5, 2.5],
            unset: ['sampleCount', 'sampleSum'],
          },
        },
      ]),
    ],
  },
  {
    name: 'gauge histogram',
    input: body(family('gh', 5, metric(L(7, [...V(1, 1), ...D(2, 1), ...L(3, [...V(1, 1), ...D(2, 5)])])))),
    want: [
      fam('gh', 'gaugehistogram', [
        { labels: [], histogram: { sampleCount: 1, sampleSum: 1, buckets: [{ upperBound: 5, cumulativeCount: 1 }] } },
      ]),
    ],
  },
  {
    name: 'no type field means COUNTER',
    input: body(family('c', undefined, metric(counterMsg(1)))),
    want: [fam('c', 'counter', [{ labels: [], counter: { value: 1 }, value: 1 }])],
  },
  {
    name: 'an enum value outside MetricType is kept as typeNumber',
    input: body(family('t9', 9, metric(gaugeMsg(3))), family('tm', -1, metric(untypedMsg(1)))),
    want: [
      fam('t9', 'untyped', [{ labels: [], gauge: { value: 3 } }], { typeNumber: 9 }),
      fam('tm', 'untyped', [{ labels: [], untyped: { value: 1 } }], { typeNumber: -1 }),
    ],
  },
  {
    name: 'value fields not matching the family type are kept as they came',
    input: body(
      family('gc', 1, metric(counterMsg(3))),
      family('cg', 0, metric(label('x', 'y'), gaugeMsg(3), untypedMsg(4), L(4, V(1, 2)))),
      family('gg', 1, metric(gaugeMsg(3), counterMsg(4))),
      family('sv', 2, metric(gaugeMsg(1))),
    ),
    want: [
      fam('gc', 'gauge', [{ labels: [], counter: { value: 3 } }]),
      fam('cg', 'counter', [
        {
          labels: LP({ x: 'y' }),
          gauge: { value: 3 },
          untyped: { value: 4 },
          summary: { sampleCount: 2, sampleSum: 0, quantiles: [], unset: ['sampleSum'] },
        },
      ]),
      fam('gg', 'gauge', [{ labels: [], gauge: { value: 3 }, counter: { value: 4 }, value: 3 }]),
      fam('sv', 'summary', [{ labels: [], gauge: { value: 1 } }]),
    ],
  },
  {
    name: 'a metric without any value field, and a value message without a value',
    input: body(family('nv', 1, metric(label('a', 'b'))), family('eg', 1, metric(L(2, [])))),
    want: [fam('nv', 'gauge', [{ labels: LP({ a: 'b' }) }]), fam('eg', 'gauge', [{ labels: [], gauge: {}, value: 0 }])],
  },
  {
    name: 'timestamp_ms, negative too',
    input: body(family('t', 1, metric(gaugeMsg(1), V(6, 1234)), metric(label('n', '1'), gaugeMsg(2), V(6, -5)))),
    want: [
      fam('t', 'gauge', [
        { labels: [], gauge: { value: 1 }, value: 1, timestampMs: 1234 },
        { labels: LP({ n: '1' }), gauge: { value: 2 }, value: 2, timestampMs: -5 },
      ]),
    ],
  },
  {
    name: 'unit',
    input: body(family('u', 1, S(5, 'seconds'), metric(gaugeMsg(1)))),
    want: [fam('u', 'gauge', [{ labels: [], gauge: { value: 1 }, value: 1 }], { unit: 'seconds' })],
  },
  {
    name: 'families without name or metrics are kept',
    input: body([], family('', 0, metric(counterMsg(3))), family('nm', 1)),
    want: [fam('', 'counter', [{ labels: [], counter: { value: 3 }, value: 3 }]), fam('nm', 'gauge', [])],
  },
  {
    name: 'a later family of the same name replaces the earlier one, in its place',
    input: body(
      family('d', 1, metric(gaugeMsg(1))),
      family('e', 1, metric(gaugeMsg(5))),
      family('d', 1, metric(label('a', 'b'), gaugeMsg(2))),
    ),
    want: [
      fam('d', 'gauge', [{ labels: LP({ a: 'b' }), gauge: { value: 2 }, value: 2 }]),
      fam('e', 'gauge', [{ labels: [], gauge: { value: 5 }, value: 5 }]),
    ],
  },
  {
    name: 'a known field with the wrong wire type is skipped as unknown',
    input: body([...V(1, 5), ...family('ww', 1, metric(D(1, 3), L(6, []), gaugeMsg(3)))]),
    want: [fam('ww', 'gauge', [{ labels: [], gauge: { value: 3 }, value: 3 }])],
  },
  {
    name: 'unknown fields of every skippable wire type, groups nested or with any end number',
    input: body([
      ...family('uk', 1, metric(gaugeMsg(3), V(20, 7), S(21, 'zz'), D(22, 1), [...tag(23, 5), 1, 2, 3, 4])),
      ...tag(30, 3),
      ...V(1, 1),
      ...tag(2, 3),
      ...tag(2, 4),
      ...tag(31, 4),
      ...tag(99999999, 0),
      1,
    ]),
    want: [fam('uk', 'gauge', [{ labels: [], gauge: { value: 3 }, value: 3 }])],
  },
  {
    name: 'a scalar given twice: the last wins; a message given twice: they merge',
    input: body(
      family(
        'x',
        0,
        S(1, 'mg'),
        V(3, 1),
        metric(gaugeMsg(3), L(2, []), label('a', 'b'), label('c', 'd')),
        metric(L(2, D(1, 3)), L(2, D(1, 5))),
        metric(
          label('h', '1'),
          L(7, [...V(1, 1), ...L(3, [...V(1, 1), ...D(2, 1)])]),
          L(7, [...D(2, 9), ...L(3, [...V(1, 2), ...D(2, 2)])]),
          L(5, D(1, 1)),
          counterMsg(1, L(2, label('a', '1')), L(3, V(1, 5))),
          L(3, [...L(2, [...label('b', '2'), ...D(2, 4)]), ...L(3, V(2, 6))]),
        ),
      ),
    ),
    want: [
      fam('mg', 'gauge', [
        { labels: LP({ a: 'b', c: 'd' }), gauge: { value: 3 }, value: 3 },
        { labels: [], gauge: { value: 5 }, value: 5 },
        {
          labels: LP({ h: '1' }),
          histogram: {
            sampleCount: 1,
            sampleSum: 9,
            buckets: [
              { upperBound: 1, cumulativeCount: 1 },
              { upperBound: 2, cumulativeCount: 2 },
            ],
          },
          untyped: { value: 1 },
          counter: {
            value: 1,
            exemplar: { labels: LP({ a: '1', b: '2' }), value: 4 },
            createdTimestamp: { seconds: 5, nanos: 6 },
          },
        },
      ]),
    ],
  },
  {
    name: 'optional fields left out are listed in unset',
    input: body(
      family(
        'un',
        2,
        metric(L(1, S(2, 'v')), L(1, S(1, 'n')), L(1, []), L(4, [...D(2, 1.5), ...L(3, D(1, 0.5)), ...L(3, D(2, 1))])),
        metric(
          L(7, [...V(1, 3), ...L(3, D(2, 1)), ...L(3, V(1, 2)), ...L(9, []), ...L(12, Z(1, -1)), ...L(12, V(2, 3))]),
        ),
        metric(counterMsg(1, L(2, label('e', 'f')))),
      ),
    ),
    want: [
      fam('un', 'summary', [
        {
          labels: [
            { name: '', value: 'v', unset: ['name'] },
            { name: 'n', value: '', unset: ['value'] },
            { name: '', value: '', unset: ['name', 'value'] },
          ],
          summary: {
            sampleCount: 0,
            sampleSum: 1.5,
            quantiles: [
              { quantile: 0.5, value: 0, unset: ['value'] },
              { quantile: 0, value: 1, unset: ['quantile'] },
            ],
            unset: ['sampleCount'],
          },
        },
        {
          labels: [],
          histogram: {
            sampleCount: 3,
            sampleSum: 0,
            buckets: [
              { upperBound: 1, cumulativeCount: 0, unset: ['cumulativeCount'] },
              { upperBound: 0, cumulativeCount: 2, unset: ['upperBound'] },
            ],
            negativeSpans: [{ offset: 0, length: 0, unset: ['offset', 'length'] }],
            positiveSpans: [
              { offset: -1, length: 0, unset: ['length'] },
              { offset: 0, length: 3, unset: ['offset'] },
            ],
            unset: ['sampleSum'],
          },
        },
        { labels: [], counter: { value: 1, exemplar: { labels: LP({ e: 'f' }), value: 0, unset: ['value'] } } },
      ]),
    ],
  },
  {
    name: 'presence of optional fields in a body the reference accepts',
    input: body(
      family('ps', 2, metric(label('a', '1'), L(4, [...V(1, 2), ...L(3, D(1, 0.5)), ...L(3, D(2, 7))]))),
      family('ph', 4, metric(L(7, [...D(2, 1.5), ...L(3, D(2, 1)), ...L(9, V(2, 1))]))),
      family('pc', 0, metric(counterMsg(1, L(2, label('e', 'f'))))),
    ),
    want: [
      fam('ps', 'summary', [
        {
          labels: LP({ a: '1' }),
          summary: {
            sampleCount: 2,
            sampleSum: 0,
            quantiles: [
              { quantile: 0.5, value: 0, unset: ['value'] },
              { quantile: 0, value: 7, unset: ['quantile'] },
            ],
            unset: ['sampleSum'],
          },
        },
      ]),
      fam('ph', 'histogram', [
        {
          labels: [],
          histogram: {
            sampleCount: 0,
            sampleSum: 1.5,
            buckets: [{ upperBound: 1, cumulativeCount: 0, unset: ['cumulativeCount'] }],
            negativeSpans: [{ offset: 0, length: 1, unset: ['offset'] }],
            unset: ['sampleCount'],
          },
        },
      ]),
      fam('pc', 'counter', [
        {
          labels: [],
          counter: { value: 1, exemplar: { labels: LP({ e: 'f' }), value: 0, unset: ['value'] } },
          value: 1,
        },
      ]),
    ],
  },
  {
    name: 'integers: uint64 and int64 extremes, int32 and uint32 truncation as in Go',
    input: body(
      family(
        'i',
        4,
        metric(
          L(7, [
            ...V(1, 2n ** 64n - 1n),
            ...V(7, 2n ** 53n),
            ...L(9, [...V(1, 2n ** 33n + 6n), ...V(2, 2n ** 32n + 5n)]),
            ...L(12, V(1, 2n ** 32n + 6n)),
            ...Z(10, -(2 ** 53)),
            ...Z(10, 2 ** 53),
          ]),
          V(6, -(2n ** 63n)),
        ),
      ),
    ),
    want: [
      fam('i', 'histogram', [
        {
          labels: [],
          histogram: {
            sampleCount: 2 ** 64, // 2^64 - 1 as the nearest double
            sampleSum: 0,
            buckets: [],
            zeroCount: 2 ** 53,
            negativeSpans: [{ offset: 3, length: 5 }],
            positiveSpans: [{ offset: -2147483645, length: 0, unset: ['length'] }],
            negativeDeltas: [-(2 ** 53), 2 ** 53],
            unset: ['sampleSum'],
          },
          timestampMs: -(2 ** 63),
        },
      ]),
    ],
  },
  {
    name: 'a malformed created timestamp is dropped, as the reference only skips it',
    input: body(
      family(
        'ct',
        0,
        metric(counterMsg(1, L(3, [0, 0]))),
        metric(label('a', '1'), L(4, [...V(1, 1), ...L(4, [...V(1, 5), 0xff])])),
        metric(label('a', '2'), L(7, [...V(1, 1), ...L(15, [...tag(1, 7)]), ...L(16, [...label('a', 'b'), 0, 0])])),
      ),
    ),
    want: [
      fam('ct', 'counter', [
        { labels: [], counter: { value: 1 }, value: 1 },
        { labels: LP({ a: '1' }), summary: { sampleCount: 1, sampleSum: 0, quantiles: [], unset: ['sampleSum'] } },
        { labels: LP({ a: '2' }), histogram: { sampleCount: 1, sampleSum: 0, buckets: [], unset: ['sampleSum'] } },
      ]),
    ],
  },
  {
    name: 'invalid UTF-8 is kept byte for byte (as U+DC80..U+DCFF)',
    input: body([
      ...L(1, [0x61, 0xff]),
      ...V(3, 1),
      ...metric(L(1, [...S(1, 'a'), ...L(2, [0xe2, 0x82, 0x28, 0xed, 0xa0, 0x80])]), gaugeMsg(3)),
    ]),
    want: [
      fam('a\udcff', 'gauge', [
        { labels: [{ name: 'a', value: '\udce2\udc82(\udced\udca0\udc80' }], gauge: { value: 3 }, value: 3 },
      ]),
    ],
  },
  {
    name: 'UTF-8 strings',
    input: body(family('ü', 1, S(2, 'ä€ 😀'), metric(label('x', 'ä€'), gaugeMsg(1)))),
    want: [fam('ü', 'gauge', [{ labels: LP({ x: 'ä€' }), gauge: { value: 1 }, value: 1 }], { help: 'ä€ 😀' })],
  },
];

describe('parseProtobufDelimited: valid bodies', () => {
  for (const c of valid) {
    test(c.name, () => {
      assert.deepStrictEqual(parseProtobufDelimited(c.input), c.want);
    });
  }
});

// --- framing -----------------------------------------------------------------------------------

const one = family('g', 1, metric(gaugeMsg(1)));
const oneWant = [fam('g', 'gauge', [{ labels: [], gauge: { value: 1 }, value: 1 }])];

interface FrameCase {
  name: string;
  input: Uint8Array;
  want?: MetricFamily[];
  code?: ProtobufParseErrorCode;
  error?: string;
  offset?: number;
  /** Not pushed to the reference (it would try to allocate 32 GiB). */
  noReference?: true;
}

const framing: FrameCase[] = [
  { name: 'empty body', input: raw(), want: [] },
  { name: 'one message', input: body(one), want: oneWant },
  { name: 'zero-length message: a family without name', input: raw([0]), want: [fam('', 'counter', [])] },
  { name: 'a length prefix cut short at the end is a clean end', input: raw([...body(one)], [0x80]), want: oneWant },
  { name: 'four continuation bytes at the end: still a clean end', input: raw([0x80, 0x80, 0x80, 0x80]), want: [] },
  { name: 'a length with nothing after it is a clean end', input: raw([...body(one)], [5]), want: oneWant },
  { name: 'even a length of 2^32-1 with nothing after it', input: raw([0xff, 0xff, 0xff, 0xff, 0x0f]), want: [] },
  { name: 'a non-minimal length prefix', input: raw([0x80 | one.length, 0x00], one), want: oneWant },
  {
    name: 'a length prefix of more than 5 bytes',
    input: raw([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
    code: 'invalid-varint',
    error: 'invalid varint32 encountered',
    offset: 0,
  },
  {
    name: 'five continuation bytes at the very end',
    input: raw([...body(one)], [0x80, 0x80, 0x80, 0x80, 0x80]),
    code: 'invalid-varint',
    error: 'invalid varint32 encountered',
    offset: one.length + 1,
  },
  {
    name: 'a message cut short',
    input: body(one).subarray(0, 5),
    code: 'unexpected-eof',
    error: 'unexpected EOF',
    offset: 0,
  },
  { name: 'a length past the end', input: raw(varint(100), one), code: 'unexpected-eof', error: 'unexpected EOF' },
  {
    name: 'a length of 2^35-1 with one byte after it',
    input: raw([0xff, 0xff, 0xff, 0xff, 0x7f, 0]),
    code: 'unexpected-eof',
    error: 'unexpected EOF',
    noReference: true,
  },
  { name: 'a text body', input: raw([...Buffer.from('foo 1\n')]), code: 'unexpected-eof', error: 'unexpected EOF' },
  {
    name: 'an error after good families rejects the whole body',
    input: raw([...body(one, one)], [...body([0, 0])]),
    code: 'illegal-tag',
    error: 'proto: io_prometheus_client.MetricFamily: illegal tag 0 (wire type 0)',
    offset: 2 * (one.length + 1),
  },
];

describe('parseProtobufDelimited: framing', () => {
  for (const c of framing) {
    test(c.name, () => {
      if (c.want !== undefined) {
        assert.deepStrictEqual(parseProtobufDelimited(c.input), c.want);
        return;
      }
      assert.throws(
        () => parseProtobufDelimited(c.input),
        (e: unknown) => {
          assert.ok(e instanceof ProtobufParseError);
          assert.equal(e.name, 'ProtobufParseError');
          assert.equal(e.code, c.code);
          assert.equal(e.message, c.error);
          if (c.offset !== undefined) assert.equal(e.offset, c.offset);
          return true;
        },
      );
    });
  }
});

// --- errors inside a message -------------------------------------------------------------------

const EOF = 'unexpected EOF';
const tag0 = (type: string, wire = 0) => `proto: ${type}: illegal tag 0 (wire type ${wire})`;
const P = 'io_prometheus_client.';
const skip = (wire: number) => `proto: can't skip unknown wire type ${wire}`;

/** Message bodies (without the length prefix) and the reference's error for each. */
const errors: { name: string; message: Bytes; error: string }[] = [
  { name: 'garbage', message: [0xff, 0xff, 0xff], error: EOF },
  { name: 'tag 0, wire type 7', message: [0x07, 1, 2], error: tag0(P + 'MetricFamily', 7) },
  { name: 'tag 0 in MetricFamily', message: [0, 0], error: tag0(P + 'MetricFamily') },
  { name: 'tag 0 in Metric', message: family('m', 1, metric([0, 0])), error: tag0(P + 'Metric') },
  { name: 'tag 0 in LabelPair', message: family('m', 1, metric(L(1, [0, 0]))), error: tag0(P + 'LabelPair') },
  { name: 'tag 0 in Gauge', message: family('m', 1, metric(L(2, [2, 0]))), error: tag0(P + 'Gauge', 2) },
  { name: 'tag 0 in Counter', message: family('m', 0, metric(L(3, [0, 0]))), error: tag0(P + 'Counter') },
  { name: 'tag 0 in Untyped', message: family('m', 3, metric(L(5, [0, 0]))), error: tag0(P + 'Untyped') },
  { name: 'tag 0 in Summary', message: family('m', 2, metric(L(4, [0, 0]))), error: tag0(P + 'Summary') },
  { name: 'tag 0 in Quantile', message: family('m', 2, metric(L(4, L(3, [0, 0])))), error: tag0(P + 'Quantile') },
  { name: 'tag 0 in Histogram', message: family('m', 4, metric(L(7, [0, 0]))), error: tag0(P + 'Histogram') },
  { name: 'tag 0 in Bucket', message: family('m', 4, metric(L(7, L(3, [0, 0])))), error: tag0(P + 'Bucket') },
  {
    name: 'tag 0 in BucketSpan',
    message: family('m', 4, metric(L(7, L(12, [4, 0])))),
    error: tag0(P + 'BucketSpan', 4),
  },
  {
    name: 'tag 0 in Exemplar',
    message: family('m', 0, metric(counterMsg(1, L(2, [0, 0])))),
    error: tag0(P + 'Exemplar'),
  },
  {
    name: 'tag 0 in an exemplar Timestamp',
    message: family('m', 0, metric(counterMsg(1, L(2, L(3, [0, 0]))))),
    error: tag0('timestamp.Timestamp'),
  },
  { name: 'wire type 6 on an unknown field', message: [...family('w', 1), ...tag(20, 6)], error: skip(6) },
  { name: 'wire type 7 on an unknown field', message: [...family('w', 1), ...tag(20, 7)], error: skip(7) },
  { name: 'wire type 6 on a known field', message: [...family('w', 1), ...tag(1, 6)], error: skip(6) },
  { name: 'an end-group tag outside a group', message: [...family('w', 1), ...tag(20, 4)], error: skip(4) },
  { name: 'an end-group tag inside a LabelPair', message: family('w', 1, metric(L(1, tag(1, 4)))), error: skip(4) },
  { name: 'an unterminated group', message: [...family('w', 1), ...tag(30, 3), ...V(1, 1)], error: EOF },
  {
    name: 'wire type 6 inside a group',
    message: [...family('w', 1), ...tag(30, 3), ...tag(1, 6), ...tag(30, 4)],
    error: EOF,
  },
  { name: 'a truncated varint', message: [...family('w', 1), ...tag(3, 0), 0x80], error: EOF },
  { name: 'a varint of 11 bytes', message: [...tag(3, 0), ...Array(10).fill(0x80), 0], error: EOF },
  { name: 'a 10-byte varint whose last byte is > 1', message: [...tag(3, 0), ...Array(9).fill(0xff), 2], error: EOF },
  { name: 'a truncated tag', message: [0x80], error: EOF },
  { name: 'a truncated double', message: family('w', 1, metric(L(2, [...tag(1, 1), 0, 0, 0]))), error: EOF },
  { name: 'a truncated fixed32 (unknown field)', message: [...tag(20, 5), 1, 2, 3], error: EOF },
  { name: 'a string longer than its message', message: [...tag(1, 2), 5, 0x61], error: EOF },
  { name: 'a metric longer than its family', message: [...tag(4, 2), 10, ...gaugeMsg(1)], error: EOF },
  {
    name: 'a packed double list of 7 bytes',
    message: family('w', 4, metric(L(7, L(11, [1, 2, 3, 4, 5, 6, 7])))),
    error: EOF,
  },
  {
    name: 'a packed sint64 list with a truncated varint',
    message: family('w', 4, metric(L(7, L(10, [0x80])))),
    error: EOF,
  },
  { name: 'an unknown length-delimited field past the end', message: [...tag(20, 2), 3, 1], error: EOF },
  {
    name: 'a truncated created_timestamp (not decoded by the reference, but still skipped)',
    message: family('w', 0, metric(L(3, [...tag(3, 2), 9, 1]))),
    error: EOF,
  },
];

describe('parseProtobufDelimited: errors inside a message', () => {
  for (const c of errors) {
    test(c.name, () => {
      assert.throws(
        () => parseProtobufDelimited(body(c.message)),
        (e: unknown) => e instanceof ProtobufParseError && e.message === c.error && e.offset === 0,
      );
    });
  }
});

// --- limits ------------------------------------------------------------------------------------

describe('parseProtobufDelimited: limits', () => {
  test('a message of exactly maxMessageBytes is accepted, one byte more is refused', () => {
    const msg = family('g', 1, metric(gaugeMsg(1)));
    assert.deepStrictEqual(parseProtobufDelimited(body(msg), { maxMessageBytes: msg.length }), oneWant);
    assert.throws(
      () => parseProtobufDelimited(body(msg), { maxMessageBytes: msg.length - 1 }),
      (e: unknown) =>
        e instanceof ProtobufParseError &&
        e.code === 'message-too-large' &&
        e.message === `protobuf message of ${msg.length} bytes exceeds the limit of ${msg.length - 1} bytes`,
    );
  });

  test('the length is checked before the message is looked at', () => {
    const garbage = [0, 0, 0, 0];
    assert.throws(
      () => parseProtobufDelimited(body(garbage), { maxMessageBytes: 3 }),
      (e: unknown) => e instanceof ProtobufParseError && e.code === 'message-too-large',
    );
  });

  test("a length prefix beyond the body is the reference's EOF, whatever the limit", () => {
    // Nothing is allocated for the announced 32 GiB: the body is already in memory.
    const input = raw([0xff, 0xff, 0xff, 0xff, 0x7f], one);
    assert.throws(
      () => parseProtobufDelimited(input, { maxMessageBytes: 10 }),
      (e: unknown) => e instanceof ProtobufParseError && e.code === 'unexpected-eof',
    );
  });

  test('the default maximum is 64 MiB', () => {
    assert.equal(DEFAULT_MAX_MESSAGE_BYTES, 64 * 1024 * 1024);
    const big = new Uint8Array(DEFAULT_MAX_MESSAGE_BYTES + 10);
    big.set(varint(DEFAULT_MAX_MESSAGE_BYTES + 1), 0);
    assert.throws(
      () => parseProtobufDelimited(big),
      (e: unknown) => e instanceof ProtobufParseError && e.code === 'message-too-large',
    );
  });

  test('maxFamilies counts messages, before families of the same name merge', () => {
    const input = body(one, one, one);
    assert.equal(parseProtobufDelimited(input, { maxFamilies: 3 }).length, 1);
    assert.throws(
      () => parseProtobufDelimited(input, { maxFamilies: 2 }),
      (e: unknown) =>
        e instanceof ProtobufParseError &&
        e.code === 'too-many-families' &&
        e.message === 'protobuf body holds more than 2 metric families' &&
        e.offset === 2 * (one.length + 1),
    );
  });
});

// --- cross-check with @bufbuild/protobuf ------------------------------------------------------

/** A deterministic pseudo-random source. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), bool: () => next() < 0.5 };
}

describe('agrees with @bufbuild/protobuf on valid messages', () => {
  test('random messages encoded by the library decode to the same bytes again', () => {
    const r = rng(42);
    const f = () => [0, 1, -1, 0.5, 1e300, Infinity, NaN, r.next()][r.int(8)];
    const str = () => ['', 'a', 'job', 'ä€', 'x'.repeat(40)][r.int(5)];
    const tsm = () => create(TimestampSchema, { seconds: BigInt(r.int(2e9)), nanos: r.int(1e9) });
    const labels = () => Array.from({ length: r.int(3) }, () => create(LabelPairSchema, { name: str(), value: str() }));
    const ex = () => create(ExemplarSchema, { label: labels(), value: f(), ...(r.bool() ? { timestamp: tsm() } : {}) });
    for (let i = 0; i < 300; i++) {
      const metrics = Array.from({ length: r.int(4) }, () => {
        const m = create(MetricSchema, { label: labels() });
        if (r.bool()) m.gauge = create(GaugeSchema, { value: f() });
        if (r.bool())
          m.counter = create(CounterSchema, {
            value: f(),
            ...(r.bool() ? { exemplar: ex() } : {}),
            ...(r.bool() ? { createdTimestamp: tsm() } : {}),
          });
        if (r.bool()) m.untyped = create(UntypedSchema, { value: f() });
        if (r.bool()) {
          m.summary = create(SummarySchema, {
            sampleCount: BigInt(r.int(1000)),
            sampleSum: f(),
            quantile: Array.from({ length: r.int(3) }, () => create(QuantileSchema, { quantile: f(), value: f() })),
          });
        }
        if (r.bool()) {
          m.histogram = create(HistogramSchema, {
            sampleCount: BigInt(r.int(1000)),
            sampleSum: f(),
            bucket: Array.from({ length: r.int(3) }, () =>
              create(BucketSchema, {
                cumulativeCount: BigInt(r.int(100)),
                upperBound: f(),
                ...(r.bool() ? { exemplar: ex() } : {}),
              }),
            ),
            ...(r.bool()
              ? {
                  schema: r.int(17) - 8,
                  zeroThreshold: f(),
                  zeroCount: BigInt(r.int(10)),
                  positiveSpan: [create(BucketSpanSchema, { offset: r.int(10) - 5, length: r.int(4) })],
                  positiveDelta: [BigInt(r.int(10) - 5), 3n],
                  negativeCount: [f()],
                  exemplars: [ex()],
                }
              : {}),
          });
        }
        if (r.bool()) m.timestampMs = BigInt(r.int(2e12) - 1e12);
        return m;
      });
      const msg = create(MetricFamilySchema, {
        name: 'f' + i,
        type: r.int(6),
        metric: metrics,
        ...(r.bool() ? { help: str() } : {}),
      });
      const bytes = toBinary(MetricFamilySchema, msg);
      const input = raw(varint(bytes.length), [...bytes]);
      const parsed = parseProtobufDelimited(input);
      assert.equal(parsed.length, 1);
      assert.equal(parsed[0].name, msg.name);
      assert.equal(parsed[0].metrics.length, msg.metric.length);
      assert.deepStrictEqual(encodeProtobufDelimited(parsed), input, `message ${i}`);
      // And the library reads our model's encoding as the message it started from.
      assert.ok(fromBinary(MetricFamilySchema, bytes).metric.length === parsed[0].metrics.length);
    }
  });
});

// --- robustness --------------------------------------------------------------------------------

describe('malformed input', () => {
  test('random mutations either parse or throw ProtobufParseError', () => {
    const r = rng(7);
    const base = valid.slice(0, 8).flatMap((c) => [...c.input]);
    for (let i = 0; i < 3000; i++) {
      const b = [...base];
      for (let k = 1 + r.int(4); k > 0; k--) {
        const p = r.int(b.length);
        const op = r.int(3);
        if (op === 0) b[p] = r.int(256);
        else if (op === 1) b.splice(p, 0, r.int(256));
        else b.splice(p, 1);
      }
      try {
        parseProtobufDelimited(Uint8Array.from(b));
      } catch (e) {
        assert.ok(e instanceof ProtobufParseError, String(e));
      }
    }
  });
});

// --- against the reference ---------------------------------------------------------------------

describe(
  'the reference Pushgateway agrees',
  { skip: !referenceAvailable() && 'reference binary not installed' },
  () => {
    let ref: RunningServer;
    before(async () => {
      ref = await startServer('reference');
    });
    after(async () => {
      await ref?.stop();
    });

    async function push(input: Uint8Array, job = 'pb'): Promise<[number, string]> {
      const res = await fetch(`${ref.url}/metrics/job/${job}`, {
        method: 'PUT',
        body: Buffer.from(input),
        headers: { 'content-type': PROTOBUF_CONTENT_TYPE },
      });
      return [res.status, await res.text()];
    }

    /** Our verdict in the reference's terms: its 400 message, or 'ok'. */
    function ours(input: Uint8Array): string {
      try {
        parseProtobufDelimited(input);
        return 'ok';
      } catch (e) {
        if (!(e instanceof ProtobufParseError)) throw e;
        return e.message;
      }
    }

    /** The reference's verdict on parsing alone (a later consistency error means it parsed). */
    function theirs([status, text]: [number, string]): string {
      return status === 200 || text.startsWith('pushed metrics are invalid') ? 'ok' : text.replace(/\n$/, '');
    }

    test('framing and error tables', async () => {
      const all: [string, Uint8Array][] = [
        ...framing.filter((c) => !c.noReference).map((c): [string, Uint8Array] => [c.name, c.input]),
        ...errors.map((c): [string, Uint8Array] => [c.name, body(c.message)]),
      ];
      for (const [name, input] of all) {
        assert.equal(ours(input), theirs(await push(input)), name);
      }
      await fetch(`${ref.url}/metrics/job/pb`, { method: 'DELETE' });
    });

    test('valid bodies are accepted and read back as we read them', async () => {
      const CT = PROTOBUF_CONTENT_TYPE;
      const compared: string[] = [];
      for (const c of valid) {
        const [status, text] = await push(c.input, 'v');
        assert.equal(theirs([status, text]), 'ok', `${c.name}: ${text}`);
        if (status !== 200) continue;
        compared.push(c.name);
        const res = await fetch(`${ref.url}/metrics`, { headers: { accept: CT } });
        assert.equal(res.status, 200, c.name);
        const scraped = parseProtobufDelimited(new Uint8Array(await res.arrayBuffer()));
        await fetch(`${ref.url}/metrics/job/v`, { method: 'DELETE' });
        // The reference adds job and instance labels, sorts labels and metrics, and drops
        // families without metrics from a scrape.
        const norm = (fams: MetricFamily[], job?: string) =>
          fams
            .map((f) => ({
              ...f,
              metrics: f.metrics
                .filter((m) => job === undefined || m.labels.some((l) => l.name === 'job' && l.value === job))
                .map((m) => ({
                  ...m,
                  labels: m.labels
                    .filter((l) => l.name !== 'job' && l.name !== 'instance')
                    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
                }))
                .sort((a, b) => (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1)),
            }))
            .filter((f) => !f.name.startsWith('push_') && f.metrics.length > 0)
            .sort((a, b) => (a.name < b.name ? -1 : 1));
        const pushed = norm(c.want).map((f) => {
          const { unit: _unit, ...rest } = f; // MetricFamily.unit is unknown to the reference and dropped
          return rest;
        });
        assert.deepStrictEqual(norm(scraped, 'v'), pushed, c.name);
      }
      // The rest fail the reference's consistency check (after parsing), e.g. for timestamps.
      assert.ok(compared.length >= 18, compared.join(', '));
    });

    test('random mutations of valid bodies: the same verdict and message', async () => {
      const r = rng(2024);
      const seeds = valid.map((c) => [...c.input]);
      for (let i = 0; i < 400; i++) {
        const b = [...seeds[r.int(seeds.length)], ...(r.bool() ? seeds[r.int(seeds.length)] : [])];
        for (let k = 1 + r.int(3); k > 0; k--) {
          const p = r.int(b.length + 1);
          const op = r.int(4);
          if (op === 0) b[p % b.length] = r.int(256);
          else if (op === 1) b.splice(p, 0, r.int(256));
          else if (op === 2) b.splice(p % b.length, 1);
          else b.length = p;
        }
        const input = Uint8Array.from(b);
        assert.equal(ours(input), theirs(await push(input, 'm')), Buffer.from(input).toString('hex'));
      }
    });
  },
);
