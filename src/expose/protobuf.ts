// Encoder for scrapes negotiated as protobuf: varint-length-delimited
// io.prometheus.client.MetricFamily messages, the exact inverse of parseProtobufDelimited.
//
// The messages are built with the code generated from src/parse/metrics.proto
// (@bufbuild/protobuf), which writes fields in field-number order and repeated scalars
// unpacked (proto2), as golang/protobuf does. Presence follows the model: a field is written
// when the model holds it, except the optional scalars listed in an object's `unset`. For a
// metric that carries none of `gauge`/`counter`/`untyped` (one from the text parser), `value`
// is written into the message of the family type.
//
// Strings holding U+DC80..U+DCFF (raw bytes of invalid UTF-8, see decodeGoString) are written as
// those bytes; such a field goes after the message's other fields (as an unknown field of the
// same number), which any decoder reads the same.

import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import type { UnknownField } from '@bufbuild/protobuf';
import type {
  Bucket,
  BucketSpan,
  CounterMessage,
  Exemplar,
  Histogram,
  LabelPair,
  Metric,
  MetricFamily,
  Quantile,
  Summary,
  Timestamp,
  ValueMessage,
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
  type LabelPair as PbLabelPair,
  type Metric as PbMetric,
  type MetricFamily as PbMetricFamily,
  type MetricType as PbMetricType,
} from '../parse/gen/metrics_pb.js';
import { TimestampSchema, type Timestamp as PbTimestamp } from '@bufbuild/protobuf/wkt';
import { metricTypeNumber } from '../parse/protobuf.js';
import { encodeGoString } from '../lib/gostring.js';

