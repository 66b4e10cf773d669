// Encoder for scrapes negotiated as protobuf: varint-length-delimited
// io.prometheus.client.MetricFamily messages, the exact inverse of parseProtobufDelimited.
//
// Written against the wire format, like the decoder, and byte for byte what the reference
// (golang/protobuf) writes for the same message: fields in field-number order, repeated scalars
// unpacked (proto2 without [packed=true]), strings as their raw bytes. Presence follows the
// model: a field is written when the model holds it, except the optional scalars listed in an
// object's `unset`. For a metric that carries none of `gauge`/`counter`/`untyped` (one from the
// text parser), `value` is written into the message of the family type.
//
// Nested messages are written in one pass: one byte is kept for the length, and the content is
// moved up when the length needs more, which is once per family and seldom below it.

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
import { metricTypeNumber } from '../parse/protobuf.js';
import { encodeGoString } from '../lib/gostring.js';

export { PROTOBUF_CONTENT_TYPE } from '../lib/contenttype.js';

/** Encodes the families as a delimited stream: each message preceded by its varint length. */
export function encodeProtobufDelimited(families: readonly MetricFamily[]): Uint8Array {
  // Room for ~64 bytes a series, so a large scrape is not copied over and over as it grows.
  let series = 0;
  for (const mf of families) series += mf.metrics.length;
  const w = new Writer(64 * 1024 + series * 64);
  for (const mf of families) {
    const at = w.beginDelimited();
    writeFamily(w, mf);
    w.end(at);
  }
  return w.result();
}

/** One MetricFamily message, without the length prefix. */
export function encodeMetricFamily(mf: MetricFamily): Uint8Array {
  const w = new Writer(1024);
  writeFamily(w, mf);
  return w.result();
}

/** What a family's fields before its metrics depend on, and what its metrics are encoded for. */
export type FamilyHead = Pick<MetricFamily, 'name' | 'help' | 'type' | 'typeNumber'>;

// The scrape cache encodes a family in pieces: its metrics once per stored group (as byte
// strings, a char per byte, like the text scrape's), its head at each scrape. Pieces are built in
// one reused writer and copied out, so a piece costs its string and no buffer of its own.
let scratch: Writer | undefined;

function scratchWriter(): Writer {
  scratch ??= new Writer(64 * 1024);
  scratch.reset();
  return scratch;
}

/**
 * The metrics as MetricFamily field 4 entries (each a tag, a length and the Metric message), as
 * a byte string: what encodeMetricFamily writes for them in a family `head`.
 */
export function encodeMetricEntries(head: FamilyHead, metrics: readonly Metric[]): string {
  const w = scratchWriter();
  for (const m of metrics) writeEntry(w, head, m);
  return w.latin1();
}

/**
 * The start of a delimited MetricFamily message whose metric entries (encodeMetricEntries) take
 * `entriesLength` bytes and which has no unit: its length prefix and its fields before the
 * metrics, as a byte string. With the entries after it, it is what encodeProtobufDelimited writes.
 */
export function encodeDelimitedHead(head: FamilyHead, entriesLength: number): string {
  const w = scratchWriter();
  writeHead(w, head);
  const fields = w.latin1();
  w.reset();
  w.varint(fields.length + entriesLength);
  return w.latin1() + fields;
}

const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;

const TWO32 = 4294967296;
const TWO63 = 9223372036854775808;
const TWO64 = 18446744073709551616;

