// Parser for OpenMetrics 1.0 text pushes (Content-Type: application/openmetrics-text), as
// prom-client registries of type Registry.OPENMETRICS_CONTENT_TYPE and the Python client's
// openmetrics exposition write them. Hand-written, one pass over the body, like text.ts.
//
// It accepts what the OpenMetrics 1.0 specification accepts, checked the way the reference
// parser of the specification's test suite (prometheus_client.openmetrics.parser) checks it:
// the whole suite of tests/testdata/parsers of github.com/prometheus/OpenMetrics passes (see
// openmetrics.test.ts). Beyond that parser, a series repeated without timestamps and a counter
// point without `_total` are errors, and `_created` must be a finite number.
//
// The result is the gateway's model, so that a Prometheus scraping the gateway ends up with the
// series it would get scraping the pushing program itself (docs/openmetrics.md has the table):
//  - counter `x` (samples `x_total`, `x_created`) → counter family `x_total`; `x_created` is
//    kept as the created timestamp of each metric (Metric.counter.createdTimestamp), not as a
//    series; exemplars on `x_total` → Metric.counter.exemplar;
//  - gauge → gauge; unknown → untyped;
//  - summary → summary (quantiles, `_sum`, `_count`; `_created` → Summary.createdTimestamp);
//  - histogram → histogram (buckets as given, the +Inf one included as text pushes keep it;
//    `_count` or else the +Inf bucket → sampleCount; `_created` → createdTimestamp; exemplars on
//    buckets → Bucket.exemplar);
//  - gaugehistogram → gaugehistogram (`_gsum` → sampleSum, `_gcount` → sampleCount);
//  - info `x` (samples `x_info{...} 1`) → gauge family `x_info`, value 1;
//  - stateset `x` (samples `x{x="state",...} 0|1`) → gauge family `x`, one series per state;
//  - `# HELP` → help, `# UNIT` → unit (also "" for `# UNIT x `), sample timestamps (seconds) →
//    timestampMs (truncated to the millisecond; the store refuses timestamped pushes, as the
//    reference refuses timestamps in any push).
// Families without samples are left out, as the text parser leaves them out.

import { isUtf8 } from 'node:buffer';
import { ParseError } from './errors.js';
import type { Exemplar, LabelPair, Metric, MetricFamily, MetricType, Timestamp } from '../model.js';
import {
  CR,
  SP,
  DQUOTE,
  HASH,
  PLUS,
  COMMA,
  MINUS,
  EQUALS,
  BACKSLASH,
  LBRACE,
  RBRACE,
  LABEL_START,
  LABEL_CONT,
  METRIC_START,
  METRIC_CONT,
  is,
} from './chars.js';
import { decimalEnd } from '../lib/gofloat.js';

/** A parse error, with the 1-based number of the line it was found in. */
export class OpenMetricsParseError extends ParseError {
  /** 1-based number of the line the error was found in. */
  readonly line: number;
  /** The message without the "openmetrics format parsing error in line N: " prefix. */
  readonly msg: string;

  constructor(line: number, msg: string) {
    super(`openmetrics format parsing error in line ${line}: ${msg}`);
    this.name = 'OpenMetricsParseError';
    this.line = line;
    this.msg = msg;
  }
}

/**
 * Whether a Content-Type names OpenMetrics text (`application/openmetrics-text`, any
 * parameters; the media type is compared case-insensitively).
 */
export function isOpenMetrics(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(';');
  const media = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return media === 'application/openmetrics-text';
}

const EOF_BYTES = [0x23, 0x20, 0x45, 0x4f, 0x46]; // "# EOF"

/**
 * Whether a body ends like an OpenMetrics exposition: its last line is `# EOF` (with or without
 * a final newline). prom-client's Pushgateway sends an OpenMetrics registry's output without any
 * Content-Type, so this is how such a push can be recognized.
 */
export function endsWithOpenMetricsEof(body: Uint8Array): boolean {
  let end = body.length;
  if (end > 0 && body[end - 1] === 0x0a) end--;
  const start = end - EOF_BYTES.length;
  if (start < 0 || (start > 0 && body[start - 1] !== 0x0a)) return false;
  for (let k = 0; k < EOF_BYTES.length; k++) if (body[start + k] !== EOF_BYTES[k]) return false;
  return true;
}

/**
 * Parses an OpenMetrics text exposition. Returns the families in the order of the input.
 *
 * @throws OpenMetricsParseError
 */
export function parseOpenMetrics(body: string): MetricFamily[] {
  return new Parser(body).parse();
}

/**
 * Parses a raw OpenMetrics body, which must be UTF-8.
 *
 * @throws OpenMetricsParseError
 */