/** Encodes the families as a delimited stream: each message preceded by its varint length. */
export function encodeProtobufDelimited(families: readonly MetricFamily[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (const mf of families) {
    const msg = encodeMetricFamily(mf);
    const head = varint(msg.length);
    chunks.push(head, msg);
    total += head.length + msg.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** One MetricFamily message, without the length prefix. */
export function encodeMetricFamily(mf: MetricFamily): Uint8Array {
  return toBinary(MetricFamilySchema, toProtoFamily(mf));
}

/** The generated message for a family (for callers that want to adjust it before encoding). */
export function toProtoFamily(mf: MetricFamily): PbMetricFamily {
  const msg = create(MetricFamilySchema, {
    type: (mf.typeNumber ?? metricTypeNumber(mf.type)) as PbMetricType,
    metric: mf.metrics.map((m) => toProtoMetric(mf, m)),
  });
  setString(msg, 'name', 1, mf.name);
  if (mf.help !== undefined) setString(msg, 'help', 2, mf.help);
  if (mf.unit !== undefined) setString(msg, 'unit', 5, mf.unit);
  return msg;
}

function toProtoMetric(mf: MetricFamily, m: Metric): PbMetric {
  const init: MessageInitShape<typeof MetricSchema> = { label: m.labels.map(toProtoLabel) };
  if (m.gauge !== undefined || m.counter !== undefined || m.untyped !== undefined) {
    if (m.gauge !== undefined) init.gauge = create(GaugeSchema, valueInit(m.gauge));
    if (m.counter !== undefined) init.counter = counterMessage(m.counter);
    if (m.untyped !== undefined) init.untyped = create(UntypedSchema, valueInit(m.untyped));
  } else if (m.value !== undefined && mf.typeNumber === undefined) {
    if (mf.type === 'gauge') init.gauge = create(GaugeSchema, { value: m.value });
    else if (mf.type === 'counter') init.counter = create(CounterSchema, { value: m.value });
    else if (mf.type === 'untyped') init.untyped = create(UntypedSchema, { value: m.value });
  }
  if (m.summary !== undefined) init.summary = summaryMessage(m.summary);
  if (m.histogram !== undefined) init.histogram = histogramMessage(m.histogram);
  if (m.timestampMs !== undefined) init.timestampMs = int64(m.timestampMs);
  return create(MetricSchema, init);
}

function valueInit(v: ValueMessage): { value?: number } {
  return v.value === undefined ? {} : { value: v.value };
}

function counterMessage(c: CounterMessage) {
  const init: MessageInitShape<typeof CounterSchema> = valueInit(c);
  if (c.exemplar !== undefined) init.exemplar = exemplarMessage(c.exemplar);
  if (c.createdTimestamp !== undefined) init.createdTimestamp = timestampMessage(c.createdTimestamp);
  return create(CounterSchema, init);
}

function toProtoLabel(lp: LabelPair): PbLabelPair {
  const msg = create(LabelPairSchema);
  if (lp.unset === undefined) {
    setString(msg, 'name', 1, lp.name);
    setString(msg, 'value', 2, lp.value);
  } else {
    if (!lp.unset.includes('name')) setString(msg, 'name', 1, lp.name);
    if (!lp.unset.includes('value')) setString(msg, 'value', 2, lp.value);
  }
  return msg;
}

function quantileMessage(q: Quantile) {
  const init: MessageInitShape<typeof QuantileSchema> = {};
  if (!q.unset?.includes('quantile')) init.quantile = q.quantile;
  if (!q.unset?.includes('value')) init.value = q.value;
  return create(QuantileSchema, init);
}

function summaryMessage(s: Summary) {
  const init: MessageInitShape<typeof SummarySchema> = { quantile: s.quantiles.map(quantileMessage) };
  if (!s.unset?.includes('sampleCount')) init.sampleCount = uint64(s.sampleCount);
  if (!s.unset?.includes('sampleSum')) init.sampleSum = s.sampleSum;
  if (s.createdTimestamp !== undefined) init.createdTimestamp = timestampMessage(s.createdTimestamp);
  return create(SummarySchema, init);
}

function histogramMessage(h: Histogram) {
  const init: MessageInitShape<typeof HistogramSchema> = { bucket: h.buckets.map(bucketMessage) };
  if (!h.unset?.includes('sampleCount')) init.sampleCount = uint64(h.sampleCount);
  if (h.sampleCountFloat !== undefined) init.sampleCountFloat = h.sampleCountFloat;
  if (!h.unset?.includes('sampleSum')) init.sampleSum = h.sampleSum;
  if (h.schema !== undefined) init.schema = h.schema;
  if (h.zeroThreshold !== undefined) init.zeroThreshold = h.zeroThreshold;
  if (h.zeroCount !== undefined) init.zeroCount = uint64(h.zeroCount);
  if (h.zeroCountFloat !== undefined) init.zeroCountFloat = h.zeroCountFloat;
  if (h.negativeSpans !== undefined) init.negativeSpan = h.negativeSpans.map(spanMessage);
  if (h.negativeDeltas !== undefined) init.negativeDelta = h.negativeDeltas.map(int64);
  if (h.negativeCounts !== undefined) init.negativeCount = h.negativeCounts;
  if (h.positiveSpans !== undefined) init.positiveSpan = h.positiveSpans.map(spanMessage);
  if (h.positiveDeltas !== undefined) init.positiveDelta = h.positiveDeltas.map(int64);
  if (h.positiveCounts !== undefined) init.positiveCount = h.positiveCounts;
  if (h.createdTimestamp !== undefined) init.createdTimestamp = timestampMessage(h.createdTimestamp);
  if (h.exemplars !== undefined) init.exemplars = h.exemplars.map(exemplarMessage);
  return create(HistogramSchema, init);
}

function bucketMessage(b: Bucket) {
  const init: MessageInitShape<typeof BucketSchema> = {};
  if (!b.unset?.includes('cumulativeCount')) init.cumulativeCount = uint64(b.cumulativeCount);
  if (b.cumulativeCountFloat !== undefined) init.cumulativeCountFloat = b.cumulativeCountFloat;
  if (!b.unset?.includes('upperBound')) init.upperBound = b.upperBound;
  if (b.exemplar !== undefined) init.exemplar = exemplarMessage(b.exemplar);
  return create(BucketSchema, init);
}

function spanMessage(s: BucketSpan) {
  const init: MessageInitShape<typeof BucketSpanSchema> = {};
  if (!s.unset?.includes('offset')) init.offset = s.offset | 0;
  if (!s.unset?.includes('length')) init.length = s.length >>> 0;
  return create(BucketSpanSchema, init);
}

function exemplarMessage(e: Exemplar) {
  const init: MessageInitShape<typeof ExemplarSchema> = { label: e.labels.map(toProtoLabel) };
  if (e.unset === undefined) init.value = e.value;
  if (e.timestamp !== undefined) init.timestamp = timestampMessage(e.timestamp);
  return create(ExemplarSchema, init);
}

function timestampMessage(ts: Timestamp): PbTimestamp {
  return create(TimestampSchema, { seconds: int64(ts.seconds), nanos: ts.nanos | 0 });
}

// ---------------------------------------------------------------------------------------------

/** In unicode mode a surrogate pair is one code point: this matches lone surrogates only. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Sets a string field; a string holding raw bytes (lone surrogates) goes in as an unknown field
 * of the same number, since the generated code would write U+FFFD for them.
 */
function setString<K extends string>(
  msg: { [P in K]: string } & { $unknown?: UnknownField[] },
  key: K,
  fieldNo: number,
  s: string,
): void {
  if (!LONE_SURROGATE.test(s)) {
    (msg as { [P in K]: string })[key] = s;
    return;
  }
  const bytes = encodeGoString(s);
  const head = varint(bytes.length);
  const data = new Uint8Array(head.length + bytes.length);
  data.set(head, 0);
  data.set(bytes, head.length);
  (msg.$unknown ??= []).push({ no: fieldNo, wireType: 2, data });
}

const UINT64_MAX = 2n ** 64n - 1n;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * A uint64 from the model's number: truncated, clamped to 0 … 2^64-1 (NaN is 0). The parser reads
 * 2^64-1 as the double 2^64, which thus comes back as 2^64-1.
 */
function uint64(v: number): bigint {
  if (!(v > 0)) return 0n;
  if (v === Infinity) return UINT64_MAX;
  const b = BigInt(Math.trunc(v));
  return b > UINT64_MAX ? UINT64_MAX : b;
}

/** An int64 from the model's number: truncated, clamped to -2^63 … 2^63-1 (NaN is 0). */
function int64(v: number): bigint {
  if (v !== v) return 0n;
  if (v === Infinity) return INT64_MAX;
  if (v === -Infinity) return INT64_MIN;
  const b = BigInt(Math.trunc(v));
  return b > INT64_MAX ? INT64_MAX : b < INT64_MIN ? INT64_MIN : b;
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Uint8Array.from(out);
}
