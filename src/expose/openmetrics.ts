// OpenMetrics 1.0 text renderer, written to produce what client_golang's encoder
// (expfmt.MetricFamilyToOpenMetrics of prometheus/common, as of v0.66/v0.70) writes for the same
// family, byte for byte, with the deviations listed below. Hand-written and string-based like the
// 0.0.4 renderer in text.ts.
//
// What expfmt does, and so this does:
//  - a counter named `x_total` is announced as `# HELP x`, `# TYPE x counter`, `# UNIT x`, and its
//    samples keep the name `x_total`; a counter whose name does not end in `_total` gets
//    `# TYPE x unknown` and its samples stay `x` (no `_total` is added: the series Prometheus
//    stores must not change name when it switches between the text and the OpenMetrics format);
//  - gauge → gauge, untyped → unknown, summary, histogram;
//  - values as Go's %g with ".0" added when there is neither "." nor "e" (1 → 1.0, 1e+06 stays);
//    counts (bucket, _count) as integers; `le` and `quantile` label values like values;
//  - timestamps as seconds (ms / 1000, same float formatting); exemplars (` # {labels} value
//    [timestamp]`) on counter samples and classic histogram buckets, when they have labels;
//  - label values and HELP escape \, newline and "; names outside [a-zA-Z_:][a-zA-Z0-9_:]* are
//    quoted, a metric name then inside the braces;
//  - `_created` lines only when asked for (expfmt's WithCreatedLines, off in promhttp unless
//    EnableOpenMetricsTextCreatedSamples): Prometheus 2.x stores them as separate `x_created`
//    series, which the text format does not have;
//  - a float histogram's or a native histogram's classic part only (no native buckets: OpenMetrics
//    1.0 has none), as in the text format;
//  - series in the order given (no sorting); `# EOF` is the caller's, once after all families;
//  - `_sum` of a histogram with buckets below 0 (which OpenMetrics forbids; Prometheus takes it),
//    so that the series are those of the text format.
// Deviations, each to keep the exposition valid whatever was pushed:
//  - `# UNIT` only when the unit is non-empty and the family name (without `_total`) ends in
//    `_<unit>` (expfmt writes any unit; Prometheus rejects the whole scrape for a unit that is not
//    such a suffix);
//  - gauge histograms as `gaugehistogram` with `_gsum` and `_gcount`, as the OpenMetrics
//    specification has them (expfmt writes `_sum` and `_count`), and without `_created`;
//  - `_created` for counters only when the name ends in `_total` (the others are `unknown`);
//  - where expfmt fails the family (unknown type number, float histogram, value message missing
//    for the family type, invalid exemplar timestamp), this renders what the text format shows:
//    unknown types as `unknown`, the value or integer counts as text.ts reads them, no timestamp.

import type { Exemplar, LabelPair, Metric, MetricFamily, Timestamp } from '../model.js';
import { formatCount, formatGoFloat } from '../lib/gofloat.js';
import { escapeLabelValue, isLegacyName, textName } from '../lib/textformat.js';

/** The line that must end every OpenMetrics exposition. */
export const OPENMETRICS_EOF = '# EOF\n';

export interface OpenMetricsOptions {
  /**
   * Write `_created` lines for counters, summaries and histograms with a created timestamp
   * (expfmt.WithCreatedLines). Off by default, as in promhttp.
   */
  createdLines?: boolean;
}

/** expfmt's writeOpenMetricsFloat: Go's %g, with ".0" when there is neither "." nor "e". */
export function formatOpenMetricsFloat(v: number): string {
  if (v === 1) return '1.0';
  if (v === 0) return '0.0'; // Negative zero too.
  if (v === -1) return '-1.0';
  const s = formatGoFloat(v);
  if (v !== v || v === Infinity || v === -Infinity) return s;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 || c === 101) return s; // '.' or 'e'
  }
  return s + '.0';
}

/** The label pairs without braces: `a="1",b="2"`; '' for none. */
function labelList(labels: LabelPair[]): string {
  let s = '';
  for (let i = 0; i < labels.length; i++) {
    const lp = labels[i];
    s += (i === 0 ? '' : ',') + textName(lp.name) + '="' + escapeLabelValue(lp.value) + '"';
  }
  return s;
}

/**
 * Sample names and labels for the samples of one metric: expfmt's
 * writeOpenMetricsNameAndLabelPairs with the metric's labels rendered once.
 */
class SampleWriter {
  constructor(
    private readonly legacy: boolean,
    private readonly labels: string,
  ) {}

  /** `name{labels,extra}`, with `extra` already rendered (`le="1.0"`) or '' for none. */
  head(name: string, extra = ''): string {
    const l = this.labels;
    if (this.legacy) {
      if (l === '' && extra === '') return name;
      return name + '{' + l + (l !== '' && extra !== '' ? ',' : '') + extra + '}';
    }
    return '{' + textName(name) + (l === '' ? '' : ',' + l) + (extra === '' ? '' : ',' + extra) + '}';
  }
}

/** float64(UnixNano) / 1e9, as expfmt writes created and exemplar timestamps. */
function timestampSeconds(ts: Timestamp): number {
  if (ts.nanos === 0) return ts.seconds;
  return Number(BigInt(ts.seconds) * 1_000_000_000n + BigInt(ts.nanos)) / 1e9;
}

// timestamppb's CheckValid: 0001-01-01 to 9999-12-31, nanos in [0, 1e9).
const MIN_SECONDS = -62135596800;
const MAX_SECONDS = 253402300799;