/** In unicode mode a surrogate pair is one code point: this matches lone surrogates only. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

class Writer {
  private buf: Buffer;
  private view: DataView;
  private pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  result(): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos);
  }

  /** What was written, as a byte string. */
  latin1(): string {
    return this.buf.toString('latin1', 0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }

  /** A bare varint below 2^32 (a length prefix). */
  varint(n: number): void {
    this.room(5);
    this.raw32(n >>> 0);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.length);
  }

  /** A varint below 2^32 (callers make room: at most 5 bytes). */
  private raw32(n: number): void {
    const buf = this.buf;
    let pos = this.pos;
    while (n >= 0x80) {
      buf[pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[pos++] = n;
    this.pos = pos;
  }

  /** A 64-bit varint from its two 32-bit halves (callers make room: at most 10 bytes). */
  private raw64(lo: number, hi: number): void {
    if (hi === 0) return this.raw32(lo);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < 4; i++) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    // Bits 28..34: the last 4 of lo and the first 3 of hi.
    let rest = hi;
    let b = lo | ((rest & 0x7) << 4);
    rest >>>= 3;
    while (rest !== 0) {
      buf[pos++] = b | 0x80;
      b = rest & 0x7f;
      rest >>>= 7;
    }
    buf[pos++] = b;
    this.pos = pos;
  }

  private tag(field: number, wire: number): void {
    this.raw32((field << 3) | wire);
  }

  double(field: number, v: number): void {
    this.room(10);
    this.tag(field, FIXED64);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** uint64 from the model's number: truncated, clamped to 0 … 2^64-1 (NaN is 0). */
  uint64(field: number, v: number): void {
    this.room(12);
    this.tag(field, VARINT);
    if (!(v > 0)) return this.raw32(0);
    if (v < TWO32) return this.raw32(v >>> 0);
    if (v >= TWO64) return this.raw64(0xffffffff, 0xffffffff);
    const hi = Math.floor(v / TWO32);
    this.raw64((v - hi * TWO32) >>> 0, hi);
  }

  /** int64 from the model's number: truncated, clamped to -2^63 … 2^63-1 (NaN is 0). */
  int64(field: number, v: number): void {
    this.room(12);
    this.tag(field, VARINT);
    int64Halves(v);
    this.raw64(LO, HI);
  }

  /** sint64 (zigzag) from the model's number, clamped as int64. */
  sint64(field: number, v: number): void {
    this.room(12);
    this.tag(field, VARINT);
    int64Halves(v);
    // (n << 1) ^ (n >> 63) on the halves.
    const sign = HI >> 31;
    this.raw64(((LO << 1) ^ sign) >>> 0, (((HI << 1) | (LO >>> 31)) ^ sign) >>> 0);
  }

  /** int32 (an enum): a negative one takes 10 bytes, sign-extended to 64 bits. */
  int32(field: number, v: number): void {
    this.room(12);
    this.tag(field, VARINT);
    v |= 0;
    if (v >= 0) this.raw32(v);
    else this.raw64(v >>> 0, 0xffffffff);
  }

  /** sint32 (zigzag) from the model's number, wrapped to 32 bits. */
  sint32(field: number, v: number): void {
    this.room(7);
    this.tag(field, VARINT);
    v |= 0;
    this.raw32(((v << 1) ^ (v >> 31)) >>> 0);
  }

  uint32(field: number, v: number): void {
    this.room(7);
    this.tag(field, VARINT);
    this.raw32(v >>> 0);
  }

  /** A string as Go's bytes: UTF-8, with U+DC80..U+DCFF (see decodeGoString) as raw bytes. */
  string(field: number, s: string): void {
    const n = s.length;
    this.room(7 + n);
    this.tag(field, BYTES);
    if (n < 0x80) {
      // Short ASCII, the usual label name or value: copied as it is read.
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    if (LONE_SURROGATE.test(s)) {
      const bytes = encodeGoString(s);
      this.room(5 + bytes.length);
      this.raw32(bytes.length);
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
      return;
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.room(5 + len);
    this.raw32(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  /** Starts a length-delimited field; returns what end() takes. */
  begin(field: number): number {
    this.room(6);
    this.tag(field, BYTES);
    return ++this.pos;
  }

  /** Starts a message of the delimited stream (a length prefix, no tag). */
  beginDelimited(): number {
    this.room(1);
    return ++this.pos;
  }

  /** Writes the length of what was written since begin(), moving it up if that takes > 1 byte. */
  end(start: number): void {
    const len = this.pos - start;
    if (len < 0x80) {
      this.buf[start - 1] = len;
      return;
    }
    const extra = len < 1 << 14 ? 1 : len < 1 << 21 ? 2 : len < 1 << 28 ? 3 : 4;
    this.room(extra);
    this.buf.copyWithin(start + extra, start, this.pos);
    const end = this.pos + extra;
    this.pos = start - 1;
    this.raw32(len);
    this.pos = end;
  }
}

// The halves int64Halves gives: module variables rather than a returned pair, which would be
// an allocation per native histogram delta.
let LO = 0;
let HI = 0;

/** Sets LO/HI to the two's-complement halves of a number's int64 (truncated, clamped, NaN is 0). */
function int64Halves(v: number): void {
  if (!(v >= -TWO63)) {
    LO = 0;
    HI = v !== v ? 0 : 0x80000000;
    return;
  }
  if (v >= TWO63) {
    LO = 0xffffffff;
    HI = 0x7fffffff;
    return;
  }
  const neg = v < 0;
  const a = Math.trunc(neg ? -v : v);
  const hi = Math.floor(a / TWO32);
  const lo = (a - hi * TWO32) >>> 0;
  if (neg) {
    LO = (~lo + 1) >>> 0;
    HI = (~hi + (LO === 0 ? 1 : 0)) >>> 0;
  } else {
    LO = lo;
    HI = hi;
  }
}

// ---------------------------------------------------------------------------------------------
// The messages, fields in field-number order.

function writeFamily(w: Writer, mf: MetricFamily): void {
  writeHead(w, mf);
  for (const m of mf.metrics) writeEntry(w, mf, m);
  if (mf.unit !== undefined) w.string(5, mf.unit);
}

/** The fields before the metrics. */
function writeHead(w: Writer, mf: FamilyHead): void {
  w.string(1, mf.name);
  if (mf.help !== undefined) w.string(2, mf.help);
  w.int32(3, mf.typeNumber ?? metricTypeNumber(mf.type));
}

/** One metric as field 4 of its family. */
function writeEntry(w: Writer, mf: FamilyHead, m: Metric): void {
  const at = w.begin(4);
  writeMetric(w, mf, m);
  w.end(at);
}

function writeMetric(w: Writer, mf: FamilyHead, m: Metric): void {
  // A metric from the text parser carries none of the value messages: its value goes into the
  // one of the family type.
  const own = m.gauge === undefined && m.counter === undefined && m.untyped === undefined;
  const into = own && m.value !== undefined && mf.typeNumber === undefined ? mf.type : undefined;
  for (const lp of m.labels) writeLabel(w, 1, lp);
  if (m.gauge !== undefined) writeValue(w, 2, m.gauge);
  else if (into === 'gauge') writeValue(w, 2, m);
  if (m.counter !== undefined) writeCounter(w, m.counter);
  else if (into === 'counter') writeValue(w, 3, m);
  if (m.summary !== undefined) writeSummary(w, m.summary);
  if (m.untyped !== undefined) writeValue(w, 5, m.untyped);
  else if (into === 'untyped') writeValue(w, 5, m);
  if (m.timestampMs !== undefined) w.int64(6, m.timestampMs);
  if (m.histogram !== undefined) writeHistogram(w, m.histogram);
}

/** A Gauge or Untyped message (or a Counter with only a value). */
function writeValue(w: Writer, field: number, v: ValueMessage): void {
  const at = w.begin(field);
  if (v.value !== undefined) w.double(1, v.value);
  w.end(at);
}

function writeCounter(w: Writer, c: CounterMessage): void {
  const at = w.begin(3);
  if (c.value !== undefined) w.double(1, c.value);
  if (c.exemplar !== undefined) writeExemplar(w, 2, c.exemplar);
  if (c.createdTimestamp !== undefined) writeTimestamp(w, 3, c.createdTimestamp);
  w.end(at);
}

function writeLabel(w: Writer, field: number, lp: LabelPair): void {
  const at = w.begin(field);
  if (lp.unset === undefined) {
    w.string(1, lp.name);
    w.string(2, lp.value);
  } else {
    if (!lp.unset.includes('name')) w.string(1, lp.name);
    if (!lp.unset.includes('value')) w.string(2, lp.value);
  }
  w.end(at);
}

function writeSummary(w: Writer, s: Summary): void {
  const at = w.begin(4);
  if (!s.unset?.includes('sampleCount')) w.uint64(1, s.sampleCount);
  if (!s.unset?.includes('sampleSum')) w.double(2, s.sampleSum);
  for (const q of s.quantiles) writeQuantile(w, q);
  if (s.createdTimestamp !== undefined) writeTimestamp(w, 4, s.createdTimestamp);
  w.end(at);
}

function writeQuantile(w: Writer, q: Quantile): void {
  const at = w.begin(3);
  if (!q.unset?.includes('quantile')) w.double(1, q.quantile);
  if (!q.unset?.includes('value')) w.double(2, q.value);
  w.end(at);
}

function writeHistogram(w: Writer, h: Histogram): void {
  const at = w.begin(7);
  if (!h.unset?.includes('sampleCount')) w.uint64(1, h.sampleCount);
  if (!h.unset?.includes('sampleSum')) w.double(2, h.sampleSum);
  for (const b of h.buckets) writeBucket(w, b);
  if (h.sampleCountFloat !== undefined) w.double(4, h.sampleCountFloat);
  if (h.schema !== undefined) w.sint32(5, h.schema);
  if (h.zeroThreshold !== undefined) w.double(6, h.zeroThreshold);
  if (h.zeroCount !== undefined) w.uint64(7, h.zeroCount);
  if (h.zeroCountFloat !== undefined) w.double(8, h.zeroCountFloat);
  if (h.negativeSpans !== undefined) for (const s of h.negativeSpans) writeSpan(w, 9, s);
  if (h.negativeDeltas !== undefined) for (const d of h.negativeDeltas) w.sint64(10, d);
  if (h.negativeCounts !== undefined) for (const c of h.negativeCounts) w.double(11, c);
  if (h.positiveSpans !== undefined) for (const s of h.positiveSpans) writeSpan(w, 12, s);
  if (h.positiveDeltas !== undefined) for (const d of h.positiveDeltas) w.sint64(13, d);
  if (h.positiveCounts !== undefined) for (const c of h.positiveCounts) w.double(14, c);
  if (h.createdTimestamp !== undefined) writeTimestamp(w, 15, h.createdTimestamp);
  if (h.exemplars !== undefined) for (const e of h.exemplars) writeExemplar(w, 16, e);
  w.end(at);
}

function writeBucket(w: Writer, b: Bucket): void {
  const at = w.begin(3);
  if (!b.unset?.includes('cumulativeCount')) w.uint64(1, b.cumulativeCount);
  if (!b.unset?.includes('upperBound')) w.double(2, b.upperBound);
  if (b.exemplar !== undefined) writeExemplar(w, 3, b.exemplar);
  if (b.cumulativeCountFloat !== undefined) w.double(4, b.cumulativeCountFloat);
  w.end(at);
}

function writeSpan(w: Writer, field: number, s: BucketSpan): void {
  const at = w.begin(field);
  if (!s.unset?.includes('offset')) w.sint32(1, s.offset);
  if (!s.unset?.includes('length')) w.uint32(2, s.length);
  w.end(at);
}

function writeExemplar(w: Writer, field: number, e: Exemplar): void {
  const at = w.begin(field);
  for (const lp of e.labels) writeLabel(w, 1, lp);
  if (e.unset === undefined) w.double(2, e.value);
  if (e.timestamp !== undefined) writeTimestamp(w, 3, e.timestamp);
  w.end(at);
}

/** google.protobuf.Timestamp is proto3: zero fields are left out. */
function writeTimestamp(w: Writer, field: number, ts: Timestamp): void {
  const at = w.begin(field);
  int64Halves(ts.seconds);
  if ((LO | HI) !== 0) w.int64(1, ts.seconds);
  if ((ts.nanos | 0) !== 0) w.int32(2, ts.nanos);
  w.end(at);
}