export function parseOpenMetricsBytes(body: Uint8Array): MetricFamily[] {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (!isUtf8(buf)) {
    let line = 1;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      const end = nl < 0 ? buf.length : nl;
      if (!isUtf8(buf.subarray(start, end))) break;
      line++;
      start = end + 1;
    }
    throw new OpenMetricsParseError(line, 'invalid UTF-8');
  }
  return parseOpenMetrics(buf.toString('utf8'));
}

// ---------------------------------------------------------------------------------------------

type OmType = 'counter' | 'gauge' | 'unknown' | 'summary' | 'histogram' | 'gaugehistogram' | 'info' | 'stateset';

const OM_TYPES = new Set<string>([
  'counter',
  'gauge',
  'unknown',
  'summary',
  'histogram',
  'gaugehistogram',
  'info',
  'stateset',
]);

/** The sample name suffixes of each type (the specification's list). */
const SUFFIXES: Record<OmType, readonly string[]> = {
  counter: ['_total', '_created'],
  summary: ['', '_count', '_sum', '_created'],
  histogram: ['_count', '_sum', '_bucket', '_created'],
  gaugehistogram: ['_gcount', '_gsum', '_bucket'],
  info: ['_info'],
  gauge: [''],
  stateset: [''],
  unknown: [''],
};

const STORED_TYPE: Record<OmType, MetricType> = {
  counter: 'counter',
  gauge: 'gauge',
  unknown: 'untyped',
  summary: 'summary',
  histogram: 'histogram',
  gaugehistogram: 'gaugehistogram',
  info: 'gauge',
  stateset: 'gauge',
};

/**
 * A metric family being read, with the MetricPoint being read (consecutive samples of one label
 * group and timestamp), whose state is kept here rather than in an object per point.
 */
interface Family {
  name: string;
  type: OmType | undefined;
  help: string | undefined;
  unit: string | undefined;
  /** The stored family, created with the first sample. */
  out: MetricFamily | undefined;
  /** Signatures of the label groups of the points so far. */
  seenGroups: Set<string>;
  // The current point.
  inPoint: boolean;
  group: string;
  groupTs: number | undefined;
  /** Line of its first sample, for errors found when it ends. */
  pointLine: number;
  /** The metric of a counter, summary or histogram point. */
  metric: Metric | undefined;
  /** The samples seen in the point, to find repeated ones: the first, then all in a set. */
  firstSlot: string | undefined;
  slots: Set<string> | undefined;
  // Histograms.
  lastBound: number;
  lastCount: number;
  infCount: number | undefined;
  count: number | undefined;
  hasSum: boolean;
  negativeSum: boolean;
  negativeBuckets: boolean;
}

/** A parsed number token and its text (for exact timestamps). */
interface Num {
  value: number;
  text: string;
}

class Parser {
  private readonly src: string;
  private line = 0;
  private fam: Family | undefined;
  private readonly result: MetricFamily[] = [];
  /** Sample names taken by the families so far → the family taking them. */
  private readonly taken = new Map<string, Family>();

  constructor(src: string) {
    this.src = src;
  }

  private fail(msg: string, line = this.line): never {
    throw new OpenMetricsParseError(line, msg);
  }

  parse(): MetricFamily[] {
    const src = this.src;
    const n = src.length;
    if (n > 0 && src.charCodeAt(0) === 0xfeff) this.fail('byte order mark at the start of the body', 1);
    let pos = 0;
    let eof = false;
    while (pos < n) {
      this.line++;
      let end = src.indexOf('\n', pos);
      if (end < 0) end = n;
      if (eof) this.fail('unexpected content after "# EOF"');
      if (end === pos) this.fail('blank line');
      if (src.charCodeAt(end - 1) === CR)
        this.fail('carriage return at the end of the line (lines must end in "\\n" only)');
      const c = src.charCodeAt(pos);
      if (c === HASH) {
        if (end - pos === 5 && src.startsWith('# EOF', pos)) eof = true;
        else this.descriptor(pos, end);
      } else if (c === SP || c === 9) {
        this.fail('line starts with whitespace');
      } else {
        this.sample(pos, end);
      }
      pos = end + 1;
    }
    if (!eof) this.fail('missing "# EOF" at the end of the input', this.line + 1);
    this.closeFamily();
    return this.result;
  }

  // --- Families --------------------------------------------------------------------------------

  private closeFamily(): void {
    const fam = this.fam;
    if (fam === undefined) return;
    this.closePoint(fam);
    if (fam.out !== undefined) this.result.push(fam.out);
    this.fam = undefined;
  }

