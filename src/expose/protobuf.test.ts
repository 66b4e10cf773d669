// Table-driven tests of the protobuf encoder: exact bytes for hand-built expectations (the wire
// builder below is independent of the code under test), round trips through the parser, the
// library's own decoder, and pushes of our bodies to the reference Pushgateway 1.5.1, read back
// through its JSON API, its text exposition and its protobuf exposition.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fromBinary, isFieldSet, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import type { Timestamp as PbTimestamp } from '@bufbuild/protobuf/wkt';
import fc from 'fast-check';
import type {
  Bucket,
  BucketSpan,
  Exemplar,
  Histogram,
  LabelPair,
  Metric,
  MetricFamily,
  Quantile,
  Summary,
  Timestamp,
} from '../model.js';
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
  type Bucket as PbBucket,
  type BucketSpan as PbBucketSpan,
  type Exemplar as PbExemplar,
  type Histogram as PbHistogram,
  type LabelPair as PbLabelPair,
  type Metric as PbMetric,
  type MetricFamily as PbMetricFamily,
  type Summary as PbSummary,
} from '../parse/gen/metrics_pb.js';
import { parseProtobufDelimited } from '../parse/protobuf.js';
import { PROTOBUF_CONTENT_TYPE } from '../lib/contenttype.js';
import { encodeGoString } from '../lib/gostring.js';
import { encodeMetricFamily, encodeProtobufDelimited } from './protobuf.js';
import { formatCount, formatGoFloat } from '../lib/gofloat.js';
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
const V = (field: number, n: number | bigint): Bytes => [...tag(field, 0), ...varint(n)];
const Z = (field: number, n: number): Bytes => {
  const b = BigInt(n);
  return V(field, b >= 0n ? b * 2n : -b * 2n - 1n);
};
const D = (field: number, x: number): Bytes => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return [...tag(field, 1), ...b];
};
const L = (field: number, content: Bytes): Bytes => [...tag(field, 2), ...varint(content.length), ...content];
const S = (field: number, s: string): Bytes => L(field, [...Buffer.from(s, 'utf8')]);
const delimited = (...messages: Bytes[]): Bytes => messages.flatMap((m) => [...varint(m.length), ...m]);
const label = (name: string, value: string): Bytes => L(1, [...S(1, name), ...S(2, value)]);
const ts = (seconds: number, nanos: number): Bytes => [
  ...(seconds ? V(1, seconds) : []),
  ...(nanos ? V(2, nanos) : []),
];

const LP = (labels: Record<string, string> = {}) => Object.entries(labels).map(([name, value]) => ({ name, value }));

// --- exact bytes -------------------------------------------------------------------------------

interface Case {
  name: string;
  input: MetricFamily[];
  /** The body, as delimited messages. */
  want: Bytes[];
  /** Holds numbers that do not survive the trip (a NaN count). */
  lossy?: true;
}

