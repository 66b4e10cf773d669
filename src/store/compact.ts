// A family kept as the bytes a scrape shows of it, in a latin1 string (a char per byte: V8 stores
// it at a byte per char and compacts it, where many small Buffers fragment their pools). Parsed
// metric objects cost ~600 bytes per series; their text lines cost ~60 and are what /metrics
// needs anyway. A family is packed only
// when parsing its lines back gives exactly what was pushed (checked on every pack), so nothing
// a push carried is lost: anything the text format cannot hold (native histograms, exemplars,
// created timestamps, a histogram without its +Inf bucket…) keeps the parsed objects instead.
import type { Histogram, Metric, MetricFamily, MetricType, Summary } from '../model.js';
import { byteString } from '../lib/gostring.js';
import { compareSortKeys, headerText } from '../lib/textformat.js';
import { parseTextByteString, parseTextByteStringSteps } from '../parse/text.js';
import { seriesKey } from './consistency.js';
import { LineBytes } from './linebytes.js';
import { MIN_RUN, runNow, sortSteps } from './slices.js';
import { sortInPlace } from '../lib/shortsort.js';

/** A family's series as text lines, in scrape order, and the order they were pushed in. */
export interface Packed {
  /** The series' lines, sorted as the reference sorts them, as a byte string. */
  readonly text: string;
  /**
   * Position in the push of each line's series, when that is not the sorted order: a char per
   * series (two, high half first, for families of more than 65,535), smaller than a typed array.
   */
  readonly order: string | undefined;
}

/** The packed form of a family, or undefined when text cannot hold it exactly. */
export function pack(mf: MetricFamily): Packed | undefined {
  if (!mayPack(mf)) return undefined;
  return packNow(mf, seriesOrder(mf.metrics));
}

/** Whether `pack` may hold the family at all (the parsed objects are kept otherwise). */
export function mayPack(mf: MetricFamily): boolean {
  return mf.metrics.length > 0 && mf.typeNumber === undefined && mf.unit === undefined;
}

/** How series of `metrics` at two positions compare in scrape order. */
function bySeries(metrics: readonly Metric[]): (a: number, b: number) => number {
  return (a, b) => compareSortKeys(metrics[a].labels, metrics[b].labels) || a - b;
}

/** The order of a family of one series (never changed). */
const ONE: readonly number[] = [0];

/**
 * The positions of the series in scrape order: by seriesSortKey, equal keys (same values under
 * other label names) in push order. A few series get a plain array: a typed array costs more.
 */
export function seriesOrder(metrics: readonly Metric[]): ArrayLike<number> {
  const n = metrics.length;
  if (n === 1) return ONE;
  if (n > MIN_RUN) return runNow(seriesOrderSteps(metrics, Infinity));
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) order[i] = i;
  sortInPlace(order, bySeries(metrics));
  return order;
}