  /** Starts a family, named by a sample (`fromSample`) or by a metadata line. */
  private startFamily(name: string, fromSample: boolean): Family {
    const previous = this.fam;
    this.closeFamily();
    const owner = this.taken.get(name);
    if (owner !== undefined) {
      if (fromSample && owner === previous && owner.type !== undefined) {
        const names = SUFFIXES[owner.type].map((s) => owner.name + s).join(', ');
        this.fail(
          `sample name "${name}" is not one of the ${owner.type} "${owner.name}", whose samples are named ${names}`,
        );
      }
      if (owner.name === name) this.fail(`second metric family "${name}": the lines of a family must be consecutive`);
      this.fail(
        `metric family "${name}" clashes with the samples of the ${owner.type ?? 'unknown'} "${owner.name}" before`,
      );
    }
    const fam: Family = {
      name,
      type: fromSample ? 'unknown' : undefined,
      help: undefined,
      unit: undefined,
      out: undefined,
      seenGroups: new Set(),
      inPoint: false,
      group: '',
      groupTs: undefined,
      pointLine: 0,
      metric: undefined,
      firstSlot: undefined,
      slots: undefined,
      lastBound: -Infinity,
      lastCount: 0,
      infCount: undefined,
      count: undefined,
      hasSum: false,
      negativeSum: false,
      negativeBuckets: false,
    };
    this.taken.set(name, fam);
    this.fam = fam;
    return fam;
  }

  /** A `# HELP`, `# TYPE` or `# UNIT` line (or an invalid comment); [pos, end) is the line. */
  private descriptor(pos: number, end: number): void {
    const src = this.src;
    let kw = '';
    if (pos + 6 < end && src.charCodeAt(pos + 1) === SP && src.charCodeAt(pos + 6) === SP)
      kw = src.slice(pos + 2, pos + 6);
    else if (end - pos === 6 && src.charCodeAt(pos + 1) === SP) kw = src.slice(pos + 2, pos + 6);
    if (kw !== 'HELP' && kw !== 'TYPE' && kw !== 'UNIT') {
      this.fail('invalid comment line: only "# HELP", "# TYPE", "# UNIT" and "# EOF" lines may start with "#"');
    }
    let i = pos + 7;
    const nameStart = i;
    if (i < end && src.charCodeAt(i) === DQUOTE)
      this.fail(`quoted metric names are not supported in OpenMetrics 1.0 (# ${kw} line)`);
    if (i >= end || !is(src.charCodeAt(i), METRIC_START)) this.fail(`invalid metric name in # ${kw} line`);
    while (i < end && is(src.charCodeAt(i), METRIC_CONT)) i++;
    const name = src.slice(nameStart, i);
    const what = kw === 'HELP' ? 'text' : kw === 'TYPE' ? 'type' : 'unit';
    if (i === end) this.fail(`# ${kw} line for "${name}" has no ${what} (a space must follow the name)`);
    if (src.charCodeAt(i) !== SP) this.fail(`invalid metric name in # ${kw} line`);
    const rest = src.slice(i + 1, end);

    let fam = this.fam;
    if (fam === undefined || fam.name !== name) fam = this.startFamily(name, false);
    else if (fam.out !== undefined) this.fail(`# ${kw} line for "${name}" after its samples`);

    if (kw === 'HELP') {
      if (fam.help !== undefined) this.fail(`second # HELP line for "${name}"`);
      fam.help = rest.indexOf('\\') < 0 ? rest : unescape(rest);
    } else if (kw === 'TYPE') {
      if (fam.type !== undefined) this.fail(`second # TYPE line for "${name}"`);
      if (!OM_TYPES.has(rest)) {
        const hint = rest === 'untyped' ? ' (OpenMetrics calls it "unknown")' : '';
        this.fail(`unknown metric type ${JSON.stringify(rest)}${hint}`);
      }
      const type = rest as OmType;
      if ((type === 'info' || type === 'stateset') && fam.unit) this.fail(`the ${type} "${name}" must not have a unit`);
      for (const suffix of SUFFIXES[type]) {
        if (suffix === '') continue;
        const sampleName = name + suffix;
        const owner = this.taken.get(sampleName);
        if (owner !== undefined && owner !== fam) {
          this.fail(
            `the ${type} "${name}" clashes with the metric family "${owner.name}" before (sample name "${sampleName}")`,
          );
        }
        this.taken.set(sampleName, fam);
      }
      fam.type = type;
    } else {
      if (fam.unit !== undefined) this.fail(`second # UNIT line for "${name}"`);
      for (let k = 0; k < rest.length; k++) {
        if (!is(rest.charCodeAt(k), METRIC_CONT)) this.fail(`invalid unit ${JSON.stringify(rest)}`);
      }
      if (rest !== '') {
        if (!(name.length > rest.length && name.endsWith('_' + rest))) {
          this.fail(`unit "${rest}" is not a suffix of the metric name "${name}" (it must end in "_${rest}")`);
        }
        if (fam.type === 'info' || fam.type === 'stateset') this.fail(`the ${fam.type} "${name}" must not have a unit`);
      }
      fam.unit = rest;
    }
  }