const exact: Case[] = [
  {
    name: 'a gauge from the text parser: value goes into Metric.gauge',
    input: [{ name: 'g', help: 'h', type: 'gauge', metrics: [{ labels: LP({ a: '1', b: 'x' }), value: 1.5 }] }],
    want: [
      [...S(1, 'g'), ...S(2, 'h'), ...V(3, 1), ...L(4, [...label('a', '1'), ...label('b', 'x'), ...L(2, D(1, 1.5))])],
    ],
  },
  {
    name: 'counter and untyped values, zero written explicitly; no HELP, empty HELP',
    input: [
      { name: 'c', type: 'counter', metrics: [{ labels: [], value: 0 }] },
      { name: 'u', help: '', type: 'untyped', metrics: [{ labels: [], value: -Infinity }] },
    ],
    want: [
      [...S(1, 'c'), ...V(3, 0), ...L(4, L(3, D(1, 0)))],
      [...S(1, 'u'), ...S(2, ''), ...V(3, 3), ...L(4, L(5, D(1, -Infinity)))],
    ],
  },
  {
    name: 'no value: no value message',
    input: [{ name: 'g', type: 'gauge', metrics: [{ labels: [] }] }],
    want: [[...S(1, 'g'), ...V(3, 1), ...L(4, [])]],
  },
  {
    name: 'value messages as pushed win over value and type',
    input: [
      {
        name: 'c',
        type: 'counter',
        metrics: [
          { labels: [], value: 9, gauge: { value: 3 }, counter: {}, untyped: { value: 4 } },
          {
            labels: [],
            value: 9,
            counter: {
              value: 1,
              exemplar: { labels: LP({ t: 'x' }), value: 2, timestamp: { seconds: 5, nanos: 6 } },
              createdTimestamp: { seconds: 7, nanos: 0 },
            },
          },
        ],
      },
    ],
    want: [
      [
        ...S(1, 'c'),
        ...V(3, 0),
        ...L(4, [...L(2, D(1, 3)), ...L(3, []), ...L(5, D(1, 4))]),
        ...L(4, L(3, [...D(1, 1), ...L(2, [...label('t', 'x'), ...D(2, 2), ...L(3, ts(5, 6))]), ...L(3, ts(7, 0))])),
      ],
    ],
  },
  {
    name: 'summary, with timestamp_ms and a created timestamp',
    input: [
      {
        name: 's',
        type: 'summary',
        metrics: [
          {
            labels: [],
            summary: {
              sampleCount: 4,
              sampleSum: 1e-7,
              quantiles: [{ quantile: 0.5, value: NaN }],
              createdTimestamp: { seconds: 1, nanos: 2 },
            },
            timestampMs: -5,
          },
        ],
      },
    ],
    want: [
      [
        ...S(1, 's'),
        ...V(3, 2),
        ...L(4, [
          ...L(4, [...V(1, 4), ...D(2, 1e-7), ...L(3, [...D(1, 0.5), ...D(2, NaN)]), ...L(4, ts(1, 2))]),
          ...V(6, -5),
        ]),
      ],
    ],
  },
  {
    name: 'native histogram: every field, in field-number order, repeated scalars unpacked',
    input: [
      {
        name: 'n',
        type: 'gaugehistogram',
        metrics: [
          {
            labels: [],
            histogram: {
              sampleCount: 10,
              sampleSum: 12,
              buckets: [
                { upperBound: 1, cumulativeCount: 2, cumulativeCountFloat: 2.5, exemplar: { labels: [], value: 1 } },
              ],
              sampleCountFloat: 10.5,
              schema: -3,
              zeroThreshold: 1e-128,
              zeroCount: 2,
              zeroCountFloat: 2.5,
              negativeSpans: [{ offset: -2, length: 2 }],
              negativeDeltas: [1, -1],
              negativeCounts: [0.5],
              positiveSpans: [{ offset: 0, length: 1 }],
              positiveDeltas: [4],
              positiveCounts: [7, 8],
              createdTimestamp: { seconds: 10, nanos: 20 },
              exemplars: [{ labels: LP({ id: 'q' }), value: 3, timestamp: { seconds: 11, nanos: 0 } }],
            },
          },
        ],
      },
    ],
    want: [
      [
        ...S(1, 'n'),
        ...V(3, 5),
        ...L(
          4,
          L(7, [
            ...V(1, 10),
            ...D(2, 12),
            ...L(3, [...V(1, 2), ...D(2, 1), ...L(3, D(2, 1)), ...D(4, 2.5)]),
            ...D(4, 10.5),
            ...Z(5, -3),
            ...D(6, 1e-128),
            ...V(7, 2),
            ...D(8, 2.5),
            ...L(9, [...Z(1, -2), ...V(2, 2)]),
            ...Z(10, 1),
            ...Z(10, -1),
            ...D(11, 0.5),
            ...L(12, [...Z(1, 0), ...V(2, 1)]),
            ...Z(13, 4),
            ...D(14, 7),
            ...D(14, 8),
            ...L(15, ts(10, 20)),
            ...L(16, [...label('id', 'q'), ...D(2, 3), ...L(3, ts(11, 0))]),
          ]),
        ),
      ],
    ],
  },
  {
    name: 'fields listed in unset are left out',
    input: [
      {
        name: 'p',
        type: 'summary',
        metrics: [
          {
            labels: [
              { name: '', value: 'v', unset: ['name'] },
              { name: 'n', value: '', unset: ['value'] },
            ],
            summary: {
              sampleCount: 0,
              sampleSum: 1,
              quantiles: [{ quantile: 0, value: 2, unset: ['quantile'] }],
              unset: ['sampleCount'],
            },
            histogram: {
              sampleCount: 0,
              sampleSum: 0,
              buckets: [{ upperBound: 0, cumulativeCount: 3, unset: ['upperBound'] }],
              positiveSpans: [{ offset: 0, length: 0, unset: ['offset', 'length'] }],
              unset: ['sampleCount', 'sampleSum'],
            },
            counter: { exemplar: { labels: [], value: 0, unset: ['value'] } },
          },
        ],
      },
    ],
    want: [
      [
        ...S(1, 'p'),
        ...V(3, 2),
        ...L(4, [
          ...L(1, S(2, 'v')),
          ...L(1, S(1, 'n')),
          ...L(3, L(2, [])),
          ...L(4, [...D(2, 1), ...L(3, D(2, 2))]),
          ...L(7, [...L(3, V(1, 3)), ...L(12, [])]),
        ]),
      ],
    ],
  },
  {
    name: 'an enum number outside MetricType, and unit',
    input: [
      { name: 't9', type: 'untyped', typeNumber: 9, metrics: [{ labels: [], value: 5, untyped: { value: 1 } }] },
      { name: 'tm', type: 'untyped', typeNumber: -1, unit: 'seconds', metrics: [{ labels: [], value: 5 }] },
    ],
    want: [
      [...S(1, 't9'), ...V(3, 9), ...L(4, L(5, D(1, 1)))],
      [...S(1, 'tm'), ...V(3, -1), ...L(4, []), ...S(5, 'seconds')],
    ],
  },
  {
    name: 'integers at their limits',
    input: [
      {
        name: 'i',
        type: 'histogram',
        metrics: [
          {
            labels: [],
            histogram: {
              sampleCount: 2 ** 64,
              sampleSum: 0,
              buckets: [{ upperBound: 1, cumulativeCount: NaN }],
              zeroCount: 2 ** 53,
              positiveDeltas: [2 ** 63, -Infinity, NaN, -0.5],
            },
            timestampMs: -(2 ** 63),
          },
          { labels: [], timestampMs: 2 ** 63 },
        ],
      },
    ],
    want: [
      [
        ...S(1, 'i'),
        ...V(3, 4),
        ...L(4, [
          ...V(6, -(2n ** 63n)),
          ...L(7, [
            ...V(1, 2n ** 64n - 1n),
            ...D(2, 0),
            ...L(3, [...V(1, 0), ...D(2, 1)]),
            ...V(7, 2n ** 53n),
            ...[2n ** 64n - 2n, 2n ** 64n - 1n, 0n, 0n].flatMap((zz) => V(13, zz)),
          ]),
        ]),
        ...L(4, V(6, 2n ** 63n - 1n)),
      ],
    ],
    lossy: true,
  },
  {
    // In its place: Go does not check proto2 strings, they are bytes to it.
    name: 'invalid UTF-8 held as U+DC80..U+DCFF is written as the raw bytes, in its place',
    input: [
      {
        name: 'a\udcff',
        help: 'ok',
        type: 'gauge',
        metrics: [{ labels: [{ name: 'l', value: '\udce2\udc82(' }], value: 1 }],
      },
    ],
    want: [
      [
        ...L(1, [0x61, 0xff]),
        ...S(2, 'ok'),
        ...V(3, 1),
        ...L(4, [...L(1, [...S(1, 'l'), ...L(2, [0xe2, 0x82, 0x28])]), ...L(2, D(1, 1))]),
      ],
    ],
  },
  {
    name: 'UTF-8 of 2, 3 and 4 bytes is written as it is',
    input: [{ name: 'ä€😀', type: 'gauge', metrics: [{ labels: LP({ '😀': 'ä€😀' }), value: 1 }] }],
    want: [[...S(1, 'ä€😀'), ...V(3, 1), ...L(4, [...label('😀', 'ä€😀'), ...L(2, D(1, 1))])]],
  },
  {
    name: 'no families: an empty body',
    input: [],
    want: [],
  },
];

