// Parser for pushes in the protobuf format: a stream of varint-length-delimited
// io.prometheus.client.MetricFamily messages (Content-Type application/vnd.google.protobuf;
// proto=io.prometheus.client.MetricFamily; encoding=delimited), as client_golang's push package
// and the Java client send them.
//
// It behaves like Pushgateway 1.5.1, which reads the body with pbutil.ReadDelimited
// (matttproud/golang_protobuf_extensions) and decodes each message with golang/protobuf 1.3's
// table-driven unmarshaler against client_model 0.3.0:
//  - the length prefix is a varint of at most 5 bytes ("invalid varint32 encountered" past that);
//  - the body may end anywhere in a length prefix, or right after one that announces more than
//    zero bytes: that is a clean end of input, not an error;
//  - a message cut short by the end of the body is "unexpected EOF";
//  - inside a message, a truncated varint, fixed-size value or length-delimited field, or an
//    unterminated group, is "unexpected EOF"; field number 0 is
//    "proto: io_prometheus_client.Metric: illegal tag 0 (wire type 0)" (naming the Go type of the
//    message it occurs in); wire types 4, 6 and 7 where a field is to be skipped are
//    "proto: can't skip unknown wire type 6";
//  - a known field with the wrong wire type is an unknown field, and unknown fields are skipped;
//  - a field given twice: the last scalar wins, repeated fields append, and messages merge;
//  - strings are not checked for UTF-8 (proto2); the enum is not checked either;
//  - families are kept by name, so a later family replaces an earlier one of the same name.
// The created_timestamp fields, Histogram.exemplars and MetricFamily.unit are unknown to the
// reference (it keeps their bytes); here they are decoded when well-formed and dropped when not.
//
// Decoding is written against the wire format directly, rather than with a generic protobuf
// library, because the point is to accept and reject exactly what the reference does, with its
// messages, and a generic decoder differs on malformed input (e.g. @bufbuild/protobuf reads a
// known scalar field whatever its wire type). The encoder (src/expose/protobuf.ts) is written
// the same way; the code generated in ./gen/metrics_pb.ts is the tests' independent check.

import { decodeGoString } from '../lib/gostring.js';
import { ParseError } from './errors.js';
import type {
  Bucket,
  BucketSpan,
  CounterMessage,
  Exemplar,
  Histogram,
  LabelPair,
  Metric,
  MetricFamily,
  MetricType,
  Quantile,
  Summary,
  Timestamp,
  ValueMessage,
} from '../model.js';

export type ProtobufParseErrorCode =
  /** The length prefix did not end within 5 bytes. */
  | 'invalid-varint'
  /** The body or a field ended before the data it announced. */
  | 'unexpected-eof'
  /** Field number 0. */
  | 'illegal-tag'
  /** A field to be skipped had wire type 4 (end group), 6 or 7. */
  | 'unknown-wire-type'
  /** A message is longer than limits.maxMessageBytes (not a reference error). */
  | 'message-too-large'
  /** More messages than limits.maxFamilies (not a reference error). */
  | 'too-many-families';

/**
 * A push body that is not a valid delimited stream of MetricFamily messages. For the codes the
 * reference knows, `message` is exactly what the reference answers with status 400 (without
 * the trailing newline that http.Error adds).
 */
export class ProtobufParseError extends ParseError {
  readonly code: ProtobufParseErrorCode;
  /** Byte offset in the body of the length prefix of the message in which the error was found. */
  readonly offset: number;

  constructor(code: ProtobufParseErrorCode, message: string, offset: number) {
    super(message);
    this.name = 'ProtobufParseError';
    this.code = code;
    this.offset = offset;
  }
}

export interface ProtobufLimits {
  /** Longest accepted message (its length prefix is checked before anything is decoded). */
  maxMessageBytes?: number;
  /** Most messages accepted in one body (counted before families of the same name merge). */
  maxFamilies?: number;
}

/** Default limits.maxMessageBytes: 64 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

const TYPES: readonly MetricType[] = ['counter', 'gauge', 'summary', 'untyped', 'histogram', 'gaugehistogram'];

/** The MetricType enum number of a model type (COUNTER = 0 … GAUGE_HISTOGRAM = 5). */
export function metricTypeNumber(t: MetricType): number {
  return TYPES.indexOf(t);
}