  // --- Samples ---------------------------------------------------------------------------------

  /** Reads `{...}` starting at the brace; returns the labels and the index after '}'. */
  private labels(i: number, end: number, sampleName: string, ofExemplar: boolean): [LabelPair[], number] {
    const src = this.src;
    const fail = (msg: string): never => this.fail(`${msg} in ${describe(sampleName, ofExemplar)}`);
    const labels: LabelPair[] = [];
    i++; // '{'
    if (i < end && src.charCodeAt(i) === RBRACE) return [labels, i + 1];
    for (;;) {
      const nameStart = i;
      if (i < end && src.charCodeAt(i) === DQUOTE)
        fail('quoted label names are not supported in OpenMetrics 1.0, found one');
      if (i >= end || !is(src.charCodeAt(i), LABEL_START)) fail(`invalid label name`);
      while (i < end && is(src.charCodeAt(i), LABEL_CONT)) i++;
      const name = src.slice(nameStart, i);
      if (i >= end || src.charCodeAt(i) !== EQUALS) fail(`expected "=" after label name "${name}"`);
      i++;
      if (i >= end || src.charCodeAt(i) !== DQUOTE) fail(`expected '"' to start the value of label "${name}"`);
      i++;
      const valueStart = i;
      let escaped = false;
      let c: number;
      while (i < end && (c = src.charCodeAt(i)) !== DQUOTE) {
        if (c === BACKSLASH) {
          escaped = true;
          i++;
        }
        i++;
      }
      if (i >= end) fail(`unterminated value of label "${name}"`);
      const raw = src.slice(valueStart, i);
      for (let k = 0; k < labels.length; k++) {
        if (labels[k].name === name) fail(`duplicate label name "${name}"`);
      }
      labels.push({ name, value: escaped ? unescape(raw) : raw });
      i++; // '"'
      c = i < end ? src.charCodeAt(i) : -1;
      if (c === RBRACE) return [labels, i + 1];
      if (c !== COMMA) fail(`expected "," or "}" after the value of label "${name}"`);
      i++;
    }
  }

  /** The token from i up to the next space or the end of the line. */
  private tokenEnd(i: number, end: number): number {
    const src = this.src;
    while (i < end && src.charCodeAt(i) !== SP) i++;
    return i;
  }

  private number(from: number, to: number, kind: string, sampleName: string, ofExemplar: boolean): Num {
    const text = this.src.slice(from, to);
    const value = parseNumber(text);
    if (value === undefined)
      this.fail(`invalid ${kind} in ${describe(sampleName, ofExemplar)} ${JSON.stringify(text)}`);
    return { value: value as number, text };
  }

  private realNumber(from: number, to: number, kind: string, sampleName: string, ofExemplar: boolean): Num {
    const text = this.src.slice(from, to);
    if (!isRealNumber(text))
      this.fail(`invalid ${kind} in ${describe(sampleName, ofExemplar)} ${JSON.stringify(text)}`);
    return { value: Number(text), text };
  }

  private sample(pos: number, end: number): void {
    const src = this.src;
    let i = pos;
    if (src.charCodeAt(i) === LBRACE)
      this.fail(
        'a sample must start with its metric name (names inside the braces are not supported in OpenMetrics 1.0)',
      );
    if (!is(src.charCodeAt(i), METRIC_START)) this.fail('invalid metric name');
    while (i < end && is(src.charCodeAt(i), METRIC_CONT)) i++;
    const name = src.slice(pos, i);
    let labels: LabelPair[] = [];
    if (i < end && src.charCodeAt(i) === LBRACE) [labels, i] = this.labels(i, end, name, false);
    if (i >= end) this.fail(`sample "${name}" has no value`);
    if (src.charCodeAt(i) !== SP) this.fail(`invalid metric name or labels in sample "${name}"`);
    i++;
    let t = this.tokenEnd(i, end);
    const value = this.number(i, t, 'value', name, false);
    let ts: Num | undefined;
    let exemplar: Exemplar | undefined;
    if (t < end) {
      i = t + 1;
      if (src.charCodeAt(i) !== HASH) {
        t = this.tokenEnd(i, end);
        ts = this.realNumber(i, t, 'timestamp', name, false);
        i = t + 1;
      }
      if (t < end) exemplar = this.exemplar(i, end, name);
    }
    this.addSample(name, labels, value, ts, exemplar);
  }