describe('encodeProtobufDelimited: exact bytes', () => {
  for (const c of exact) {
    test(c.name, () => {
      assert.deepStrictEqual([...encodeProtobufDelimited(c.input)], delimited(...c.want));
      if (c.input.length > 0) assert.deepStrictEqual([...encodeMetricFamily(c.input[0])], c.want[0]);
    });
  }
});

// --- round trips -------------------------------------------------------------------------------

/**
 * The model as the parser gives it back: a value without value messages goes into the one of
 * the family type, and `value` is that message's value.
 */
function withValueMessages(fams: MetricFamily[]): MetricFamily[] {
  return fams.map((mf) => ({
    ...mf,
    metrics: mf.metrics.map((m): Metric => {
      const { value, ...rest } = m;
      const out: Metric = rest;
      if (!m.gauge && !m.counter && !m.untyped && value !== undefined && mf.typeNumber === undefined) {
        if (mf.type === 'gauge') out.gauge = { value };
        if (mf.type === 'counter') out.counter = { value };
        if (mf.type === 'untyped') out.untyped = { value };
      }
      const t = mf.typeNumber === undefined ? mf.type : undefined;
      const vm = t === 'gauge' ? out.gauge : t === 'counter' ? out.counter : t === 'untyped' ? out.untyped : undefined;
      if (vm !== undefined) out.value = vm.value ?? 0;
      return out;
    }),
  }));
}

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

/** A random family using every field of the model, in the shape the parser produces. */
function randomFamily(r: ReturnType<typeof rng>, i: number): MetricFamily {
  const f = () => [0, 1, -1, -0, 0.25, 1e300, Infinity, -Infinity, NaN, r.next()][r.int(10)];
  const str = () => ['', 'a', 'job', 'ä€😀', 'x'.repeat(40), 'raw\udcff\udc80'][r.int(6)];
  const count = () => [0, 1, 17, 2 ** 40, 2 ** 53][r.int(5)];
  const stamp = (): Timestamp => ({ seconds: r.int(2e9) - 1e9, nanos: r.int(1e9) });
  const labels = () => Array.from({ length: r.int(3) }, () => ({ name: str(), value: str() }));
  const exemplar = (): Exemplar => {
    const e: Exemplar = { labels: labels(), value: f() };
    if (r.bool()) e.timestamp = stamp();
    return e;
  };
  const types = ['counter', 'gauge', 'summary', 'untyped', 'histogram', 'gaugehistogram'] as const;
  const type = types[r.int(6)];
  const metrics = Array.from({ length: r.int(4) }, (): Metric => {
    const m: Metric = { labels: labels() };
    if (r.bool()) m.gauge = r.bool() ? { value: f() } : {};
    if (r.bool()) {
      m.counter = { value: f() };
      if (r.bool()) m.counter.exemplar = exemplar();
      if (r.bool()) m.counter.createdTimestamp = stamp();
    }
    if (r.bool()) m.untyped = { value: f() };
    const vm = type === 'gauge' ? m.gauge : type === 'counter' ? m.counter : type === 'untyped' ? m.untyped : undefined;
    if (vm !== undefined) m.value = vm.value ?? 0;
    if (r.bool()) {
      m.summary = {
        sampleCount: count(),
        sampleSum: f(),
        quantiles: Array.from({ length: r.int(3) }, () => ({ quantile: f(), value: f() })),
      };
      if (r.bool()) m.summary.createdTimestamp = stamp();
    }
    if (r.bool()) {
      m.histogram = {
        sampleCount: count(),
        sampleSum: f(),
        buckets: Array.from({ length: r.int(3) }, () => {
          const bucket: Bucket = { upperBound: f(), cumulativeCount: count() };
          if (r.bool()) bucket.exemplar = exemplar();
          if (r.bool()) bucket.cumulativeCountFloat = f();
          return bucket;
        }),
      };
      if (r.bool()) {
        Object.assign(m.histogram, {
          sampleCountFloat: f(),
          schema: r.int(17) - 8,
          zeroThreshold: f(),
          zeroCount: count(),
          zeroCountFloat: f(),
          negativeSpans: [{ offset: r.int(20) - 10, length: r.int(5) }],
          negativeDeltas: [r.int(100) - 50, -(2 ** 53)],
          negativeCounts: [f()],
          positiveSpans: [
            { offset: r.int(20) - 10, length: r.int(5) },
            { offset: 2, length: 1 },
          ],
          positiveDeltas: [r.int(100) - 50],
          positiveCounts: [f(), f()],
          createdTimestamp: stamp(),
          exemplars: [exemplar()],
        });
      }
    }
    if (r.bool()) m.timestampMs = r.int(4e12) - 2e12;
    return m;
  });
  const mf: MetricFamily = { name: `f${i}_${str()}`, type, metrics };
  if (r.bool()) mf.help = str();
  if (r.bool()) mf.unit = str();
  return mf;
}

