// Text exposition format 0.0.4 renderer, byte-compatible with Go's expfmt as used by the
// reference (which prints counts as floats too: 1234567 → 1.234567e+06): whole families in the
// reference's series order, and the quoted names of --push.enable-utf8-names. The lines of one
// series are lib/textformat.ts's, shared with the store.
import type { LabelPair, Metric, MetricFamily, MetricType } from '../model.js';
import { formatSampleValue } from '../lib/gofloat.js';
import {
  escapeLabelValue,
  headerText,
  compareSeries,
  isLegacyName,
  renderSeries,
  seriesSortKey,
  textName,
  timestampSuffix,
  type RenderedSeries,
} from '../lib/textformat.js';

export { compareSeries, renderSeries, type RenderedSeries } from '../lib/textformat.js';

/** A whole family: header, then its series in reference order. */
export function familyText(mf: MetricFamily): string {
  let s = headerText(mf.name, mf.help, mf.type);
  for (const r of renderSeries(mf)) s += r.text;
  return s;
}

// --- UTF-8 names (--push.enable-utf8-names) -----------------------------------------------------
//
// What Pushgateway 1.11 shows of UTF-8 names (prometheus/common 0.6x, client_golang's promhttp):
// the text scrape escapes every name that is not a classic one (model.IsValidLegacyMetricName,
// for metric and label names alike) with the scheme the scraper asks for in the Accept header's
// `escaping` parameter, by default `underscores` (model.NameEscapingScheme): "my.metric" is shown
// as my_metric to a classic scraper. A scraper that sends `escaping=allow-utf-8` (Prometheus 3
// does) gets the names unescaped, written quoted where they are not classic ones:
// `{"my.metric","label.name"="v"} 1`. The Content-Type then says which: `text/plain;
// version=0.0.4; charset=utf-8; escaping=underscores`. Protobuf scrapes are escaped the same way
// (1.11.3; 1.11.0 sent them unescaped).

/** An Accept `escaping` value: how names that are not classic ones are shown (model.EscapingScheme). */
export type NameEscaping = 'allow-utf-8' | 'underscores' | 'dots' | 'values';

/** `name{labels}` or, for a name that is not a classic one, `{"name",labels}`; inner: `a="1",…` or ''. */
function quotedSample(name: string, inner: string, value: string, ts: string): string {
  if (isLegacyName(name)) return name + (inner === '' ? '' : '{' + inner + '}') + ' ' + value + ts;
  return '{"' + escapeLabelValue(name) + '"' + (inner === '' ? '' : ',' + inner) + '} ' + value + ts;
}

/** Label pairs as expfmt writes them with UTF-8 names: `a="1","b.c"="2"` (no braces). */
function quotedLabels(labels: LabelPair[]): string {
  let s = '';
  for (let i = 0; i < labels.length; i++) {
    const lp = labels[i];
    s += (i === 0 ? '' : ',') + textName(lp.name) + '="' + escapeLabelValue(lp.value) + '"';
  }
  return s;
}

/** headerText with a name that is not a classic one quoted: `# TYPE "my.metric" counter`. */
export function headerTextQuoted(name: string, help: string | undefined, type: MetricType): string {
  return headerText(textName(name), help, type);
}

/**
 * seriesText with names written as expfmt.MetricFamilyToText writes them since prometheus/common
 * 0.60: a metric name (suffixes included) that is not a classic one goes quoted inside the braces
 * as their first element, a label name that is not a classic one is quoted. For names that are
 * all classic, the same text as seriesText.
 */
export function seriesTextQuoted(name: string, type: MetricType, m: Metric): string {
  const inner = quotedLabels(m.labels);
  const extra = (label: string, v: string) => (inner === '' ? '' : inner + ',') + label + '="' + v + '"';
  const ts = timestampSuffix(m);
  if (m.summary !== undefined && type === 'summary') {
    let s = '';
    for (const q of m.summary.quantiles) {
      s += quotedSample(name, extra('quantile', formatSampleValue(q.quantile)), formatSampleValue(q.value), ts);
    }
    return (
      s +
      quotedSample(name + '_sum', inner, formatSampleValue(m.summary.sampleSum), ts) +
      quotedSample(name + '_count', inner, formatSampleValue(m.summary.sampleCount), ts)
    );
  }
  if (m.histogram !== undefined && (type === 'histogram' || type === 'gaugehistogram')) {
    let s = '';
    let infSeen = false;
    for (const b of m.histogram.buckets) {
      if (b.upperBound === Infinity) infSeen = true;
      s += quotedSample(
        name + '_bucket',
        extra('le', formatSampleValue(b.upperBound)),
        formatSampleValue(b.cumulativeCount),
        ts,
      );
    }
    if (!infSeen)
      s += quotedSample(name + '_bucket', extra('le', '+Inf'), formatSampleValue(m.histogram.sampleCount), ts);
    return (
      s +
      quotedSample(name + '_sum', inner, formatSampleValue(m.histogram.sampleSum), ts) +
      quotedSample(name + '_count', inner, formatSampleValue(m.histogram.sampleCount), ts)
    );
  }
  return quotedSample(name, inner, formatSampleValue(m.value ?? 0), ts);
}