  /** ` # {labels} value [timestamp]` with i at the '#'. */
  private exemplar(i: number, end: number, name: string): Exemplar {
    const src = this.src;
    if (
      i >= end ||
      src.charCodeAt(i) !== HASH ||
      src.charCodeAt(i + 1) !== SP ||
      src.charCodeAt(i + 2) !== LBRACE ||
      i + 2 >= end
    ) {
      this.fail(
        `invalid text after the value of sample "${name}" (an exemplar is written " # {labels} value [timestamp]")`,
      );
    }
    const [labels, after] = this.labels(i + 2, end, name, true);
    let length = 0;
    for (const lp of labels) length += codePoints(lp.name) + codePoints(lp.value);
    if (length > 128)
      this.fail(`the labels of the exemplar of sample "${name}" are ${length} characters long, more than 128`);
    if (after >= end || src.charCodeAt(after) !== SP)
      this.fail(`expected " value" after the labels of ${describe(name, true)}`);
    i = after + 1;
    let t = this.tokenEnd(i, end);
    const value = this.number(i, t, 'value', name, true);
    const ex: Exemplar = { labels, value: value.value };
    if (t < end) {
      i = t + 1;
      t = this.tokenEnd(i, end);
      const ts = this.realNumber(i, t, 'timestamp', name, true);
      if (t < end) this.fail(`unexpected text after the timestamp of ${describe(name, true)}`);
      ex.timestamp = this.toTimestamp(ts, `timestamp in ${describe(name, true)}`);
    }
    return ex;
  }

  private toTimestamp(n: Num, what: string): Timestamp {
    const ts = secondsToTimestamp(n.text);
    if (ts === undefined) this.fail(`${what} ${JSON.stringify(n.text)} is not a finite number of seconds`);
    return ts as Timestamp;
  }

  /** `name{a="1",...}` for messages. */
  private static series(name: string, labels: LabelPair[]): string {
    let s = name;
    for (let k = 0; k < labels.length; k++)
      s += (k === 0 ? '{' : ',') + labels[k].name + '=' + JSON.stringify(labels[k].value);
    return labels.length === 0 ? s : s + '}';
  }

