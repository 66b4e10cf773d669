// The text exposition format 0.0.4 (Go's expfmt as the reference uses it): escaping, the lines
// of one series and the header of a family. Scrapes render every stored series with these, and
// the store keeps what they render, so they live apart from both.
import type { LabelPair, Metric, MetricFamily, MetricType } from '../model.js';
import { formatSampleValue } from './gofloat.js';

const NEEDS_ESCAPE = /[\\"\n]/;

/** expfmt's escaping of label values (and of quoted names): \\, newline and ". */
export function escapeLabelValue(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

/** expfmt's escaping of HELP text: \\ and newline. */
export function escapeHelp(h: string): string {
  if (h.indexOf('\\') < 0 && h.indexOf('\n') < 0) return h;
  return h.replace(/[\\\n]/g, (c) => (c === '\\' ? '\\\\' : '\\n'));
}

/** `{a="1",b="2"` without the closing brace, so callers can append `le`/`quantile`; '' for none. */
function openLabels(labels: LabelPair[]): string {
  let s = '';
  for (let i = 0; i < labels.length; i++) {
    const lp = labels[i];
    s += (i === 0 ? '{' : ',') + lp.name + '="' + escapeLabelValue(lp.value) + '"';
  }
  return s;
}

/**
 * The start of a series' `_count` line (summaries, histograms) or only line, up to the value:
 * what tells it apart from the other series of its family in rendered text.
 */
export function seriesIdText(name: string, type: MetricType, labels: LabelPair[]): string {
  const open = openLabels(labels);
  const counted = type === 'summary' || type === 'histogram' || type === 'gaugehistogram';
  return (counted ? name + '_count' : name) + (open === '' ? '' : open + '}') + ' ';
}

function withExtra(open: string, name: string, value: string): string {
  return (open === '' ? '{' : open + ',') + name + '="' + value + '"}';
}

export function headerText(name: string, help: string | undefined, type: MetricType): string {
  const helpLine = help === undefined ? '' : `# HELP ${name} ${escapeHelp(help)}\n`;
  return `${helpLine}# TYPE ${name} ${type === 'gaugehistogram' ? 'histogram' : type}\n`;
}

/** Reference series order (client_golang's metric sorter): fewer labels first, then values. */
export function seriesSortKey(labels: readonly LabelPair[]): string {
  let s = String.fromCharCode(labels.length);
  for (let i = 0; i < labels.length; i++) s += labels[i].value + '\u0000';
  return s;
}

/**
 * seriesSortKey(x) compared with seriesSortKey(y), without building them: the label count (as
 * the key's first char holds it), then the values. Joined by \0, two different values compare as
 * they do alone unless one is the start of the other followed by a \0 (then the values after
 * decide): the keys are built for such a pair.
 */
export function compareSortKeys(x: readonly LabelPair[], y: readonly LabelPair[]): number {
  if (x.length !== y.length && (x.length & 0xffff) !== (y.length & 0xffff))
    return (x.length & 0xffff) - (y.length & 0xffff);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const a = x[i].value;
    const b = y[i].value;
    if (a === b) continue;
    const short = a.length < b.length ? a : b;
    const long = short === a ? b : a;
    if (long.charCodeAt(short.length) === 0 && long.startsWith(short)) {
      const ka = seriesSortKey(x);
      const kb = seriesSortKey(y);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    }
    return a < b ? -1 : 1;
  }
  return x.length - y.length;
}

/** ` <ms>\n` for a metric with a timestamp, else the bare newline. */
export function timestampSuffix(m: Metric): string {
  return m.timestampMs === undefined ? '\n' : ` ${m.timestampMs}\n`;
}

/** The lines of one series of a family of the given type. */
export function seriesText(name: string, type: MetricType, m: Metric): string {
  const open = openLabels(m.labels);
  const plain = open === '' ? '' : open + '}';
  const ts = timestampSuffix(m);
  if (m.summary !== undefined && type === 'summary') {
    let s = '';
    for (const q of m.summary.quantiles) {
      s += name + withExtra(open, 'quantile', formatSampleValue(q.quantile)) + ' ' + formatSampleValue(q.value) + ts;
    }
    return (
      s +
      `${name}_sum${plain} ${formatSampleValue(m.summary.sampleSum)}${ts}${name}_count${plain} ${formatSampleValue(m.summary.sampleCount)}${ts}`
    );
  }
  if (m.histogram !== undefined && (type === 'histogram' || type === 'gaugehistogram')) {
    let s = '';
    let infSeen = false;
    for (const b of m.histogram.buckets) {
      if (b.upperBound === Infinity) infSeen = true;
      s += `${name}_bucket${withExtra(open, 'le', formatSampleValue(b.upperBound))} ${formatSampleValue(b.cumulativeCount)}${ts}`;
    }
    if (!infSeen)
      s += `${name}_bucket${withExtra(open, 'le', '+Inf')} ${formatSampleValue(m.histogram.sampleCount)}${ts}`;
    return (
      s +
      `${name}_sum${plain} ${formatSampleValue(m.histogram.sampleSum)}${ts}${name}_count${plain} ${formatSampleValue(m.histogram.sampleCount)}${ts}`
    );
  }
  return `${name}${plain} ${formatSampleValue(m.value ?? 0)}${ts}`;
}

const LEGACY_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** model.IsValidLegacyMetricName: a name the text format writes without quotes. */
export function isLegacyName(name: string): boolean {
  return LEGACY_NAME.test(name);
}

/** A metric or label name as the text format writes it: as is if classic, else quoted (expfmt's writeName). */
export function textName(name: string): string {
  return isLegacyName(name) ? name : '"' + escapeLabelValue(name) + '"';
}

/** One series ready for a scrape: its text lines, and the key the reference sorts series by. */
export interface RenderedSeries {
  /** Position among the family's series: label count, then label values in label-name order. */
  sort: string;
  /** The series' complete lines, each ending in "\n". */
  text: string;
}

export function renderSeries(mf: MetricFamily): RenderedSeries[] {
  const out = new Array<RenderedSeries>(mf.metrics.length);
  for (let i = 0; i < mf.metrics.length; i++) {
    const m = mf.metrics[i];
    out[i] = { sort: seriesSortKey(m.labels), text: seriesText(mf.name, mf.type, m) };
  }
  return out.sort(compareSeries);
}

export function compareSeries(a: RenderedSeries, b: RenderedSeries): number {
  return a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0;
}