describe('round trips', () => {
  test('text-parser models: parse(encode(x)) is x with its value message', () => {
    const inputs = exact.filter((c) => !c.lossy);
    for (const c of inputs) {
      assert.deepStrictEqual(
        parseProtobufDelimited(encodeProtobufDelimited(c.input)),
        withValueMessages(c.input),
        c.name,
      );
    }
  });

  test('parser models: parse(encode(x)) is x, and encode(parse(b)) is b', () => {
    const r = rng(99);
    for (let i = 0; i < 500; i++) {
      const fams = Array.from({ length: 1 + r.int(3) }, (_, k) => randomFamily(r, i * 10 + k));
      const bytes = encodeProtobufDelimited(fams);
      const back = parseProtobufDelimited(bytes);
      assert.deepStrictEqual(back, fams, `round ${i}`);
      assert.deepStrictEqual(encodeProtobufDelimited(back), bytes, `round ${i}`);
    }
  });

  test('the @bufbuild/protobuf decoder reads our bytes as the model, and writes them back the same', () => {
    const r = rng(5);
    for (let i = 0; i < 300; i++) {
      const mf = randomFamily(r, i);
      const bytes = encodeMetricFamily(mf);
      const msg = fromBinary(MetricFamilySchema, bytes);
      assert.deepStrictEqual(libraryModel(msg), asLibraryReadsIt(mf), `family ${i}`);
      // The library writes back what it read: U+FFFD where the raw bytes were.
      const raw = /\\udc[89a-f]/.test(JSON.stringify(mf));
      if (!raw) assert.deepStrictEqual(toBinary(MetricFamilySchema, msg), bytes, `family ${i}`);
    }
  });

  test('property: the library and our parser both read back what was encoded', () => {
    fc.assert(
      fc.property(fc.uniqueArray(arbFamily, { maxLength: 3, selector: (f) => f.name }), (fams) => {
        const bytes = encodeProtobufDelimited(fams);
        assert.deepStrictEqual(parseProtobufDelimited(bytes), fams);
        let at = 0;
        for (const mf of fams) {
          let len = 0;
          for (let shift = 0; ; shift += 7) {
            const b = bytes[at++];
            len += (b & 0x7f) * 2 ** shift;
            if (b < 0x80) break;
          }
          const msg = fromBinary(MetricFamilySchema, bytes.subarray(at, at + len));
          at += len;
          assert.deepStrictEqual(libraryModel(msg), asLibraryReadsIt(mf));
        }
        assert.equal(at, bytes.length);
      }),
      { numRuns: 300 },
    );
  });
});

// --- the library's reading, as a model --------------------------------------------------------

const TYPE_NAMES = ['counter', 'gauge', 'summary', 'untyped', 'histogram', 'gaugehistogram'] as const;

/** The names of the optional fields (in field order) the library saw no value for. */
function unsetOf<D extends DescMessage, K extends string>(
  schema: D,
  msg: MessageShape<D>,
  fields: Array<[string, K]>,
): { unset?: K[] } {
  const unset = fields.filter(([local]) => !isFieldSet(msg, schema.field[local])).map(([, k]) => k);
  return unset.length > 0 ? { unset } : {};
}

const libTimestamp = (t: PbTimestamp): Timestamp => ({ seconds: Number(t.seconds), nanos: t.nanos });

const libLabel = (l: PbLabelPair): LabelPair => ({
  name: l.name,
  value: l.value,
  ...unsetOf(LabelPairSchema, l, [
    ['name', 'name'],
    ['value', 'value'],
  ]),
});

function libExemplar(e: PbExemplar): Exemplar {
  const out: Exemplar = { labels: e.label.map(libLabel), value: e.value };
  if (!isFieldSet(e, ExemplarSchema.field.value)) out.unset = ['value'];
  if (e.timestamp !== undefined) out.timestamp = libTimestamp(e.timestamp);
  return out;
}

function libSummary(s: PbSummary): Summary {
  const quantiles = s.quantile.map((q): Quantile => ({
    quantile: q.quantile,
    value: q.value,
    ...unsetOf(QuantileSchema, q, [
      ['quantile', 'quantile'],
      ['value', 'value'],
    ]),
  }));
  const out: Summary = {
    sampleCount: Number(s.sampleCount),
    sampleSum: s.sampleSum,
    quantiles,
    ...unsetOf(SummarySchema, s, [
      ['sampleCount', 'sampleCount'],
      ['sampleSum', 'sampleSum'],
    ]),
  };
  if (s.createdTimestamp !== undefined) out.createdTimestamp = libTimestamp(s.createdTimestamp);
  return out;
}

function libBucket(b: PbBucket): Bucket {
  const out: Bucket = {
    upperBound: b.upperBound,
    cumulativeCount: Number(b.cumulativeCount),
    ...unsetOf(BucketSchema, b, [
      ['cumulativeCount', 'cumulativeCount'],
      ['upperBound', 'upperBound'],
    ]),
  };
  if (isFieldSet(b, BucketSchema.field.cumulativeCountFloat)) out.cumulativeCountFloat = b.cumulativeCountFloat;
  if (b.exemplar !== undefined) out.exemplar = libExemplar(b.exemplar);
  return out;
}

const libSpan = (s: PbBucketSpan): BucketSpan => ({
  offset: s.offset,
  length: s.length,
  ...unsetOf(BucketSpanSchema, s, [
    ['offset', 'offset'],
    ['length', 'length'],
  ]),
});