  private addSample(
    name: string,
    labels: LabelPair[],
    value: Num,
    tsNum: Num | undefined,
    exemplar: Exemplar | undefined,
  ): void {
    let fam = this.fam;
    let role: string | undefined;
    if (fam !== undefined && name.startsWith(fam.name)) {
      const suffix = name.length === fam.name.length ? '' : name.slice(fam.name.length);
      if (SUFFIXES[fam.type ?? 'unknown'].includes(suffix)) role = suffix;
    }
    if (fam === undefined || role === undefined) {
      fam = this.startFamily(name, true);
      role = '';
    }
    const type: OmType = fam.type ?? 'unknown';
    const v = value.value;

    // The group (the labels without le/quantile/the state) and the sample's place in its point.
    let skip = -1; // The label left out of the group.
    let slot = role;
    let bound = NaN;
    if ((type === 'histogram' || type === 'gaugehistogram') && role === '_bucket') {
      skip = indexOfLabel(labels, 'le');
      if (skip < 0) this.fail(`histogram bucket ${Parser.series(name, labels)} has no "le" label`);
      const raw = labels[skip].value;
      const b = parseNumber(raw);
      if (b === undefined || b !== b)
        this.fail(`invalid "le" label value ${JSON.stringify(raw)} in ${Parser.series(name, labels)}`);
      if (b === Infinity && raw !== '+Inf')
        this.fail(`"le" label value ${JSON.stringify(raw)} in ${Parser.series(name, labels)} must be written "+Inf"`);
      bound = b as number;
      slot = '_bucket\0' + raw;
    } else if (type === 'summary' && role === '') {
      skip = indexOfLabel(labels, 'quantile');
      if (skip < 0) this.fail(`summary sample ${Parser.series(name, labels)} has no "quantile" label`);
      const raw = labels[skip].value;
      const q = parseNumber(raw);
      if (q === undefined || !(q >= 0 && q <= 1)) {
        this.fail(
          `invalid "quantile" label value ${JSON.stringify(raw)} in ${Parser.series(name, labels)} (must be a number from 0 to 1)`,
        );
      }
      bound = q as number;
      slot = '\0' + raw;
    } else if (type === 'stateset') {
      skip = indexOfLabel(labels, fam.name);
      if (skip < 0)
        this.fail(`stateset sample ${Parser.series(name, labels)} has no "${fam.name}" label naming its state`);
      slot = '\0' + labels[skip].value;
    } else if (type === 'info') {
      slot = signature(labels, -1);
    }

    // Values.
    if (
      role === '_total' ||
      role === '_sum' ||
      role === '_count' ||
      role === '_bucket' ||
      role === '_gcount' ||
      role === '_gsum'
    ) {
      if (v !== v) this.fail(`${Parser.series(name, labels)} must not be NaN`);
      if (v < 0 && role !== '_gsum') this.fail(`${Parser.series(name, labels)} must not be negative`);
      if ((role === '_count' || role === '_gcount' || role === '_bucket') && !Number.isInteger(v)) {
        this.fail(`${Parser.series(name, labels)} must be an integer`);
      }
    } else if (role === '_created') {
      if (!Number.isFinite(v)) this.fail(`${Parser.series(name, labels)} must be a finite number of seconds`);
    } else if (type === 'summary' && v < 0) {
      this.fail(`quantile value of ${Parser.series(name, labels)} must not be negative`);
    } else if (type === 'stateset' && v !== 0 && v !== 1) {
      this.fail(`stateset sample ${Parser.series(name, labels)} must be 0 or 1`);
    } else if (type === 'info' && v !== 1) {
      this.fail(`info sample ${Parser.series(name, labels)} must be 1`);
    }
    if (exemplar !== undefined && role !== '_total' && role !== '_bucket') {
      this.fail(
        `exemplar on ${Parser.series(name, labels)}: only counter _total samples and histogram buckets may have exemplars`,
      );
    }

    // Timestamp and grouping: points of one group are consecutive, timestamps never go back.
    let tsMs: number | undefined;
    if (tsNum !== undefined) {
      tsMs = secondsToMillis(tsNum.text);
      if (tsMs === undefined)
        this.fail(`timestamp ${JSON.stringify(tsNum.text)} of ${Parser.series(name, labels)} is out of range`);
    }
    const g = type === 'info' ? '' : signature(labels, skip);
    if (!fam.inPoint || g !== fam.group) {
      if (fam.seenGroups.has(g)) {
        this.fail(
          `${Parser.series(name, labels)} belongs to a metric whose samples came before: the samples of a metric must be consecutive`,
        );
      }
      fam.seenGroups.add(g);
      this.newPoint(fam, g, tsMs);
    } else {
      if ((tsMs === undefined) !== (fam.groupTs === undefined))
        this.fail(`${Parser.series(name, labels)}: samples of one metric with and without timestamp`);
      if (tsMs !== undefined && tsMs < fam.groupTs! && type !== 'info')
        this.fail(`${Parser.series(name, labels)}: timestamp goes backwards`);
      if (tsMs !== fam.groupTs) this.newPoint(fam, g, tsMs);
    }
    if (fam.firstSlot === undefined) {
      fam.firstSlot = slot;
    } else if (slot === fam.firstSlot || fam.slots?.has(slot) === true) {
      if (tsMs !== undefined) return; // The same point again (timestamps truncated): keep the first.
      this.fail(`duplicate sample ${Parser.series(name, labels)}`);
    } else {
      (fam.slots ??= new Set()).add(slot);
    }

    // Into the model.
    const out = (fam.out ??= this.storedFamily(fam, type));
    switch (type) {
      case 'gauge':
      case 'unknown':
      case 'stateset':
      case 'info': {
        const m: Metric = { labels, value: v };
        if (tsMs !== undefined) m.timestampMs = tsMs;
        out.metrics.push(m);
        return;
      }
      case 'counter': {
        const m = (fam.metric ??= pointMetric(labels, -1, tsMs));
        if (role === '_total') {
          m.value = v;
          if (exemplar !== undefined) (m.counter ??= {}).exemplar = exemplar;
        } else {
          (m.counter ??= {}).createdTimestamp = this.toTimestamp(value, Parser.series(name, labels));
        }
        return;
      }
      case 'summary': {
        const m = (fam.metric ??= pointMetric(labels, skip, tsMs));
        const s = (m.summary ??= { sampleCount: 0, sampleSum: 0, quantiles: [] });
        if (role === '') s.quantiles.push({ quantile: bound, value: v });
        else if (role === '_sum') s.sampleSum = v;
        else if (role === '_count') s.sampleCount = v;
        else s.createdTimestamp = this.toTimestamp(value, Parser.series(name, labels));
        return;
      }
      default: {
        // histogram, gaugehistogram
        const m = (fam.metric ??= pointMetric(labels, skip, tsMs));
        const h = (m.histogram ??= { sampleCount: 0, sampleSum: 0, buckets: [] });
        if (role === '_bucket') {
          if (h.buckets.length > 0 && !(bound > fam.lastBound))
            this.fail(`${Parser.series(name, labels)}: buckets must be in increasing order of "le"`);
          if (v < fam.lastCount)
            this.fail(`${Parser.series(name, labels)}: bucket counts must not decrease (buckets are cumulative)`);
          fam.lastBound = bound;
          fam.lastCount = v;
          if (bound < 0) fam.negativeBuckets = true;
          if (bound === Infinity) fam.infCount = v;
          h.buckets.push(
            exemplar === undefined
              ? { upperBound: bound, cumulativeCount: v }
              : { upperBound: bound, cumulativeCount: v, exemplar },
          );
        } else if (role === '_count' || role === '_gcount') {
          h.sampleCount = v;
          fam.count = v;
        } else if (role === '_sum' || role === '_gsum') {
          h.sampleSum = v;
          fam.hasSum = true;
          if (v < 0) fam.negativeSum = true;
        } else {
          h.createdTimestamp = this.toTimestamp(value, Parser.series(name, labels));
        }
      }
    }
  }

