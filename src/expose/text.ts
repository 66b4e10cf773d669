// Text exposition format 0.0.4 renderer, byte-compatible with Go's expfmt as used by the
// reference (which prints counts as floats too: 1234567 → 1.234567e+06). Hand-written because
// scrapes render every stored series: it must be exact and fast.
import type { LabelPair, Metric, MetricFamily, MetricType } from '../model.js';
import { formatSampleValue } from './float.js';
import { encodeGoString } from '../parse/protobuf.js';

/** One series ready for a scrape: its text lines, and the key the reference sorts series by. */
export interface RenderedSeries {
  /** Position among the family's series: label count, then label values in label-name order. */
  sort: string;
  /** The series' complete lines, each ending in "\n". */
  text: string;
}

/** Text as the bytes it stands for (raw bytes pushed in HELP or labels are held as lone surrogates). */
export function textBytes(text: string): Buffer {
  return text.isWellFormed() ? Buffer.from(text) : Buffer.from(encodeGoString(text));
}

const NON_ASCII = /[^\x00-\x7f]/;

/** The UTF-8 bytes of text (see textBytes) as a latin1 string: one char per byte. */
export function byteString(text: string): string {
  // ASCII text is its own byte string (and testing it flattens a string built by concatenation).
  return NON_ASCII.test(text) ? textBytes(text).toString('latin1') : text;
}

const NEEDS_ESCAPE = /[\\"\n]/;

export function escapeLabelValue(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

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
export function seriesSortKey(labels: LabelPair[]): string {
  let s = String.fromCharCode(labels.length);
  for (let i = 0; i < labels.length; i++) s += labels[i].value + '\u0000';
  return s;
}

function timestampSuffix(m: Metric): string {
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
    return s + `${name}_sum${plain} ${formatSampleValue(m.summary.sampleSum)}${ts}${name}_count${plain} ${formatSampleValue(m.summary.sampleCount)}${ts}`;
  }
  if (m.histogram !== undefined && (type === 'histogram' || type === 'gaugehistogram')) {
    let s = '';
    let infSeen = false;
    for (const b of m.histogram.buckets) {
      if (b.upperBound === Infinity) infSeen = true;
      s += `${name}_bucket${withExtra(open, 'le', formatSampleValue(b.upperBound))} ${formatSampleValue(b.cumulativeCount)}${ts}`;
    }
    if (!infSeen) s += `${name}_bucket${withExtra(open, 'le', '+Inf')} ${formatSampleValue(m.histogram.sampleCount)}${ts}`;
    return s + `${name}_sum${plain} ${formatSampleValue(m.histogram.sampleSum)}${ts}${name}_count${plain} ${formatSampleValue(m.histogram.sampleCount)}${ts}`;
  }
  return `${name}${plain} ${formatSampleValue(m.value ?? 0)}${ts}`;
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

const LEGACY_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** model.IsValidLegacyMetricName: a name the text format writes without quotes. */
export function isLegacyName(name: string): boolean {
  return LEGACY_NAME.test(name);
}

/** A metric or label name as the text format writes it: as is if classic, else quoted (expfmt's writeName). */
export function textName(name: string): string {
  return isLegacyName(name) ? name : '"' + escapeLabelValue(name) + '"';
}

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
      s += quotedSample(name + '_bucket', extra('le', formatSampleValue(b.upperBound)), formatSampleValue(b.cumulativeCount), ts);
    }
    if (!infSeen) s += quotedSample(name + '_bucket', extra('le', '+Inf'), formatSampleValue(m.histogram.sampleCount), ts);
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
  return (cp >= 97 && cp <= 122) || (cp >= 65 && cp <= 90) || cp === 95 || cp === 58 || (!first && cp >= 48 && cp <= 57);
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
          ? isLegacyName(lp.value) ? lp : { name: lp.name, value: escapeName(lp.value, scheme) }
          : isLegacyName(lp.name) ? lp : { name: escapeName(lp.name, scheme), value: lp.value };
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

const ESCAPINGS: ReadonlySet<string> = new Set(['allow-utf-8', 'underscores', 'dots', 'values']);

/**
 * The name escaping a scrape gets, as expfmt.Negotiate (prometheus/common 0.6x) picks it: the
 * Accept clauses in goautoneg's order up to the one whose format is served (delimited protobuf,
 * text 0.0.4 or text without version, and with `openMetrics` OpenMetrics 0.0.1, 1.0.0 or without
 * version); the last valid `escaping` parameter among them wins, also one of a clause passed over
 * (Prometheus 3 asks `text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,
 * text/plain;version=0.0.4;q=0.3` and gets 0.0.4 with allow-utf-8); `underscores` without one.
 * The clauses are parsed and ordered as negotiate.ts does (goautoneg.ParseAccept).
 */
export function negotiateNameEscaping(accept: string | undefined, openMetrics = false): NameEscaping {
  let escaping: NameEscaping = 'underscores';
  for (const ac of acceptClauses(accept ?? '')) {
    const e = ac.params.get('escaping');
    if (e !== undefined && ESCAPINGS.has(e)) escaping = e as NameEscaping;
    const version = ac.params.get('version') ?? '';
    const media = ac.type + '/' + ac.subType;
    if (media === 'application/vnd.google.protobuf' && ac.params.get('proto') === 'io.prometheus.client.MetricFamily' && ac.params.get('encoding') === 'delimited') break;
    if (media === 'text/plain' && (version === '0.0.4' || version === '')) break;
    if (openMetrics && media === 'application/openmetrics-text' && (version === '1.0.0' || version === '0.0.1' || version === '')) break;
  }
  return escaping;
}

interface AcceptClause {
  type: string;
  subType: string;
  q: number;
  params: Map<string, string>;
}

/** goautoneg.ParseAccept: case-sensitive, values not unquoted, ordered by q with Go's insertion sort. */
function acceptClauses(header: string): AcceptClause[] {
  const trim = (s: string) => s.replace(/^ +| +$/g, '');
  const out: AcceptClause[] = [];
  for (const rawPart of header.split(',')) {
    const mrp = trim(rawPart).split(';');
    const sp = mrp[0].split('/');
    const type = trim(sp[0]);
    let subType: string;
    if (sp.length === 1 && type === '*') subType = '*';
    else if (sp.length === 2) subType = trim(sp[1]);
    else continue;
    const clause: AcceptClause = { type, subType, q: 1, params: new Map() };
    for (let k = 1; k < mrp.length; k++) {
      const eq = mrp[k].indexOf('=');
      if (eq < 0) continue;
      const token = trim(mrp[k].slice(0, eq));
      if (token === 'q') {
        const q = Number(mrp[k].slice(eq + 1));
        clause.q = Number.isNaN(q) ? 0 : q;
      } else clause.params.set(token, trim(mrp[k].slice(eq + 1)));
    }
    out.push(clause);
  }
  const less = (a: AcceptClause, b: AcceptClause) =>
    a.q > b.q || (a.type !== '*' && b.type === '*') || (a.subType !== '*' && b.subType === '*');
  for (let i = 1; i < out.length; i++) {
    for (let j = i; j > 0 && less(out[j], out[j - 1]); j--) [out[j], out[j - 1]] = [out[j - 1], out[j]];
  }
  return out;
}