function exemplarText(e: Exemplar | undefined): string {
  if (e === undefined || e.labels.length === 0) return '';
  let s = ' # {' + labelList(e.labels) + '} ' + formatOpenMetricsFloat(e.value);
  const ts = e.timestamp;
  if (ts !== undefined && ts.seconds >= MIN_SECONDS && ts.seconds <= MAX_SECONDS && ts.nanos >= 0 && ts.nanos < 1e9) {
    s += ' ' + formatOpenMetricsFloat(timestampSeconds(ts));
  }
  return s;
}

/** The `# HELP`, `# TYPE` and `# UNIT` lines of a family. */
export function openMetricsHeader(mf: MetricFamily): string {
  const { name, type } = mf;
  const counterTotal = type === 'counter' && name.endsWith('_total');
  const compliant = counterTotal ? name.slice(0, -6) : name;
  const shown = textName(compliant);
  let omType: string;
  if (mf.typeNumber !== undefined) omType = 'unknown';
  else if (type === 'counter') omType = counterTotal ? 'counter' : 'unknown';
  else if (type === 'untyped') omType = 'unknown';
  else omType = type; // gauge, summary, histogram, gaugehistogram
  let s = mf.help === undefined ? '' : '# HELP ' + shown + ' ' + escapeLabelValue(mf.help) + '\n';
  s += '# TYPE ' + shown + ' ' + omType + '\n';
  const unit = mf.unit;
  if (unit !== undefined && unit !== '' && compliant.length > unit.length && compliant.endsWith('_' + unit)) {
    s += '# UNIT ' + shown + ' ' + escapeLabelValue(unit) + '\n';
  }
  return s;
}

/** The sample lines of one metric of the family. */
export function openMetricsSeries(mf: MetricFamily, m: Metric, options?: OpenMetricsOptions): string {
  const { name } = mf;
  const type = mf.typeNumber !== undefined ? 'untyped' : mf.type;
  const created = options?.createdLines === true;
  const w = new SampleWriter(isLegacyName(name), labelList(m.labels));
  const end = m.timestampMs === undefined ? '\n' : ' ' + formatOpenMetricsFloat(m.timestampMs / 1000) + '\n';

  if (type === 'summary' && m.summary !== undefined) {
    const sm = m.summary;
    let s = '';
    for (const q of sm.quantiles) {
      s +=
        w.head(name, 'quantile="' + formatOpenMetricsFloat(q.quantile) + '"') +
        ' ' +
        formatOpenMetricsFloat(q.value) +
        end;
    }
    s += w.head(name + '_sum') + ' ' + formatOpenMetricsFloat(sm.sampleSum) + end;
    s += w.head(name + '_count') + ' ' + formatCount(sm.sampleCount) + end;
    if (created && sm.createdTimestamp !== undefined) {
      s += w.head(name + '_created') + ' ' + formatOpenMetricsFloat(timestampSeconds(sm.createdTimestamp)) + '\n';
    }
    return s;
  }
  if ((type === 'histogram' || type === 'gaugehistogram') && m.histogram !== undefined) {
    const h = m.histogram;
    const gauge = type === 'gaugehistogram';
    const bucket = name + '_bucket';
    let s = '';
    let infSeen = false;
    for (const b of h.buckets) {
      s += w.head(bucket, 'le="' + formatOpenMetricsFloat(b.upperBound) + '"') + ' ' + formatCount(b.cumulativeCount);
      s += end === '\n' && b.exemplar === undefined ? '\n' : end.slice(0, -1) + exemplarText(b.exemplar) + '\n';
      if (b.upperBound === Infinity) infSeen = true;
    }
    if (!infSeen) s += w.head(bucket, 'le="+Inf"') + ' ' + formatCount(h.sampleCount) + end;
    s += w.head(name + (gauge ? '_gsum' : '_sum')) + ' ' + formatOpenMetricsFloat(h.sampleSum) + end;
    s += w.head(name + (gauge ? '_gcount' : '_count')) + ' ' + formatCount(h.sampleCount) + end;
    if (created && !gauge && h.createdTimestamp !== undefined) {
      s += w.head(name + '_created') + ' ' + formatOpenMetricsFloat(timestampSeconds(h.createdTimestamp)) + '\n';
    }
    return s;
  }
  let s = w.head(name) + ' ' + formatOpenMetricsFloat(m.value ?? 0);
  if (type === 'counter') {
    s += end.slice(0, -1) + exemplarText(m.counter?.exemplar) + '\n';
    const ct = m.counter?.createdTimestamp;
    if (created && ct !== undefined && name.endsWith('_total')) {
      s += w.head(name.slice(0, -6) + '_created') + ' ' + formatOpenMetricsFloat(timestampSeconds(ct)) + '\n';
    }
    return s;
  }
  return s + end;
}

/**
 * One family as OpenMetrics text: its metadata lines, then its metrics in the order given (pass
 * families as ScrapeCache.families() returns them: merged, sorted and without repeated series).
 * The exposition must end with OPENMETRICS_EOF after the last family.
 */
export function renderOpenMetricsFamily(mf: MetricFamily, options?: OpenMetricsOptions): string {
  let s = openMetricsHeader(mf);
  for (const m of mf.metrics) s += openMetricsSeries(mf, m, options);
  return s;
}

/** A whole exposition: every family in the order given, then `# EOF`. */
export function renderOpenMetrics(families: Iterable<MetricFamily>, options?: OpenMetricsOptions): string {
  let s = '';
  for (const mf of families) s += renderOpenMetricsFamily(mf, options);
  return s + OPENMETRICS_EOF;
}