  private storedFamily(fam: Family, type: OmType): MetricFamily {
    const name = type === 'counter' ? fam.name + '_total' : type === 'info' ? fam.name + '_info' : fam.name;
    const mf: MetricFamily = { name, type: STORED_TYPE[type], metrics: [] };
    if (fam.help !== undefined) mf.help = fam.help;
    if (fam.unit !== undefined) mf.unit = fam.unit;
    return mf;
  }

  /** Ends the current point, if any, and starts one for group g at timestamp tsMs. */
  private newPoint(fam: Family, g: string, tsMs: number | undefined): void {
    if (fam.inPoint) this.closePoint(fam);
    fam.inPoint = true;
    fam.group = g;
    fam.groupTs = tsMs;
    fam.pointLine = this.line;
  }

  /** Checks the finished point, adds its metric to the family and resets the point state. */
  private closePoint(fam: Family): void {
    if (!fam.inPoint) return;
    const m = fam.metric;
    const line = fam.pointLine;
    const { infCount, count, hasSum, negativeSum, negativeBuckets } = fam;
    fam.inPoint = false;
    fam.metric = undefined;
    fam.firstSlot = undefined;
    fam.slots = undefined;
    fam.lastBound = -Infinity;
    fam.lastCount = 0;
    fam.infCount = undefined;
    fam.count = undefined;
    fam.hasSum = false;
    fam.negativeSum = false;
    fam.negativeBuckets = false;
    if (m === undefined) return;
    const type = fam.type ?? 'unknown';
    const where = () => Parser.series(fam.name, m.labels);
    if (type === 'counter') {
      if (m.value === undefined) this.fail(`counter ${where()} has no ${fam.name}_total sample`, line);
      if (m.counter !== undefined) m.counter.value = m.value;
    } else if (type === 'histogram' || type === 'gaugehistogram') {
      const g = type === 'gaugehistogram' ? 'g' : '';
      if (infCount === undefined) this.fail(`${type} ${where()} has no bucket with le="+Inf"`, line);
      if (count !== undefined && count !== infCount)
        this.fail(`${type} ${where()}: _${g}count ${count} differs from the +Inf bucket ${infCount}`, line);
      if (hasSum && count === undefined) this.fail(`${type} ${where()} has _${g}sum but no _${g}count`, line);
      if (!hasSum && count !== undefined) this.fail(`${type} ${where()} has _${g}count but no _${g}sum`, line);
      if (type === 'histogram' && negativeBuckets && hasSum)
        this.fail(`histogram ${where()} has buckets below 0, so it must not have _sum`, line);
      if (type === 'gaugehistogram' && negativeSum && !negativeBuckets)
        this.fail(`gaugehistogram ${where()} has a negative _gsum but no bucket below 0`, line);
      if (count === undefined) m.histogram!.sampleCount = infCount!;
    }
    fam.out!.metrics.push(m);
  }
}

/** What a message names: `sample "x"` or `the exemplar of sample "x"`. */
function describe(sampleName: string, ofExemplar: boolean): string {
  return (ofExemplar ? 'the exemplar of sample "' : 'sample "') + sampleName + '"';
}

/** The metric of a point: the labels without the one at `skip` (le, quantile), and the timestamp. */
function pointMetric(labels: LabelPair[], skip: number, tsMs: number | undefined): Metric {
  const m: Metric = { labels: skip < 0 ? labels : labels.slice(0, skip).concat(labels.slice(skip + 1)) };
  if (tsMs !== undefined) m.timestampMs = tsMs;
  return m;
}