/** seriesOrder, in steps of `grain` series (see slices.ts). */
export function* seriesOrderSteps(metrics: readonly Metric[], grain: number): Generator<void, ArrayLike<number>> {
  if (metrics.length <= MIN_RUN) return seriesOrder(metrics);
  const order = new Uint32Array(metrics.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  yield* sortSteps(order, bySeries(metrics), grain);
  return order;
}

// One writer for every pack: a buffer of its own per family was 64 KiB of garbage per family
// pushed (at 1,000 fleet pushes/s, a third of the CPU went to GC). Shared safely because packSteps
// takes what it wrote before each yield, so no other pack runs between a series and its take,
// and clears what a pack that gave up left.
const LINES = new LineBytes();

/**
 * Writes the lines of the series at positions `from` to `to` (excluded) of `order` into LINES.
 * Returns whether they are in push order, or undefined at a repeated series (possible with the
 * check off: it stays parsed, the scrape shows it once).
 */
function packRange(mf: MetricFamily, order: ArrayLike<number>, from: number, to: number): boolean | undefined {
  const metrics = mf.metrics;
  let sorted = true;
  for (let k = from; k < to; k++) {
    const m = metrics[order[k]];
    if (k > 0) {
      const prev = metrics[order[k - 1]];
      if (compareSortKeys(prev.labels, m.labels) === 0 && seriesKey(prev) === seriesKey(m)) return undefined;
    }
    if (order[k] !== k) sorted = false;
    LINES.series(mf.name, mf.type, m);
  }
  return sorted;
}

/** pack of a family that mayPack, given the scrape order of its series (seriesOrder), at once. */
export function packNow(mf: MetricFamily, order: ArrayLike<number>): Packed | undefined {
  // A pack that gave up on a repeated series left its lines behind.
  LINES.clear();
  const sorted = packRange(mf, order, 0, order.length);
  if (sorted === undefined) return undefined;
  const packed: Packed = { text: LINES.take(), order: sorted ? undefined : encodeOrder(order) };
  return surelyExact(mf) ? packed : runNow(roundTripSteps(mf, packed, Infinity));
}

/**
 * pack, as steps of `grain` series, given the scrape order of the series (seriesOrderSteps) of a
 * family that mayPack. The lines are made a byte string a step at a time and joined once.
 */
export function* packSteps(
  mf: MetricFamily,
  order: ArrayLike<number>,
  grain: number,
): Generator<void, Packed | undefined> {
  if (order.length <= grain) return packNow(mf, order);
  const chunks: string[] = [];
  LINES.clear();
  let sorted = true;
  for (let from = 0; from < order.length; from += grain) {
    if (from > 0) yield;
    const inOrder = packRange(mf, order, from, Math.min(order.length, from + grain));
    if (inOrder === undefined) return undefined;
    sorted &&= inOrder;
    chunks.push(LINES.take());
  }
  const orderText = sorted ? undefined : encodeOrder(order);
  yield;
  const packed: Packed = { text: chunks.join(''), order: orderText };
  yield;
  if (yield* surelyExactSteps(mf, grain)) return packed;
  return yield* roundTripSteps(mf, packed, grain);
}

/** `packed` if parsing it back gives exactly `mf`, else undefined. */
function* roundTripSteps(mf: MetricFamily, packed: Packed, grain: number): Generator<void, Packed | undefined> {
  let back: MetricFamily;
  try {
    back = yield* unpackSteps(mf.name, mf.help, mf.type, packed, grain);
  } catch {
    return undefined; // e.g. a name or label value the text format cannot carry
  }
  return (yield* sameFamilySteps(back, mf, grain)) ? packed : undefined;
}

/** The family that `pack` packed, rebuilt. */
export function unpack(name: string, help: string | undefined, type: MetricType, packed: Packed): MetricFamily {
  return runNow(unpackSteps(name, help, type, packed, Infinity));
}

function* unpackSteps(
  name: string,
  help: string | undefined,
  type: MetricType,
  packed: Packed,
  grain: number,
): Generator<void, MetricFamily> {
  const parsed = yield* parseTextByteStringSteps(byteString(headerText(name, help, type)) + packed.text, grain);
  if (parsed.length !== 1) throw new Error(`packed family ${name} parsed into ${parsed.length} families`);
  const mf = parsed[0];
  if (packed.order !== undefined) {
    const order = decodeOrder(packed.order, mf.metrics.length);
    const metrics = new Array<Metric>(order.length);
    for (let k = 0; k < order.length; k++) metrics[order[k]] = mf.metrics[k];
    mf.metrics = metrics;
  }
  return mf;
}

const WIDE = 0xffff;

/** Up to this many series, the order's chars are made from it at once (the copy and its slices cost more). */
const SHORT_ORDER = 8192;

function encodeOrder(order: ArrayLike<number>): string {
  const n = order.length;
  if (n <= SHORT_ORDER) return String.fromCharCode.apply(null, order as unknown as number[]);
  let codes: Uint16Array;
  if (n <= WIDE) codes = new Uint16Array(order);
  else {
    codes = new Uint16Array(2 * n);
    for (let k = 0; k < n; k++) {
      codes[2 * k] = order[k] >>> 16;
      codes[2 * k + 1] = order[k] & 0xffff;
    }
  }
  let s = '';
  // apply, not a spread: a spread of a typed array goes through its iterator (~7x slower).
  for (let k = 0; k < codes.length; k += 8192)
    s += String.fromCharCode.apply(null, codes.subarray(k, k + 8192) as unknown as number[]);
  return s;
}

function decodeOrder(s: string, n: number): number[] {
  const order = new Array<number>(n);
  if (n <= WIDE) for (let k = 0; k < n; k++) order[k] = s.charCodeAt(k);
  else for (let k = 0; k < n; k++) order[k] = s.charCodeAt(2 * k) * 0x10000 + s.charCodeAt(2 * k + 1);
  return order;
}

// --- Exactness without the round trip -----------------------------------------------------------

const CLASSIC_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// The keys each kind of object may have, as constants: an array literal in a call is a new array
// at every call, per family, series and bucket of every push.
const PLAIN_KEYS = ['labels', 'value', 'gauge', 'counter', 'untyped'] as const;
const FAMILY_KEYS = ['name', 'help', 'type', 'metrics'] as const;
const SUMMARY_METRIC_KEYS = ['labels', 'summary'] as const;
const HISTOGRAM_METRIC_KEYS = ['labels', 'histogram'] as const;
const SUMMARY_KEYS = ['sampleCount', 'sampleSum', 'quantiles'] as const;
const QUANTILE_KEYS = ['quantile', 'value'] as const;
const HISTOGRAM_KEYS = ['sampleCount', 'sampleSum', 'buckets'] as const;
const BUCKET_KEYS = ['upperBound', 'cumulativeCount'] as const;
const METRIC_KEYS = ['labels', 'value', 'summary', 'histogram', 'timestampMs', 'gauge', 'counter', 'untyped'] as const;
const VALUE_KEYS = ['value'] as const;

/**
 * Whether parsing the packed lines back is sure to give `mf` exactly, so that the round trip can
 * be skipped (it costs as much as parsing the push again). Vouches only for the common cases, in
 * families whose header parses back as it is: series with label names the parser reads as they
 * are, in strictly increasing order (no duplicates, no `quantile`/`le` where the parser would take
 * them for the bound), well-formed label values (escaping restores \\, \" and newlines; UTF-8
 * restores the rest) and no timestamp; gauge, counter or untyped values finite and not -0; summaries
 * and classic histograms with strictly increasing bounds (the last bucket's +Inf, so rendering adds
 * none) and numbers that print as what they read back as (not -0, NaN only the one text parses; counts whole and within 2^53).
 * Anything else goes through the round trip.
 */
function* surelyExactSteps(mf: MetricFamily, grain: number): Generator<void, boolean> {
  if (!exactKind(mf)) return false;
  const passed = passedNames(mf.type);
  const n = mf.metrics.length;
  for (let from = 0; from < n; from += grain) {
    if (from > 0) yield;
    if (!exactSeries(mf, from, Math.min(n, from + grain), passed)) return false;
  }
  return headerExact(mf);
}

/** surelyExactSteps at once, without a generator (a small family of a small push). */
function surelyExact(mf: MetricFamily): boolean {
  return exactKind(mf) && exactSeries(mf, 0, mf.metrics.length, passedNames(mf.type)) && headerExact(mf);
}

// At each position, a name seen to pass the checks of names alone (exactSeries), kept from family
// to family and push to push: series mostly share their label names, and the regular expression
// is the costlier part. Apart for summaries and histograms, where `quantile` and `le` do not pass.
const PASSED_PLAIN: string[] = [];
const PASSED_SUMMARY: string[] = [];
const PASSED_HISTOGRAM: string[] = [];

function passedNames(type: MetricType): string[] {
  return type === 'summary' ? PASSED_SUMMARY : type === 'histogram' ? PASSED_HISTOGRAM : PASSED_PLAIN;
}

function exactKind(mf: MetricFamily): boolean {
  const type = mf.type;
  if (type !== 'gauge' && type !== 'counter' && type !== 'untyped' && type !== 'summary' && type !== 'histogram')
    return false;
  return onlyKeys(mf, FAMILY_KEYS);
}

/** The series checks of surelyExactSteps, for the series from `from` to `to` (exclusive). */
function exactSeries(mf: MetricFamily, from: number, to: number, passed: string[]): boolean {
  const type = mf.type;
  const bound = type === 'summary' ? 'quantile' : type === 'histogram' ? 'le' : undefined;
  for (let i = from; i < to; i++) {
    const m = mf.metrics[i];
    if (m.timestampMs !== undefined) return false;
    if (type === 'summary') {
      if (!onlyKeys(m, SUMMARY_METRIC_KEYS) || m.summary === undefined || !exactSummary(m.summary)) return false;
    } else if (type === 'histogram') {
      if (!onlyKeys(m, HISTOGRAM_METRIC_KEYS) || m.histogram === undefined || !exactHistogram(m.histogram))
        return false;
    } else {
      if (m.summary !== undefined || m.histogram !== undefined) return false;
      const v = m.value;
      if (typeof v !== 'number' || !Number.isFinite(v) || Object.is(v, -0)) return false;
      if (!onlyKeys(m, PLAIN_KEYS) || !sameValueMessages(m, type)) return false;
    }
    const labels = m.labels;
    for (let j = 0; j < labels.length; j++) {
      const lp = labels[j];
      if (lp.unset !== undefined || !lp.value.isWellFormed()) return false;
      if (j > 0 ? !(labels[j - 1].name < lp.name) : false) return false;
      if (lp.name === passed[j]) continue;
      if (lp.name === '__name__' || lp.name === bound || !CLASSIC_LABEL_NAME.test(lp.name)) return false;
      passed[j] = lp.name;
    }
  }
  return true;
}

/** A number that prints as text that parses back to the same bits. */
function printsExactly(v: unknown): boolean {
  return typeof v === 'number' && !Object.is(v, -0) && (v === v || sameNumber(v, NaN));
}

/** A count the parser's uint64 conversion gives back as it is. */
function exactCount(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0 && !Object.is(v, -0);
}

function exactSummary(s: Summary): boolean {
  if (!onlyKeys(s, SUMMARY_KEYS)) return false;
  if (!exactCount(s.sampleCount) || !printsExactly(s.sampleSum)) return false;
  for (let q = 0; q < s.quantiles.length; q++) {
    const x = s.quantiles[q];
    if (!onlyKeys(x, QUANTILE_KEYS) || !printsExactly(x.quantile) || !printsExactly(x.value)) return false;
    if (x.quantile !== x.quantile || (q > 0 && !(s.quantiles[q - 1].quantile < x.quantile))) return false;
  }
  return true;
}

function exactHistogram(h: Histogram): boolean {
  if (!onlyKeys(h, HISTOGRAM_KEYS)) return false;
  if (!exactCount(h.sampleCount) || !printsExactly(h.sampleSum)) return false;
  const n = h.buckets.length;
  if (n === 0 || h.buckets[n - 1].upperBound !== Infinity) return false;
  for (let q = 0; q < n; q++) {
    const b = h.buckets[q];
    if (!onlyKeys(b, BUCKET_KEYS) || !exactCount(b.cumulativeCount)) return false;
    if (!printsExactly(b.upperBound) || (q > 0 && !(h.buckets[q - 1].upperBound < b.upperBound))) return false;
  }
  return true;
}

/** Verdicts on headers already seen, by family name: few distinct ones recur on every push. */
const headerVerdicts = new Map<string, { help: string | undefined; type: MetricType; exact: boolean }>();
const MAX_HEADER_VERDICTS = 10_000;

/** Whether the family's header, with one sample, parses back into its name, HELP and type. */
function headerExact(mf: MetricFamily): boolean {
  // Compared field by field, not by the rendered bytes: different HELP strings can render the same bytes.
  const known = headerVerdicts.get(mf.name);
  if (known !== undefined && known.help === mf.help && known.type === mf.type) return known.exact;
  let exact: boolean;
  try {
    const back = parseTextByteString(byteString(headerText(mf.name, mf.help, mf.type)) + mf.name + ' 0\n');
    exact = back.length === 1 && back[0].name === mf.name && back[0].help === mf.help && back[0].type === mf.type;
  } catch {
    exact = false;
  }
  if (headerVerdicts.size >= MAX_HEADER_VERDICTS) headerVerdicts.clear();
  headerVerdicts.set(mf.name, { help: mf.help, type: mf.type, exact });
  return exact;
}

// --- Exact comparison of a rebuilt family with the pushed one ---------------------------------

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** Same number, -0 and NaN bits included (text turns every NaN into the one NaN it parses to). */
function sameNumber(a: number | undefined, b: number | undefined): boolean {
  if (!Object.is(a, b)) return false;
  if (a === undefined || a === a) return true;
  f64[0] = a;
  const hi = u32[1];
  const lo = u32[0];
  f64[0] = b!;
  return u32[1] === hi && u32[0] === lo;
}

/** Whether a plain object has no keys beyond `allowed` holding a defined value. */
function onlyKeys(o: object, allowed: readonly string[]): boolean {
  const r = o as Record<string, unknown>;
  for (const k in r) if (r[k] !== undefined && !allowed.includes(k)) return false;
  return true;
}

function* sameFamilySteps(back: MetricFamily, mf: MetricFamily, grain: number): Generator<void, boolean> {
  if (back.name !== mf.name || back.help !== mf.help || back.type !== mf.type) return false;
  if (!onlyKeys(mf, FAMILY_KEYS) || back.metrics.length !== mf.metrics.length) return false;
  for (let i = 0; i < mf.metrics.length; i++) {
    if (!sameMetric(back.metrics[i], mf.metrics[i], mf.type)) return false;
    if ((i + 1) % grain === 0) yield;
  }
  return true;
}

function sameMetric(back: Metric, m: Metric, type: MetricType): boolean {
  if (back.labels.length !== m.labels.length || back.timestampMs !== m.timestampMs) return false;
  for (let j = 0; j < m.labels.length; j++) {
    const a = back.labels[j];
    const b = m.labels[j];
    if (a.name !== b.name || a.value !== b.value || b.unset !== undefined) return false;
  }
  if (!onlyKeys(m, METRIC_KEYS)) return false;
  if (!sameValueMessages(m, type)) return false;
  if (!sameNumber(back.value, m.value)) return false;
  if (m.summary !== undefined) {
    const a = back.summary;
    const b = m.summary;
    if (a === undefined || !onlyKeys(b, SUMMARY_KEYS)) return false;
    if (!sameNumber(a.sampleCount, b.sampleCount) || !sameNumber(a.sampleSum, b.sampleSum)) return false;
    if (a.quantiles.length !== b.quantiles.length) return false;
    for (let q = 0; q < b.quantiles.length; q++) {
      const x = a.quantiles[q];
      const y = b.quantiles[q];
      if (y.unset !== undefined || !sameNumber(x.quantile, y.quantile) || !sameNumber(x.value, y.value)) return false;
    }
  } else if (back.summary !== undefined) return false;
  if (m.histogram !== undefined) {
    const a = back.histogram;
    const b = m.histogram;
    if (a === undefined || !onlyKeys(b, HISTOGRAM_KEYS)) return false;
    if (!sameNumber(a.sampleCount, b.sampleCount) || !sameNumber(a.sampleSum, b.sampleSum)) return false;
    if (a.buckets.length !== b.buckets.length) return false;
    for (let q = 0; q < b.buckets.length; q++) {
      const x = a.buckets[q];
      const y = b.buckets[q];
      if (!onlyKeys(y, BUCKET_KEYS)) return false;
      if (!sameNumber(x.upperBound, y.upperBound) || !sameNumber(x.cumulativeCount, y.cumulativeCount)) return false;
    }
  } else if (back.histogram !== undefined) return false;
  return true;
}

/**
 * A protobuf push names the value message it carries (gauge, counter, untyped); text holds only
 * the value. They are the same when the push carried exactly the message of the family's type,
 * with a value, and nothing else in it.
 */
function sameValueMessages(m: Metric, type: MetricType): boolean {
  const { gauge, counter, untyped } = m;
  if (gauge === undefined && counter === undefined && untyped === undefined) return true;
  const own = type === 'gauge' ? gauge : type === 'counter' ? counter : type === 'untyped' ? untyped : undefined;
  const others = [gauge, counter, untyped].filter((x) => x !== undefined).length;
  if (own === undefined || others !== 1 || own.value === undefined || !onlyKeys(own, VALUE_KEYS)) return false;
  return sameNumber(own.value, m.value);
}
