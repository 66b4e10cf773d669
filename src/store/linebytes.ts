// The packed lines of a family written straight into bytes (issue #12). Built as strings,
// each series' line cost a dozen concatenations whose pieces the next scavenge had to copy while
// a chunk was being assembled (the pack stage spent as long in GC as in its own code); written
// into one reused buffer, a chunk of lines becomes one flat string and nothing per series is left
// behind (the usual values are printed in place too, gofloat.ts writeSampleValue). Summaries and
// histograms too (issue #11): a fleet push's histogram of ten buckets was thirteen lines of
// concatenated strings, an eighth of what the push allocated.
import type { Histogram, LabelPair, Metric, MetricType, Summary } from '../model.js';
import { byteString } from '../lib/gostring.js';
import { formatSampleValue, writeSampleValue } from '../lib/gofloat.js';
import { seriesText } from '../lib/textformat.js';

const BACKSLASH = 0x5c;
const DQUOTE = 0x22;
const NL = 0x0a;
const CLOSE = 0x7d; // }
const QUANTILE = 'quantile';
const LE = 'le';
/** Room for a line's suffix, extra label, value and punctuation: a printed number is at most 24 chars. */
const EXTRA_ROOM = 96;
const START = 1 << 16;
const MAX_KEPT = 1 << 20;

/** Lines appended as byteString(seriesText(…)) would give them, taken out as one byte string. */
export class LineBytes {
  private buf = Buffer.allocUnsafe(START);
  private pos = 0;
  // Where the current series' `{a="x",…` was first written, to copy for its other lines.
  private labelsAt = -1;
  private labelsEnd = -1;

  /** Appends the lines of one series of a family named `name` of type `type`. */
  series(name: string, type: MetricType, m: Metric): void {
    // ASCII text without timestamps is written here, as seriesText would give it; anything beyond
    // ASCII (UTF-8, lone surrogates) and timestamps take the string path.
    if (m.timestampMs === undefined) {
      const start = this.pos;
      this.labelsAt = -1;
      if (m.summary !== undefined && type === 'summary') {
        if (this.summary(name, m.labels, m.summary)) return;
      } else if (m.histogram !== undefined && (type === 'histogram' || type === 'gaugehistogram')) {
        if (this.histogram(name, m.labels, m.histogram)) return;
      } else if (this.plain(name, m.labels, m.value ?? 0)) return;
      this.pos = start;
    }
    const text = byteString(seriesText(name, type, m));
    this.room(text.length);
    this.pos += this.buf.write(text, this.pos, 'latin1');
  }

  /** Forgets what was appended since the last take (by a pack that stopped before taking it). */
  clear(): void {
    this.pos = 0;
  }

  /** The lines appended since the last take, as a byte string; the writer starts over. */
  take(): string {
    const s = this.buf.toString('latin1', 0, this.pos);
    this.pos = 0;
    // A huge family's chunk made it grow: that room is not kept for the small ones after it.
    if (this.buf.length > MAX_KEPT) this.buf = Buffer.allocUnsafe(START);
    return s;
  }

  /** `name{a="x",…} value\n`; false if some char is not ASCII. */
  private plain(name: string, labels: readonly LabelPair[], value: number): boolean {
    this.room(name.length + labelRoom(labels) + EXTRA_ROOM);
    return this.end(this.line(name, '', labels, undefined, '', value, this.pos));
  }

  /** A summary's quantile lines, then `_sum` and `_count`; false if some char is not ASCII. */
  private summary(name: string, labels: readonly LabelPair[], s: Summary): boolean {
    const quantiles = s.quantiles;
    this.room((quantiles.length + 2) * (name.length + labelRoom(labels) + EXTRA_ROOM));
    let p = this.pos;
    for (let q = 0; q < quantiles.length && p >= 0; q++) {
      const { quantile, value } = quantiles[q];
      p = this.line(name, '', labels, QUANTILE, formatSampleValue(quantile), value, p);
    }
    p = this.line(name, '_sum', labels, undefined, '', s.sampleSum, p);
    return this.end(this.line(name, '_count', labels, undefined, '', s.sampleCount, p));
  }