/** renderSeries with names quoted where they are not classic ones (seriesTextQuoted). */
export function renderSeriesQuoted(mf: MetricFamily): RenderedSeries[] {
  const out = new Array<RenderedSeries>(mf.metrics.length);
  for (let i = 0; i < mf.metrics.length; i++) {
    const m = mf.metrics[i];
    out[i] = { sort: seriesSortKey(m.labels), text: seriesTextQuoted(mf.name, mf.type, m) };
  }
  return out.sort(compareSeries);
}

/** familyText with names quoted where they are not classic ones. */
export function familyTextQuoted(mf: MetricFamily): string {
  let s = headerTextQuoted(mf.name, mf.help, mf.type);
  for (const r of renderSeriesQuoted(mf)) s += r.text;
  return s;
}

/** A code point's Go rune for escaping: a lone surrogate (a raw invalid byte) reads as U+FFFD, as Go ranges over it. */
function isLegacyRune(cp: number, first: boolean): boolean {
  return (
    (cp >= 97 && cp <= 122) || (cp >= 65 && cp <= 90) || cp === 95 || cp === 58 || (!first && cp >= 48 && cp <= 57)
  );
}

/**
 * model.EscapeName: a name escaped for a scraper that does not take UTF-8 names. `underscores`
 * replaces every character that is not classic by '_'; `dots` writes '_' as '__', '.' as
 * '_dot_' and any other such character as '__' (classic names included); `values` prefixes
 * `U__`, writes '_' as '__' and any other such character as `_<hex code point>_` (the scheme
 * grouping label names use in push paths). Classic names are left alone except by `dots`.
 */
export function escapeName(name: string, scheme: NameEscaping): string {
  if (name === '' || scheme === 'allow-utf-8') return name;
  if (scheme !== 'dots' && isLegacyName(name)) return name;
  let out = scheme === 'values' ? 'U__' : '';
  let first = true;
  for (const ch of name) {
    let cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // A raw byte of invalid UTF-8: utf8.RuneError.
    if (scheme === 'underscores') out += isLegacyRune(cp, first) ? ch : '_';
    else if (scheme === 'dots') out += cp === 95 ? '__' : cp === 46 ? '_dot_' : isLegacyRune(cp, first) ? ch : '__';
    else out += cp === 95 ? '__' : isLegacyRune(cp, first) ? ch : '_' + cp.toString(16) + '_';
    first = false;
  }
  return out;
}

/**
 * model.EscapeMetricFamily: the family with its metric name and label names escaped where they
 * are not classic ones (label names are judged by the metric-name rule, so `a:b` stays), the
 * label order kept. Returns the family itself when nothing needs escaping.
 */
export function escapeFamily(mf: MetricFamily, scheme: NameEscaping): MetricFamily {
  if (scheme === 'allow-utf-8') return mf;
  let metrics: Metric[] | undefined;
  for (let i = 0; i < mf.metrics.length; i++) {
    const m = mf.metrics[i];
    let labels: LabelPair[] | undefined;
    for (let k = 0; k < m.labels.length; k++) {
      const lp = m.labels[k];
      const escaped =
        lp.name === '__name__'
          ? isLegacyName(lp.value)
            ? lp
            : { name: lp.name, value: escapeName(lp.value, scheme) }
          : isLegacyName(lp.name)
            ? lp
            : { name: escapeName(lp.name, scheme), value: lp.value };
      if (escaped !== lp) labels ??= m.labels.slice(0, k);
      if (labels !== undefined) labels.push(escaped);
    }
    if (labels !== undefined) (metrics ??= mf.metrics.slice(0, i)).push({ ...m, labels });
    else if (metrics !== undefined) metrics.push(m);
  }
  const name = isLegacyName(mf.name) ? mf.name : escapeName(mf.name, scheme);
  if (name === mf.name && metrics === undefined) return mf;
  return { ...mf, name, metrics: metrics ?? mf.metrics };
}

/**
 * The text exposition of merged families (as ScrapeCache.families gives them) with UTF-8 names
 * enabled: escaped with `escaping`, names that are not classic ones quoted (only possible with
 * allow-utf-8, or for label names with ':' … which stay unquoted, being classic metric names).
 */
export function utf8ScrapeText(families: readonly MetricFamily[], escaping: NameEscaping): string {
  let s = '';
  for (const mf of families) s += familyTextQuoted(escapeFamily(mf, escaping));
  return s;
}