function libHistogram(h: PbHistogram): Histogram {
  const out: Histogram = {
    sampleCount: Number(h.sampleCount),
    sampleSum: h.sampleSum,
    buckets: h.bucket.map(libBucket),
    ...unsetOf(HistogramSchema, h, [
      ['sampleCount', 'sampleCount'],
      ['sampleSum', 'sampleSum'],
    ]),
  };
  const F = HistogramSchema.field;
  if (isFieldSet(h, F.sampleCountFloat)) out.sampleCountFloat = h.sampleCountFloat;
  if (isFieldSet(h, F.schema)) out.schema = h.schema;
  if (isFieldSet(h, F.zeroThreshold)) out.zeroThreshold = h.zeroThreshold;
  if (isFieldSet(h, F.zeroCount)) out.zeroCount = Number(h.zeroCount);
  if (isFieldSet(h, F.zeroCountFloat)) out.zeroCountFloat = h.zeroCountFloat;
  if (h.negativeSpan.length > 0) out.negativeSpans = h.negativeSpan.map(libSpan);
  if (h.negativeDelta.length > 0) out.negativeDeltas = h.negativeDelta.map(Number);
  if (h.negativeCount.length > 0) out.negativeCounts = h.negativeCount;
  if (h.positiveSpan.length > 0) out.positiveSpans = h.positiveSpan.map(libSpan);
  if (h.positiveDelta.length > 0) out.positiveDeltas = h.positiveDelta.map(Number);
  if (h.positiveCount.length > 0) out.positiveCounts = h.positiveCount;
  if (h.createdTimestamp !== undefined) out.createdTimestamp = libTimestamp(h.createdTimestamp);
  if (h.exemplars.length > 0) out.exemplars = h.exemplars.map(libExemplar);
  return out;
}

function libMetric(type: MetricFamily['type'] | undefined, pm: PbMetric): Metric {
  const m: Metric = { labels: pm.label.map(libLabel) };
  if (pm.gauge !== undefined) m.gauge = isFieldSet(pm.gauge, GaugeSchema.field.value) ? { value: pm.gauge.value } : {};
  if (pm.counter !== undefined) {
    m.counter = isFieldSet(pm.counter, CounterSchema.field.value) ? { value: pm.counter.value } : {};
    if (pm.counter.exemplar !== undefined) m.counter.exemplar = libExemplar(pm.counter.exemplar);
    const created = pm.counter.createdTimestamp;
    if (created !== undefined) m.counter.createdTimestamp = libTimestamp(created);
  }
  if (pm.untyped !== undefined) {
    m.untyped = isFieldSet(pm.untyped, UntypedSchema.field.value) ? { value: pm.untyped.value } : {};
  }
  const own = type === 'gauge' ? m.gauge : type === 'counter' ? m.counter : type === 'untyped' ? m.untyped : undefined;
  if (own !== undefined) m.value = own.value ?? 0;
  if (pm.summary !== undefined) m.summary = libSummary(pm.summary);
  if (pm.histogram !== undefined) m.histogram = libHistogram(pm.histogram);
  if (isFieldSet(pm, MetricSchema.field.timestampMs)) m.timestampMs = Number(pm.timestampMs);
  return m;
}

/** The model of a message as @bufbuild/protobuf decodes it (the shape parseProtobufDelimited gives). */
function libraryModel(msg: PbMetricFamily): MetricFamily {
  // proto2 enums are closed: the library keeps a number outside MetricType as an unknown field.
  const unknown = msg.$unknown?.find((u) => u.no === 3);
  let typeNumber = msg.type as number;
  if (unknown !== undefined) {
    let v = 0n;
    unknown.data.forEach((b, i) => (v |= BigInt(b & 0x7f) << BigInt(7 * i)));
    typeNumber = Number(BigInt.asIntN(32, v));
  }
  const known = typeNumber >= 0 && typeNumber < TYPE_NAMES.length;
  const type = known ? TYPE_NAMES[typeNumber] : undefined;
  const metrics = msg.metric.map((m) => libMetric(type, m));
  const mf: MetricFamily = { name: msg.name, type: type ?? 'untyped', metrics };
  if (isFieldSet(msg, MetricFamilySchema.field.help)) mf.help = msg.help;
  if (!known) mf.typeNumber = typeNumber;
  if (isFieldSet(msg, MetricFamilySchema.field.unit)) mf.unit = msg.unit;
  return mf;
}

/** A model as the library reads it back: raw bytes in strings (invalid UTF-8) become U+FFFD. */
function asLibraryReadsIt<T>(x: T): T {
  const utf8 = new TextDecoder();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return utf8.decode(encodeGoString(v));
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, walk(e)]));
    return v;
  };
  return walk(x) as T;
}

// --- arbitrary models, in the shape the parser produces -------------------------------------------

/** Strings of any code points, with raw bytes that no neighbour can complete into valid UTF-8. */
const arbString = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 4 }),
      fc.constantFrom(0x80, 0xbf, 0xc0, 0xc1, 0xf5, 0xff).map((b) => String.fromCharCode(0xdc00 | b)),
    ),
    { maxLength: 4 },
  )
  .map((parts) => parts.join(''));
const arbDouble = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 0));
const arbCount = fc.oneof(fc.nat(), fc.maxSafeNat(), fc.constantFrom(2 ** 32, 2 ** 63, 2 ** 64 - 2048));
/** Integers that int64 holds exactly as doubles, the extremes included. */
const arbInt64 = fc.oneof(fc.maxSafeInteger(), fc.constantFrom(-(2 ** 63), 2 ** 63 - 1024, -(2 ** 32), 2 ** 32));
const arbInt32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const arbTimestamp = fc.record({ seconds: arbInt64, nanos: arbInt32 });