/**
 * Decodes a push body: varint-length-delimited MetricFamily messages. Returns the families in
 * the order their names first appeared; a later family of the same name replaces the earlier
 * one (its place in the order stays). Families without metrics are kept (the reference stores
 * them). Labels keep their order in the message. For each metric, `gauge`, `counter` and
 * `untyped` tell which of those messages were present; `value` is the value of the one that
 * matches the family type.
 *
 * @throws ProtobufParseError
 */
export function parseProtobufDelimited(body: Uint8Array, limits: ProtobufLimits = {}): MetricFamily[] {
  const maxMessageBytes = limits.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const maxFamilies = limits.maxFamilies ?? Infinity;
  const d = new Decoder(body);
  const families: MetricFamily[] = [];
  const byName = new Map<string, number>();
  let count = 0;
  const len = body.length;
  let pos = 0;
  while (pos < len) {
    const start = pos;
    // The length prefix, read as pbutil.ReadDelimited does: byte by byte, at most 5 bytes.
    let length = 0;
    let mul = 1;
    let ended = false;
    for (let i = 0; ; i++) {
      if (i === 5) throw new ProtobufParseError('invalid-varint', 'invalid varint32 encountered', start);
      if (pos === len) {
        ended = true; // EOF inside the prefix: ReadDelimited returns io.EOF, a clean end
        break;
      }
      const b = body[pos++];
      length += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) break;
    }
    if (ended) break;
    // io.ReadFull: nothing left is io.EOF (a clean end), some but not enough is an error.
    if (length > 0 && pos === len) break;
    if (length > len - pos) throw new ProtobufParseError('unexpected-eof', 'unexpected EOF', start);
    if (length > maxMessageBytes) {
      throw new ProtobufParseError(
        'message-too-large',
        `protobuf message of ${length} bytes exceeds the limit of ${maxMessageBytes} bytes`,
        start,
      );
    }
    if (++count > maxFamilies) {
      throw new ProtobufParseError(
        'too-many-families',
        `protobuf body holds more than ${maxFamilies} metric families`,
        start,
      );
    }
    d.offset = start;
    const mf = d.family(pos, pos + length);
    pos += length;
    const at = byName.get(mf.name);
    if (at === undefined) {
      byName.set(mf.name, families.length);
      families.push(mf);
    } else {
      families[at] = mf;
    }
  }
  return families;
}

// ---------------------------------------------------------------------------------------------
// The decoder: golang/protobuf 1.3 table_unmarshal semantics over one message at a time.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_START_GROUP = 3;
const WIRE_FIXED32 = 5;

const TWO32 = 4294967296;

// Go type names, as they appear in "illegal tag 0" errors.
const T_FAMILY = 'io_prometheus_client.MetricFamily';
const T_METRIC = 'io_prometheus_client.Metric';
const T_LABEL = 'io_prometheus_client.LabelPair';
const T_GAUGE = 'io_prometheus_client.Gauge';
const T_COUNTER = 'io_prometheus_client.Counter';
const T_UNTYPED = 'io_prometheus_client.Untyped';
const T_QUANTILE = 'io_prometheus_client.Quantile';
const T_SUMMARY = 'io_prometheus_client.Summary';
const T_HISTOGRAM = 'io_prometheus_client.Histogram';
const T_BUCKET = 'io_prometheus_client.Bucket';
const T_SPAN = 'io_prometheus_client.BucketSpan';
const T_EXEMPLAR = 'io_prometheus_client.Exemplar';
const T_TIMESTAMP = 'timestamp.Timestamp';

class Decoder {
  pos = 0;
  /** Offset of the current message's length prefix, for errors. */
  offset = 0;
  /** Low and high 32 bits of the last varint read. */
  lo = 0;
  hi = 0;
  /** Wire type of the last tag read. */
  wire = 0;
  private readonly view: DataView;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  eof(): never {
    throw new ProtobufParseError('unexpected-eof', 'unexpected EOF', this.offset);
  }