function indexOfLabel(labels: LabelPair[], name: string): number {
  for (let k = 0; k < labels.length; k++) if (labels[k].name === name) return k;
  return -1;
}

/** A key equal for equal label sets, whatever their order; the label at `skip` left out. */
function signature(labels: LabelPair[], skip: number): string {
  const n = labels.length;
  let sorted = true;
  let prev = '';
  for (let k = 0; k < n; k++) {
    if (k === skip) continue;
    const name = labels[k].name;
    if (name < prev) {
      sorted = false;
      break;
    }
    prev = name;
  }
  let list = labels;
  if (!sorted) {
    list = labels.filter((_, k) => k !== skip).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    skip = -1;
  }
  let s = '';
  for (let k = 0; k < list.length; k++) {
    if (k !== skip) s += list[k].name + '\xff' + list[k].value + '\xfe';
  }
  return s;
}

/** The escapes \\, \n and \"; a backslash before anything else stays (as the reference parser keeps it). */
function unescape(s: string): string {
  let out = '';
  let seg = 0;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) !== BACKSLASH) continue;
    const c = s.charCodeAt(i + 1);
    if (c === BACKSLASH || c === DQUOTE || c === 110) {
      out += s.slice(seg, i) + (c === 110 ? '\n' : c === DQUOTE ? '"' : '\\');
      seg = i + 2;
      i++;
    }
  }
  return seg === 0 ? s : out + s.slice(seg);
}

function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** The ABNF's realnumber: [sign] digits with an optional "." and exponent, at least one digit. */
function isRealNumber(s: string): boolean {
  const signed = s.length > 0 && (s.charCodeAt(0) === PLUS || s.charCodeAt(0) === MINUS);
  return decimalEnd(s, signed ? 1 : 0) === s.length;
}

/** The ABNF's number: a realnumber, [sign] inf/infinity or nan (case-insensitive). */
function parseNumber(s: string): number | undefined {
  if (isRealNumber(s)) return Number(s);
  const lower = s.toLowerCase();
  switch (lower) {
    case 'nan':
      return NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
  }
  return undefined;
}

/**
 * A realnumber's decimal digits with the point moved `shift` places to the right: the sign, the
 * integer digits and the fraction digits, exactly (no float rounding). Undefined when absurdly large.
 */
function shiftDecimal(s: string, shift: number): { negative: boolean; int: string; frac: string } | undefined {
  let i = 0;
  const negative = s.charCodeAt(0) === MINUS;
  if (negative || s.charCodeAt(0) === PLUS) i = 1;
  let e = s.length;
  for (let k = i; k < s.length; k++) {
    if ((s.charCodeAt(k) | 0x20) === 101) {
      e = k;
      break;
    }
  }
  const mantissa = s.slice(i, e);
  const exp = e < s.length ? Number(s.slice(e + 1)) : 0;
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  let point = (dot < 0 ? mantissa.length : dot) + exp + shift;
  // Leading zeros do not count.
  let lead = 0;
  while (lead < digits.length - 1 && lead < point && digits.charCodeAt(lead) === 48) lead++;
  const d = digits.slice(lead);
  point -= lead;
  if (point > 400) return undefined;
  if (point <= 0) return { negative, int: '0', frac: '0'.repeat(Math.min(-point, 20)) + d };
  if (point >= d.length) return { negative, int: d + '0'.repeat(point - d.length), frac: '' };
  return { negative, int: d.slice(0, point), frac: d.slice(point) };
}

/** Seconds (a realnumber) as whole milliseconds, truncated toward zero; undefined when not finite. */
function secondsToMillis(s: string): number | undefined {
  const x = shiftDecimal(s, 3);
  if (x === undefined) return undefined;
  const ms = Number(x.int);
  if (!Number.isFinite(ms)) return undefined;
  return x.negative && ms !== 0 ? -ms : ms;
}

/** Seconds (a number token) as a google.protobuf.Timestamp, exact to the nanosecond (truncated). */
export function secondsToTimestamp(s: string): Timestamp | undefined {
  if (!isRealNumber(s)) return undefined;
  const x = shiftDecimal(s, 0);
  if (x === undefined) return undefined;
  let seconds = Number(x.int);
  if (!Number.isFinite(seconds)) return undefined;
  let nanos = Number((x.frac.slice(0, 9) + '000000000').slice(0, 9));
  if (x.negative) {
    if (nanos > 0) {
      seconds = -seconds - 1;
      nanos = 1e9 - nanos;
    } else {
      seconds = seconds === 0 ? 0 : -seconds;
    }
  }
  return { seconds, nanos };
}