/** An object with `unset` listing what `absent` says, the fields themselves reading zero then. */
function withUnset<T extends object, K extends string>(
  base: fc.Arbitrary<T>,
  zero: Record<K, number | string>,
): fc.Arbitrary<T & { unset?: K[] }> {
  const keys = Object.keys(zero) as K[];
  const absents = fc.array(fc.boolean(), { minLength: keys.length, maxLength: keys.length });
  return fc.tuple(base, absents).map(([o, absent]) => {
    const unset = keys.filter((_, i) => absent[i]);
    const out: Record<string, unknown> = { ...(o as Record<string, unknown>) };
    for (const k of unset) out[k] = zero[k];
    if (unset.length > 0) out.unset = unset;
    return out as T & { unset?: K[] };
  });
}

const arbLabel: fc.Arbitrary<LabelPair> = withUnset(fc.record({ name: arbString, value: arbString }), {
  name: '',
  value: '',
});
const arbExemplar: fc.Arbitrary<Exemplar> = fc
  .record(
    { labels: fc.array(arbLabel, { maxLength: 2 }), value: arbDouble, absent: fc.boolean(), timestamp: arbTimestamp },
    { requiredKeys: ['labels', 'value', 'absent'] },
  )
  .map(({ absent, ...e }) => (absent ? { ...e, value: 0, unset: ['value' as const] } : e));
const arbSpan: fc.Arbitrary<BucketSpan> = withUnset(
  fc.record({ offset: arbInt32, length: fc.nat({ max: 2 ** 32 - 1 }) }),
  { offset: 0, length: 0 },
);
const arbBucket: fc.Arbitrary<Bucket> = withUnset(
  fc.record(
    { upperBound: arbDouble, cumulativeCount: arbCount, cumulativeCountFloat: arbDouble, exemplar: arbExemplar },
    { requiredKeys: ['upperBound', 'cumulativeCount'] },
  ),
  { cumulativeCount: 0, upperBound: 0 },
);
const nonEmpty = <T>(a: fc.Arbitrary<T>) => fc.array(a, { minLength: 1, maxLength: 3 });
const arbHistogram: fc.Arbitrary<Histogram> = withUnset(
  fc.record(
    {
      sampleCount: arbCount,
      sampleSum: arbDouble,
      buckets: fc.array(arbBucket, { maxLength: 3 }),
      sampleCountFloat: arbDouble,
      schema: arbInt32,
      zeroThreshold: arbDouble,
      zeroCount: arbCount,
      zeroCountFloat: arbDouble,
      negativeSpans: nonEmpty(arbSpan),
      negativeDeltas: nonEmpty(arbInt64),
      negativeCounts: nonEmpty(arbDouble),
      positiveSpans: nonEmpty(arbSpan),
      positiveDeltas: nonEmpty(arbInt64),
      positiveCounts: nonEmpty(arbDouble),
      createdTimestamp: arbTimestamp,
      exemplars: nonEmpty(arbExemplar),
    },
    { requiredKeys: ['sampleCount', 'sampleSum', 'buckets'] },
  ),
  { sampleCount: 0, sampleSum: 0 },
);
const arbQuantile = withUnset(fc.record({ quantile: arbDouble, value: arbDouble }), { quantile: 0, value: 0 });
const arbSummary: fc.Arbitrary<Summary> = withUnset(
  fc.record(
    {
      sampleCount: arbCount,
      sampleSum: arbDouble,
      quantiles: fc.array(arbQuantile, { maxLength: 3 }),
      createdTimestamp: arbTimestamp,
    },
    { requiredKeys: ['sampleCount', 'sampleSum', 'quantiles'] },
  ),
  { sampleCount: 0, sampleSum: 0 },
);
const arbValue = fc.record({ value: arbDouble }, { requiredKeys: [] });
const arbMetric = fc.record(
  {
    labels: fc.array(arbLabel, { maxLength: 3 }),
    gauge: arbValue,
    counter: fc.record(
      { value: arbDouble, exemplar: arbExemplar, createdTimestamp: arbTimestamp },
      { requiredKeys: [] },
    ),
    untyped: arbValue,
    summary: arbSummary,
    histogram: arbHistogram,
    timestampMs: arbInt64,
  },
  { requiredKeys: ['labels'] },
);
const arbFamily: fc.Arbitrary<MetricFamily> = fc
  .record(
    {
      name: arbString,
      help: arbString,
      typeNumber: fc.oneof(fc.integer({ min: 0, max: 5 }), arbInt32),
      metrics: fc.array(arbMetric, { maxLength: 3 }),
      unit: arbString,
    },
    { requiredKeys: ['name', 'typeNumber', 'metrics'] },
  )
  .map(({ typeNumber, metrics, ...rest }) => {
    const known = typeNumber >= 0 && typeNumber < TYPE_NAMES.length;
    const type = known ? TYPE_NAMES[typeNumber] : 'untyped';
    const withValue = metrics.map((m): Metric => {
      const t = known ? type : undefined;
      const own = t === 'gauge' ? m.gauge : t === 'counter' ? m.counter : t === 'untyped' ? m.untyped : undefined;
      return own === undefined ? m : { ...m, value: own.value ?? 0 };
    });
    // fc.record builds objects without a prototype; the parser's have Object's.
    return structuredClone({ ...rest, type, metrics: withValue, ...(known ? {} : { typeNumber }) });
  });

// --- against the reference ---------------------------------------------------------------------