  /**
   * Reads a varint of up to 10 bytes (the 10th < 2) ending before `end` into lo/hi, as Go's
   * decodeVarint; a truncated or overlong one is "unexpected EOF".
   */
  varint(end: number): void {
    const b = this.buf;
    let p = this.pos;
    if (p >= end) this.eof();
    let x = b[p++];
    if (x < 0x80) {
      this.pos = p;
      this.lo = x;
      this.hi = 0;
      return;
    }
    let lo = x & 0x7f;
    for (let shift = 7; shift < 28; shift += 7) {
      if (p >= end) this.eof();
      x = b[p++];
      lo |= (x & 0x7f) << shift;
      if (x < 0x80) {
        this.pos = p;
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    // 5th byte: bits 28..34
    if (p >= end) this.eof();
    x = b[p++];
    lo = (lo | ((x & 0x0f) << 28)) >>> 0;
    let hi = (x & 0x7f) >>> 4;
    if (x < 0x80) {
      this.pos = p;
      this.lo = lo;
      this.hi = hi;
      return;
    }
    for (let shift = 3; shift < 31; shift += 7) {
      if (p >= end) this.eof();
      x = b[p++];
      hi |= (x & 0x7f) << shift;
      if (x < 0x80) {
        this.pos = p;
        this.lo = lo;
        this.hi = hi >>> 0;
        return;
      }
    }
    // 10th byte: bit 63 only
    if (p >= end) this.eof();
    x = b[p++];
    if (x >= 2) this.eof();
    this.pos = p;
    this.lo = lo;
    this.hi = (hi | (x << 31)) >>> 0;
  }

  /** The last varint as uint64 (exact up to 2^53). */
  u64(): number {
    return this.hi * TWO32 + this.lo;
  }

  /** The last varint as int64 (exact within ±2^53). */
  i64(): number {
    return this.hi >= 0x80000000 ? (this.hi - TWO32) * TWO32 + this.lo : this.hi * TWO32 + this.lo;
  }

  /** The last varint as Go's int32(x). */
  i32(): number {
    return this.lo | 0;
  }

  /** The last varint as Go's uint32(x). */
  u32(): number {
    return this.lo;
  }

  /** The last varint as zigzag-encoded int32: int32(x>>1) ^ int32(x)<<31>>31. */
  sint32(): number {
    const shifted = (this.lo >>> 1) | (this.hi << 31) | 0;
    return shifted ^ -(this.lo & 1);
  }

  /** The last varint as zigzag-encoded int64 (exact within ±2^53). */
  sint64(): number {
    const lo = (this.lo >>> 1) | ((this.hi & 1) << 31);
    const hi = this.hi >>> 1;
    if (this.lo & 1) {
      // -(x>>1) - 1 = ~(x>>1)
      return -(hi * TWO32 + (lo >>> 0) + 1);
    }
    return hi * TWO32 + (lo >>> 0);
  }

  double(end: number): number {
    if (end - this.pos < 8) this.eof();
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A length prefix; returns the end of the field's data. */
  lengthPrefixed(end: number): number {
    this.varint(end);
    // x > len(b): unexpected EOF
    if (this.hi !== 0 || this.lo > end - this.pos) this.eof();
    return this.pos + this.lo;
  }

  string(end: number): string {
    const e = this.lengthPrefixed(end);
    const s = decodeGoString(this.buf, this.pos, e);
    this.pos = e;
    return s;
  }

  /**
   * Reads a tag; returns the field number (-1 for numbers of 2^29 and up, which are unknown
   * anyway) and leaves the wire type in `wire`. Field number 0 is an error naming the Go type.
   */
  tag(end: number, goType: string): number {
    this.varint(end);
    this.wire = this.lo & 7;
    if (this.hi !== 0) return -1;
    const num = this.lo >>> 3;
    if (num === 0) {
      throw new ProtobufParseError(
        'illegal-tag',
        `proto: ${goType}: illegal tag 0 (wire type ${this.wire})`,
        this.offset,
      );
    }
    return num;
  }

  /** Skips a field's value by its wire type, as Go's skipField. */
  skip(end: number): void {
    switch (this.wire) {
      case WIRE_VARINT:
        this.varint(end);
        return;
      case WIRE_FIXED64:
        if (end - this.pos < 8) this.eof();
        this.pos += 8;
        return;
      case WIRE_FIXED32:
        if (end - this.pos < 4) this.eof();
        this.pos += 4;
        return;
      case WIRE_BYTES:
        this.pos = this.lengthPrefixed(end);
        return;
      case WIRE_START_GROUP:
        this.pos = this.findEndGroup(end);
        return;
      default:
        throw new ProtobufParseError(
          'unknown-wire-type',
          `proto: can't skip unknown wire type ${this.wire}`,
          this.offset,
        );
    }
  }

  /** Go's findEndGroup: the position after the first unpaired end-group tag; EOF if none. */
  private findEndGroup(end: number): number {
    let depth = 1;
    for (;;) {
      this.varint(end);
      switch (this.lo & 7) {
        case WIRE_VARINT:
          this.varint(end);
          break;
        case WIRE_FIXED32:
          if (end - this.pos < 4) this.eof();
          this.pos += 4;
          break;
        case WIRE_FIXED64:
          if (end - this.pos < 8) this.eof();
          this.pos += 8;
          break;
        case WIRE_BYTES:
          this.pos = this.lengthPrefixed(end);
          break;
        case WIRE_START_GROUP:
          depth++;
          break;
        case 4:
          if (--depth === 0) return this.pos;
          break;
        default:
          this.eof();
      }
    }
  }

  /**
   * Decodes a field unknown to the reference but known here (created timestamps, exemplars of
   * native histograms): the reference only skips it, so a malformed one is dropped, not an error.
   * Returns undefined when it is dropped.
   */
  private lenient<T>(end: number, decode: (start: number, end: number) => T): T | undefined {
    const fieldEnd = this.lengthPrefixed(end);
    const start = this.pos;
    let out: T | undefined;
    try {
      out = decode(start, fieldEnd);
    } catch (e) {
      if (!(e instanceof ProtobufParseError)) throw e;
      out = undefined;
    }
    this.pos = fieldEnd;
    return out;
  }

  // --- messages -------------------------------------------------------------------------------

  family(start: number, end: number): MetricFamily {
    this.pos = start;
    let name = '';
    let help: string | undefined;
    let typeNum = 0;
    let unit: string | undefined;
    const metrics: Metric[] = [];
    while (this.pos < end) {
      const f = this.tag(end, T_FAMILY);
      const w = this.wire;
      if (f === 1 && w === WIRE_BYTES) name = this.string(end);
      else if (f === 2 && w === WIRE_BYTES) help = this.string(end);
      else if (f === 3 && w === WIRE_VARINT) {
        this.varint(end);
        typeNum = this.i32();
      } else if (f === 4 && w === WIRE_BYTES) {
        const e = this.lengthPrefixed(end);
        metrics.push(this.metric(e));
      } else if (f === 5 && w === WIRE_BYTES) unit = this.string(end);
      else this.skip(end);
    }
    const known = typeNum >= 0 && typeNum < TYPES.length;
    const type: MetricType = known ? TYPES[typeNum] : 'untyped';
    if (known && (type === 'gauge' || type === 'counter' || type === 'untyped')) {
      for (const m of metrics) {
        const vm = m[type];
        if (vm !== undefined) m.value = vm.value ?? 0;
      }
    }
    const mf: MetricFamily = { name, type, metrics };
    if (help !== undefined) mf.help = help;
    if (!known) mf.typeNumber = typeNum;
    if (unit !== undefined) mf.unit = unit;
    return mf;
  }

  private metric(end: number): Metric {
    const labels: LabelPair[] = [];
    const m: Metric = { labels };
    while (this.pos < end) {
      const f = this.tag(end, T_METRIC);
      const w = this.wire;
      if (w === WIRE_BYTES && f >= 1 && f <= 7 && f !== 6) {
        const e = this.lengthPrefixed(end);
        switch (f) {
          case 1:
            labels.push(this.labelPair(e));
            break;
          case 2:
            m.gauge = this.valueMessage(e, T_GAUGE, m.gauge);
            break;
          case 3:
            m.counter = this.counterMessage(e, m.counter);
            break;
          case 4:
            m.summary = this.summary(e, m.summary);
            break;
          case 5:
            m.untyped = this.valueMessage(e, T_UNTYPED, m.untyped);
            break;
          case 7:
            m.histogram = this.histogram(e, m.histogram);
            break;
        }
      } else if (f === 6 && w === WIRE_VARINT) {
        this.varint(end);
        m.timestampMs = this.i64();
      } else this.skip(end);
    }
    return m;
  }

  private labelPair(end: number): LabelPair {
    let name: string | undefined;
    let value: string | undefined;
    while (this.pos < end) {
      const f = this.tag(end, T_LABEL);
      const w = this.wire;
      if (f === 1 && w === WIRE_BYTES) name = this.string(end);
      else if (f === 2 && w === WIRE_BYTES) value = this.string(end);
      else this.skip(end);
    }
    const lp: LabelPair = { name: name ?? '', value: value ?? '' };
    if (name === undefined || value === undefined) {
      lp.unset = name === undefined ? (value === undefined ? ['name', 'value'] : ['name']) : ['value'];
    }
    return lp;
  }

  private valueMessage(end: number, goType: string, into: ValueMessage | undefined): ValueMessage {
    const vm: ValueMessage = into ?? {};
    while (this.pos < end) {
      const f = this.tag(end, goType);
      if (f === 1 && this.wire === WIRE_FIXED64) vm.value = this.double(end);
      else this.skip(end);
    }
    return vm;
  }

  private counterMessage(end: number, into: CounterMessage | undefined): CounterMessage {
    const c: CounterMessage = into ?? {};
    while (this.pos < end) {
      const f = this.tag(end, T_COUNTER);
      const w = this.wire;
      if (f === 1 && w === WIRE_FIXED64) c.value = this.double(end);
      else if (f === 2 && w === WIRE_BYTES) {
        const e = this.lengthPrefixed(end);
        c.exemplar = this.exemplar(e, c.exemplar);
      } else if (f === 3 && w === WIRE_BYTES) {
        const prev = copyTimestamp(c.createdTimestamp);
        const ts = this.lenient(end, (s, e) => this.timestampAt(s, e, prev));
        if (ts !== undefined) c.createdTimestamp = ts;
      } else this.skip(end);
    }
    return c;
  }

  private summary(end: number, into: Summary | undefined): Summary {
    const s: Summary = into ?? { sampleCount: 0, sampleSum: 0, quantiles: [] };
    let hasCount = into !== undefined && !into.unset?.includes('sampleCount');
    let hasSum = into !== undefined && !into.unset?.includes('sampleSum');
    while (this.pos < end) {
      const f = this.tag(end, T_SUMMARY);
      const w = this.wire;
      if (f === 1 && w === WIRE_VARINT) {
        this.varint(end);
        s.sampleCount = this.u64();
        hasCount = true;
      } else if (f === 2 && w === WIRE_FIXED64) {
        s.sampleSum = this.double(end);
        hasSum = true;
      } else if (f === 3 && w === WIRE_BYTES) {
        const e = this.lengthPrefixed(end);
        s.quantiles.push(this.quantile(e));
      } else if (f === 4 && w === WIRE_BYTES) {
        const prev = copyTimestamp(s.createdTimestamp);
        const ts = this.lenient(end, (st, e) => this.timestampAt(st, e, prev));
        if (ts !== undefined) s.createdTimestamp = ts;
      } else this.skip(end);
    }
    setUnset2(s, hasCount, 'sampleCount', hasSum, 'sampleSum');
    return s;
  }

  private quantile(end: number): Quantile {
    let q: number | undefined;
    let v: number | undefined;
    while (this.pos < end) {
      const f = this.tag(end, T_QUANTILE);
      const w = this.wire;
      if (f === 1 && w === WIRE_FIXED64) q = this.double(end);
      else if (f === 2 && w === WIRE_FIXED64) v = this.double(end);
      else this.skip(end);
    }
    const out: Quantile = { quantile: q ?? 0, value: v ?? 0 };
    setUnset2(out, q !== undefined, 'quantile', v !== undefined, 'value');
    return out;
  }

  private histogram(end: number, into: Histogram | undefined): Histogram {
    const h: Histogram = into ?? { sampleCount: 0, sampleSum: 0, buckets: [] };
    let hasCount = into !== undefined && !into.unset?.includes('sampleCount');
    let hasSum = into !== undefined && !into.unset?.includes('sampleSum');
    while (this.pos < end) {
      const f = this.tag(end, T_HISTOGRAM);
      const w = this.wire;
      switch (f) {
        case 1:
          if (w !== WIRE_VARINT) break;
          this.varint(end);
          h.sampleCount = this.u64();
          hasCount = true;
          continue;
        case 2:
          if (w !== WIRE_FIXED64) break;
          h.sampleSum = this.double(end);
          hasSum = true;
          continue;
        case 3:
          if (w !== WIRE_BYTES) break;
          h.buckets.push(this.bucket(this.lengthPrefixed(end)));
          continue;
        case 4:
          if (w !== WIRE_FIXED64) break;
          h.sampleCountFloat = this.double(end);
          continue;
        case 5:
          if (w !== WIRE_VARINT) break;
          this.varint(end);
          h.schema = this.sint32();
          continue;
        case 6:
          if (w !== WIRE_FIXED64) break;
          h.zeroThreshold = this.double(end);
          continue;
        case 7:
          if (w !== WIRE_VARINT) break;
          this.varint(end);
          h.zeroCount = this.u64();
          continue;
        case 8:
          if (w !== WIRE_FIXED64) break;
          h.zeroCountFloat = this.double(end);
          continue;
        case 9:
        case 12:
          if (w !== WIRE_BYTES) break;
          {
            const span = this.span(this.lengthPrefixed(end));
            if (f === 9) (h.negativeSpans ??= []).push(span);
            else (h.positiveSpans ??= []).push(span);
          }
          continue;
        case 10:
        case 13:
          if (w !== WIRE_VARINT && w !== WIRE_BYTES) break;
          this.sint64s(end, w, f === 10 ? (h.negativeDeltas ??= []) : (h.positiveDeltas ??= []));
          continue;
        case 11:
        case 14:
          if (w !== WIRE_FIXED64 && w !== WIRE_BYTES) break;
          this.doubles(end, w, f === 11 ? (h.negativeCounts ??= []) : (h.positiveCounts ??= []));
          continue;
        case 15:
          if (w !== WIRE_BYTES) break;
          {
            const prev = copyTimestamp(h.createdTimestamp);
            const ts = this.lenient(end, (s, e) => this.timestampAt(s, e, prev));
            if (ts !== undefined) h.createdTimestamp = ts;
          }
          continue;
        case 16:
          if (w !== WIRE_BYTES) break;
          {
            const ex = this.lenient(end, (s, e) => {
              this.pos = s;
              return this.exemplar(e, undefined);
            });
            if (ex !== undefined) (h.exemplars ??= []).push(ex);
          }
          continue;
      }
      this.skip(end);
    }
    // A packed field of zero length still creates no elements: drop empty arrays.
    if (h.negativeDeltas?.length === 0) delete h.negativeDeltas;
    if (h.positiveDeltas?.length === 0) delete h.positiveDeltas;
    if (h.negativeCounts?.length === 0) delete h.negativeCounts;
    if (h.positiveCounts?.length === 0) delete h.positiveCounts;
    setUnset2(h, hasCount, 'sampleCount', hasSum, 'sampleSum');
    return h;
  }

  /** A repeated sint64, packed (wire type 2) or not. */
  private sint64s(end: number, wire: number, out: number[]): void {
    if (wire === WIRE_BYTES) {
      const e = this.lengthPrefixed(end);
      while (this.pos < e) {
        this.varint(e);
        out.push(this.sint64());
      }
      return;
    }
    this.varint(end);
    out.push(this.sint64());
  }

  /** A repeated double, packed (wire type 2) or not. */
  private doubles(end: number, wire: number, out: number[]): void {
    if (wire === WIRE_BYTES) {
      const e = this.lengthPrefixed(end);
      while (this.pos < e) out.push(this.double(e));
      return;
    }
    out.push(this.double(end));
  }

  private bucket(end: number): Bucket {
    let count: number | undefined;
    let bound: number | undefined;
    let countFloat: number | undefined;
    let exemplar: Exemplar | undefined;
    while (this.pos < end) {
      const f = this.tag(end, T_BUCKET);
      const w = this.wire;
      if (f === 1 && w === WIRE_VARINT) {
        this.varint(end);
        count = this.u64();
      } else if (f === 2 && w === WIRE_FIXED64) bound = this.double(end);
      else if (f === 3 && w === WIRE_BYTES) exemplar = this.exemplar(this.lengthPrefixed(end), exemplar);
      else if (f === 4 && w === WIRE_FIXED64) countFloat = this.double(end);
      else this.skip(end);
    }
    const b: Bucket = { upperBound: bound ?? 0, cumulativeCount: count ?? 0 };
    if (countFloat !== undefined) b.cumulativeCountFloat = countFloat;
    if (exemplar !== undefined) b.exemplar = exemplar;
    setUnset2(b, count !== undefined, 'cumulativeCount', bound !== undefined, 'upperBound');
    return b;
  }

  private span(end: number): BucketSpan {
    let offset: number | undefined;
    let length: number | undefined;
    while (this.pos < end) {
      const f = this.tag(end, T_SPAN);
      if (f === 1 && this.wire === WIRE_VARINT) {
        this.varint(end);
        offset = this.sint32();
      } else if (f === 2 && this.wire === WIRE_VARINT) {
        this.varint(end);
        length = this.u32();
      } else this.skip(end);
    }
    const s: BucketSpan = { offset: offset ?? 0, length: length ?? 0 };
    setUnset2(s, offset !== undefined, 'offset', length !== undefined, 'length');
    return s;
  }

  private exemplar(end: number, into: Exemplar | undefined): Exemplar {
    const ex: Exemplar = into ?? { labels: [], value: 0 };
    let hasValue = into !== undefined && into.unset === undefined;
    while (this.pos < end) {
      const f = this.tag(end, T_EXEMPLAR);
      const w = this.wire;
      if (f === 1 && w === WIRE_BYTES) ex.labels.push(this.labelPair(this.lengthPrefixed(end)));
      else if (f === 2 && w === WIRE_FIXED64) {
        ex.value = this.double(end);
        hasValue = true;
      } else if (f === 3 && w === WIRE_BYTES) {
        const e = this.lengthPrefixed(end);
        ex.timestamp = this.timestampAt(this.pos, e, ex.timestamp);
      } else this.skip(end);
    }
    if (hasValue) delete ex.unset;
    else ex.unset = ['value'];
    return ex;
  }

  /** A google.protobuf.Timestamp occupying [start, end), merged into `into`. */
  private timestampAt(start: number, end: number, into: Timestamp | undefined): Timestamp {
    this.pos = start;
    const ts: Timestamp = into ?? { seconds: 0, nanos: 0 };
    while (this.pos < end) {
      const f = this.tag(end, T_TIMESTAMP);
      if (f === 1 && this.wire === WIRE_VARINT) {
        this.varint(end);
        ts.seconds = this.i64();
      } else if (f === 2 && this.wire === WIRE_VARINT) {
        this.varint(end);
        ts.nanos = this.i32();
      } else this.skip(end);
    }
    return ts;
  }
}

/** A copy to merge into, so that a malformed field leaves the original as it was. */
function copyTimestamp(ts: Timestamp | undefined): Timestamp | undefined {
  return ts === undefined ? undefined : { seconds: ts.seconds, nanos: ts.nanos };
}

/** Sets or removes `unset` on a message with two optional scalars. */
function setUnset2<K extends string>(o: { unset?: K[] }, hasA: boolean, a: K, hasB: boolean, b: K): void {
  if (hasA && hasB) {
    if (o.unset !== undefined) delete o.unset;
  } else if (hasA) o.unset = [b];
  else if (hasB) o.unset = [a];
  else o.unset = [a, b];
}