  /** A histogram's bucket lines (+Inf added when missing), then `_sum` and `_count`; false if some char is not ASCII. */
  private histogram(name: string, labels: readonly LabelPair[], h: Histogram): boolean {
    const buckets = h.buckets;
    this.room((buckets.length + 3) * (name.length + labelRoom(labels) + EXTRA_ROOM));
    let p = this.pos;
    let infSeen = false;
    for (let b = 0; b < buckets.length && p >= 0; b++) {
      const { upperBound, cumulativeCount } = buckets[b];
      if (upperBound === Infinity) infSeen = true;
      p = this.line(name, '_bucket', labels, LE, formatSampleValue(upperBound), cumulativeCount, p);
    }
    if (!infSeen) p = this.line(name, '_bucket', labels, LE, '+Inf', h.sampleCount, p);
    p = this.line(name, '_sum', labels, undefined, '', h.sampleSum, p);
    return this.end(this.line(name, '_count', labels, undefined, '', h.sampleCount, p));
  }

  /** Takes the lines written up to p (-1: some char was not ASCII, nothing taken). */
  private end(p: number): boolean {
    if (p < 0) return false;
    this.pos = p;
    return true;
  }

  /**
   * `name<suffix>{a="x",…,<label>="<labelValue>"} value\n` at p (without `label`, no extra pair);
   * the index after it, or -1 if p is -1 or some char is not ASCII.
   */
  private line(
    name: string,
    suffix: string,
    labels: readonly LabelPair[],
    label: string | undefined,
    labelValue: string,
    value: number,
    p: number,
  ): number {
    if (p >= 0) p = this.ascii(name, p);
    if (p >= 0) p = this.ascii(suffix, p);
    if (p >= 0) p = this.labelsOnce(labels, p);
    if (p < 0) return -1;
    const buf = this.buf;
    const own = this.labelsEnd > this.labelsAt;
    if (label !== undefined) {
      buf[p++] = own ? 0x2c : 0x7b; // , or {
      p = this.ascii(label, p);
      buf[p++] = 0x3d; // =
      buf[p++] = DQUOTE;
      p = this.ascii(labelValue, p);
      buf[p++] = DQUOTE;
      buf[p++] = CLOSE;
    } else if (own) buf[p++] = CLOSE;
    buf[p++] = 0x20;
    p = writeSampleValue(buf, p, value);
    buf[p++] = NL;
    return p;
  }

  /**
   * The series' `{a="x",…` at p: written the first time, copied from there after that. The index
   * after it, or -1 if some char is not ASCII.
   */
  private labelsOnce(labels: readonly LabelPair[], p: number): number {
    if (this.labelsAt < 0) {
      this.labelsAt = p;
      this.labelsEnd = this.labels(labels, p);
      return this.labelsEnd;
    }
    const buf = this.buf;
    for (let k = this.labelsAt; k < this.labelsEnd; k++) buf[p++] = buf[k];
    return p;
  }

  /** An ASCII string at p; the index after it, or -1 if some char is not ASCII. */
  private ascii(s: string, p: number): number {
    const buf = this.buf;
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c >= 0x80) return -1;
      buf[p++] = c;
    }
    return p;
  }

  /** `{a="x",…` (escaped, no closing brace; nothing without labels) at p; -1 if some char is not ASCII. */
  private labels(labels: readonly LabelPair[], p: number): number {
    const buf = this.buf;
    for (let i = 0; i < labels.length; i++) {
      buf[p++] = i === 0 ? 0x7b : 0x2c; // { or ,
      p = this.ascii(labels[i].name, p);
      if (p < 0) return -1;
      buf[p++] = 0x3d; // =
      buf[p++] = DQUOTE;
      const v = labels[i].value;
      for (let k = 0; k < v.length; k++) {
        const c = v.charCodeAt(k);
        if (c >= 0x80) return -1;
        if (c === BACKSLASH || c === DQUOTE) {
          buf[p++] = BACKSLASH;
          buf[p++] = c;
        } else if (c === NL) {
          buf[p++] = BACKSLASH;
          buf[p++] = 0x6e; // n
        } else {
          buf[p++] = c;
        }
      }
      buf[p++] = DQUOTE;
    }
    return p;
  }

  /** Makes room for `bytes` more. */
  private room(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.pos + bytes));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }
}

/** Room for the escaped `{a="x",…}` of a series. */
function labelRoom(labels: readonly LabelPair[]): number {
  let need = 2;
  for (let i = 0; i < labels.length; i++) need += labels[i].name.length + 2 * labels[i].value.length + 4;
  return need;
}
