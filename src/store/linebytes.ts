// The packed lines of a large family written straight into bytes (issue #12). Built as strings,
// each series' line cost a dozen concatenations whose pieces the next scavenge had to copy while
// a chunk was being assembled (the pack stage spent as long in GC as in its own code); written
// into one reused buffer, a chunk of lines becomes one flat string and nothing per series is left
// behind but the printed value.
import type { LabelPair, Metric, MetricType } from '../model.js';
import { byteString } from '../lib/gostring.js';
import { formatSampleValue } from '../lib/gofloat.js';
import { seriesText } from '../lib/textformat.js';

const BACKSLASH = 0x5c;
const DQUOTE = 0x22;
const NL = 0x0a;
const START = 1 << 16;
const MAX_KEPT = 1 << 20;

/** Lines appended as byteString(seriesText(…)) would give them, taken out as one byte string. */
export class LineBytes {
  private buf = Buffer.allocUnsafe(START);
  private pos = 0;

  /** Appends the lines of one series of a family named `name` of type `type`. */
  series(name: string, type: MetricType, m: Metric): void {
    // Only the one-line form with ASCII text is written here; summaries, histograms, timestamps
    // and anything beyond ASCII (UTF-8, lone surrogates) take the string path.
    if (m.summary === undefined && m.histogram === undefined && m.timestampMs === undefined) {
      if (this.plain(name, m.labels, formatSampleValue(m.value ?? 0))) return;
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

  /** `name{a="x",…} value\n`; false (nothing written) if some char is not ASCII. */
  private plain(name: string, labels: readonly LabelPair[], value: string): boolean {
    let need = name.length + value.length + 4;
    for (let i = 0; i < labels.length; i++) need += labels[i].name.length + 2 * labels[i].value.length + 4;
    this.room(need);
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    for (let k = 0; k < name.length; k++) {
      const c = name.charCodeAt(k);
      if (c >= 0x80) return false;
      buf[p++] = c;
    }
    for (let i = 0; i < labels.length; i++) {
      buf[p++] = i === 0 ? 0x7b : 0x2c; // { or ,
      const ln = labels[i].name;
      for (let k = 0; k < ln.length; k++) {
        const c = ln.charCodeAt(k);
        if (c >= 0x80) return false;
        buf[p++] = c;
      }
      buf[p++] = 0x3d; // =
      buf[p++] = DQUOTE;
      const v = labels[i].value;
      for (let k = 0; k < v.length; k++) {
        const c = v.charCodeAt(k);
        if (c >= 0x80) return false;
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
    if (labels.length > 0) buf[p++] = 0x7d; // }
    buf[p++] = 0x20;
    for (let k = 0; k < value.length; k++) buf[p++] = value.charCodeAt(k);
    buf[p++] = NL;
    this.pos = p;
    return true;
  }

  /** Makes room for `bytes` more. */
  private room(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.pos + bytes));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }
}