describe(
  'the reference Pushgateway reads our bodies as we meant them',
  { skip: !referenceAvailable() && 'reference binary not installed' },
  () => {
    let ref: RunningServer;
    before(async () => {
      ref = await startServer('reference');
    });
    after(async () => {
      await ref?.stop();
    });

    // Families the reference accepts: consistent types, no timestamps, valid names.
    const families: MetricFamily[] = [
      {
        name: 'pb_gauge',
        help: 'A gauge.',
        type: 'gauge',
        metrics: [
          { labels: LP({ a: '1' }), value: 1.5 },
          { labels: LP({ a: '2' }), value: -0.000001 },
        ],
      },
      { name: 'pb_counter', type: 'counter', metrics: [{ labels: [], value: 1e21 }] },
      {
        name: 'pb_untyped',
        help: 'Quote " and \\ and\nnewline.',
        type: 'untyped',
        metrics: [{ labels: LP({ x: 'ä€ "q"' }), value: NaN }],
      },
      {
        name: 'pb_summary',
        type: 'summary',
        metrics: [
          {
            labels: [],
            summary: {
              sampleCount: 4,
              sampleSum: 1e-7,
              quantiles: [
                { quantile: 0.5, value: 3 },
                { quantile: 0.99, value: Infinity },
              ],
            },
          },
        ],
      },
      {
        name: 'pb_histogram',
        type: 'histogram',
        metrics: [
          {
            labels: LP({ le_not: 'x' }),
            histogram: {
              sampleCount: 3,
              sampleSum: 2.5,
              buckets: [
                { upperBound: 0.25, cumulativeCount: 1 },
                {
                  upperBound: 1,
                  cumulativeCount: 2,
                  exemplar: {
                    labels: LP({ trace_id: 'abc' }),
                    value: 0.7,
                    timestamp: { seconds: 1700000000, nanos: 5 },
                  },
                },
                { upperBound: Infinity, cumulativeCount: 3 },
              ],
            },
          },
        ],
      },
      {
        name: 'pb_native',
        type: 'histogram',
        metrics: [
          {
            labels: [],
            histogram: {
              sampleCount: 5,
              sampleSum: 10,
              buckets: [],
              schema: 2,
              zeroThreshold: 1e-128,
              zeroCount: 1,
              positiveSpans: [{ offset: 0, length: 2 }],
              positiveDeltas: [2, 0],
              negativeSpans: [{ offset: -1, length: 1 }],
              negativeDeltas: [1],
              createdTimestamp: { seconds: 1600000000, nanos: 0 },
            },
          },
        ],
      },
      {
        name: 'pb_created',
        type: 'counter',
        metrics: [
          {
            labels: [],
            value: 5,
            counter: {
              value: 5,
              exemplar: { labels: LP({ id: '1' }), value: 1 },
              createdTimestamp: { seconds: 1600000000, nanos: 7 },
            },
          },
        ],
      },
    ];

    const JOB = 'protoenc';

    before(async () => {
      const res = await fetch(`${ref.url}/metrics/job/${JOB}`, {
        method: 'PUT',
        body: Buffer.from(encodeProtobufDelimited(families)),
        headers: { 'content-type': PROTOBUF_CONTENT_TYPE },
      });
      assert.equal(res.status, 200, await res.text());
    });

    const withJob = (m: Metric): Metric => ({
      ...m,
      labels: [...m.labels, { name: 'instance', value: '' }, { name: 'job', value: JOB }].sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      ),
    });

    test('its protobuf exposition gives back the same families', async () => {
      const res = await fetch(`${ref.url}/metrics`, { headers: { accept: PROTOBUF_CONTENT_TYPE } });
      assert.equal(res.status, 200);
      assert.match(
        res.headers.get('content-type') ?? '',
        /^application\/vnd\.google\.protobuf; proto=io\.prometheus\.client\.MetricFamily; encoding=delimited/,
      );
      const scraped = parseProtobufDelimited(new Uint8Array(await res.arrayBuffer()));
      const want = withValueMessages(families).map((mf) => ({ ...mf, metrics: mf.metrics.map(withJob) }));
      for (const mf of want) {
        assert.deepStrictEqual(
          scraped.find((s) => s.name === mf.name),
          mf,
          mf.name,
        );
      }
    });

    test('its protobuf scrape, parsed and encoded again, is the same bytes', async () => {
      // Text pushes too: Go's own NaN (0x7ff8000000000001), -0, escapes, and a histogram without +Inf.
      const text =
        'pb_text{a="x\\"y"} NaN\npb_text{a="z"} -0\n' +
        '# TYPE pb_th histogram\npb_th_bucket{le="1"} 1\npb_th_sum 2\npb_th_count 3\n';
      const put = await fetch(`${ref.url}/metrics/job/${JOB}_text`, { method: 'PUT', body: text });
      assert.equal(put.status, 200, await put.text());
      try {
        const res = await fetch(`${ref.url}/metrics`, { headers: { accept: PROTOBUF_CONTENT_TYPE } });
        const scraped = new Uint8Array(await res.arrayBuffer());
        const names = parseProtobufDelimited(scraped).map((mf) => mf.name);
        for (const n of ['pb_native', 'pb_created', 'pb_text', 'pb_th', 'go_gc_duration_seconds']) {
          assert.ok(names.includes(n), n);
        }
        const again = encodeProtobufDelimited(parseProtobufDelimited(scraped));
        assert.deepStrictEqual(Buffer.from(again), Buffer.from(scraped));
      } finally {
        await fetch(`${ref.url}/metrics/job/${JOB}_text`, { method: 'DELETE' });
      }
    });

    test('its JSON API shows the values we encoded', async () => {
      const res = await fetch(`${ref.url}/api/v1/metrics`);
      const json = (await res.json()) as { data: Array<Record<string, unknown> & { labels: Record<string, string> }> };
      const group = json.data.find((g) => g.labels.job === JOB);
      assert.ok(group !== undefined);
      const TYPE = {
        counter: 'COUNTER',
        gauge: 'GAUGE',
        summary: 'SUMMARY',
        untyped: 'UNTYPED',
        histogram: 'HISTOGRAM',
        gaugehistogram: 'GAUGE_HISTOGRAM',
      };
      assert.deepStrictEqual(
        Object.keys(group)
          .filter((k) => k.startsWith('pb_'))
          .sort(),
        families.map((f) => f.name).sort(),
      );
      for (const mf of families) {
        const got = group[mf.name] as { type: string; help?: string; metrics: unknown[] };
        assert.equal(got.type, TYPE[mf.type], mf.name);
        assert.equal(got.help, mf.help, mf.name);
        const want = mf.metrics.map((m) => {
          const labels = Object.fromEntries(withJob(m).labels.map((l) => [l.name, l.value]));
          if (m.summary) {
            const quantiles = Object.fromEntries(
              m.summary.quantiles.map((q) => [formatGoFloat(q.quantile), formatGoFloat(q.value)]),
            );
            return {
              count: formatCount(m.summary.sampleCount),
              labels,
              quantiles,
              sum: formatGoFloat(m.summary.sampleSum),
            };
          }
          if (m.histogram && mf.type === 'histogram') {
            const buckets = Object.fromEntries(
              m.histogram.buckets.map((b) => [formatGoFloat(b.upperBound), formatCount(b.cumulativeCount)]),
            );
            return {
              buckets,
              count: formatCount(m.histogram.sampleCount),
              labels,
              sum: formatGoFloat(m.histogram.sampleSum),
            };
          }
          return { labels, value: formatGoFloat(m.value ?? 0) };
        });
        assert.deepStrictEqual(got.metrics, want, mf.name);
      }
    });

    test('its text exposition shows the values we encoded', async () => {
      const res = await fetch(`${ref.url}/metrics`);
      assert.equal(res.status, 200);
      const lines = (await res.text()).split('\n').filter((l) => /^(# (HELP|TYPE) )?pb_/.test(l));
      const J = `instance="",job="${JOB}"`;
      assert.deepStrictEqual(lines, [
        '# TYPE pb_counter counter',
        `pb_counter{${J}} 1e+21`,
        '# TYPE pb_created counter',
        `pb_created{${J}} 5`,
        '# HELP pb_gauge A gauge.',
        '# TYPE pb_gauge gauge',
        `pb_gauge{a="1",${J}} 1.5`,
        `pb_gauge{a="2",${J}} -1e-06`,
        '# TYPE pb_histogram histogram',
        `pb_histogram_bucket{${J},le_not="x",le="0.25"} 1`,
        `pb_histogram_bucket{${J},le_not="x",le="1"} 2`,
        `pb_histogram_bucket{${J},le_not="x",le="+Inf"} 3`,
        `pb_histogram_sum{${J},le_not="x"} 2.5`,
        `pb_histogram_count{${J},le_not="x"} 3`,
        '# TYPE pb_native histogram',
        `pb_native_bucket{${J},le="+Inf"} 5`,
        `pb_native_sum{${J}} 10`,
        `pb_native_count{${J}} 5`,
        '# TYPE pb_summary summary',
        `pb_summary{${J},quantile="0.5"} 3`,
        `pb_summary{${J},quantile="0.99"} +Inf`,
        `pb_summary_sum{${J}} 1e-07`,
        `pb_summary_count{${J}} 4`,
        '# HELP pb_untyped Quote " and \\\\ and\\nnewline.',
        '# TYPE pb_untyped untyped',
        `pb_untyped{${J},x="ä€ \\"q\\""} NaN`,
      ]);
    });

    test('a gauge histogram: kept whole, JSON shows value "0", text exposition stops at its TYPE line', async () => {
      const gh: MetricFamily = {
        name: 'pb_gaugehist',
        type: 'gaugehistogram',
        metrics: [
          { labels: [], histogram: { sampleCount: 1, sampleSum: 1, buckets: [{ upperBound: 5, cumulativeCount: 1 }] } },
        ],
      };
      const put = await fetch(`${ref.url}/metrics/job/gh`, {
        method: 'PUT',
        body: Buffer.from(encodeProtobufDelimited([gh])),
        headers: { 'content-type': PROTOBUF_CONTENT_TYPE },
      });
      assert.equal(put.status, 200, await put.text());
      try {
        const pb = await fetch(`${ref.url}/metrics`, { headers: { accept: PROTOBUF_CONTENT_TYPE } });
        const scraped = parseProtobufDelimited(new Uint8Array(await pb.arrayBuffer()));
        assert.deepStrictEqual(
          scraped.find((s) => s.name === gh.name),
          {
            ...gh,
            metrics: gh.metrics.map((m) => ({
              ...m,
              labels: [
                { name: 'instance', value: '' },
                { name: 'job', value: 'gh' },
              ],
            })),
          },
        );
        const json = (await (await fetch(`${ref.url}/api/v1/metrics`)).json()) as {
          data: Array<Record<string, unknown> & { labels: Record<string, string> }>;
        };
        const group = json.data.find((g) => g.labels.job === 'gh') as Record<
          string,
          { type: string; metrics: unknown[] }
        >;
        assert.equal(group[gh.name].type, 'GAUGE_HISTOGRAM');
        assert.deepStrictEqual(group[gh.name].metrics, [{ labels: { instance: '', job: 'gh' }, value: '0' }]);
        // expfmt of prometheus/common 0.39 cannot write a gauge histogram in the text format.
        const text = await (await fetch(`${ref.url}/metrics`)).text();
        assert.ok(text.endsWith('# TYPE pb_gaugehist'), text.slice(-200));
      } finally {
        await fetch(`${ref.url}/metrics/job/gh`, { method: 'DELETE' });
      }
    });
  },
);
