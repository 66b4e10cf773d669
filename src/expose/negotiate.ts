// Scrape format negotiation, as client_golang's expfmt does it from the Accept header.
//
// negotiate() is the reference's expfmt.Negotiate (prometheus/common 0.39, as in Pushgateway
// 1.5.1): text 0.0.4 or delimited protobuf, never OpenMetrics. negotiateIncludingOpenMetrics()
// is expfmt.NegotiateIncludingOpenMetrics as of prometheus/common 0.44 to 0.66 (what promhttp
// uses with EnableOpenMetrics): it also answers OpenMetrics for
// `application/openmetrics-text` with version 0.0.1, 1.0.0 or none.
//
// The Accept header is parsed exactly as goautoneg.ParseAccept parses it, quirks included:
//  - media types and parameter names are case-sensitive, and parameter values are not unquoted;
//  - q is parsed as a float32 by strconv.ParseFloat and a malformed q reads 0, but a clause with
//    q=0 is not dropped: it only sorts last;
//  - a clause without "/" is skipped, except "*" (read as */*);
//  - clauses are ordered by goautoneg's Less (higher q first, and a concrete type or subtype
//    before a wildcard whatever the q) with the insertion sort that Go's sort.Sort applies to up
//    to 12 elements. Longer headers are ordered by the same insertion sort, where Go 1.19's
//    pdqsort may order equal-q clauses differently.
// expfmt then takes the first clause that names a format it serves; the protobuf encodings
// "text" and "compact-text", which the reference would serve, are not served here, and such a
// clause is passed over.

import { parseGoFloat } from '../parse/text.js';
import { OPENMETRICS_CONTENT_TYPE } from './openmetrics.js';

export type ScrapeFormat = 'text' | 'protobuf' | 'openmetrics';

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const PROTOBUF_CONTENT_TYPE =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
export { OPENMETRICS_CONTENT_TYPE };
/** What expfmt answers to a request for OpenMetrics 0.0.1 or for OpenMetrics without a version. */
export const OPENMETRICS_0_0_1_CONTENT_TYPE = 'application/openmetrics-text; version=0.0.1; charset=utf-8';

/** A negotiated scrape format and the Content-Type to answer with. */
export interface Negotiated {
  format: ScrapeFormat;
  contentType: string;
}

/** One clause of an Accept header, as goautoneg.Accept. */
export interface AcceptClause {
  type: string;
  subType: string;
  q: number;
  params: Map<string, string>;
}

/** Go's strings.Trim(s, " "). */
function trimSpaces(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) === 32) a++;
  while (b > a && s.charCodeAt(b - 1) === 32) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** strconv.ParseFloat(s, 32) as goautoneg uses it: the value even on a range error, 0 on a syntax error. */
function parseQ(s: string): number {
  const v = parseGoFloat(s);
  if (v !== undefined) return Math.fround(v);
  if (DECIMAL.test(s)) return Number(s) < 0 ? -Infinity : Infinity; // Out of range: ±Inf.
  return 0;
}

/** goautoneg's Less: not a strict order, which is why the sort algorithm matters. */
function less(a: AcceptClause, b: AcceptClause): boolean {
  if (a.q > b.q) return true;
  if (a.type !== '*' && b.type === '*') return true;
  if (a.subType !== '*' && b.subType === '*') return true;
  return false;
}

/** goautoneg.ParseAccept: the clauses of an Accept header, in the order they are tried. */
export function parseAccept(header: string): AcceptClause[] {
  const out: AcceptClause[] = [];
  for (const rawPart of header.split(',')) {
    const part = trimSpaces(rawPart);
    const mrp = part.split(';');
    const sp = mrp[0].split('/');
    const type = trimSpaces(sp[0]);
    let subType: string;
    if (sp.length === 1 && type === '*') subType = '*';
    else if (sp.length === 2) subType = trimSpaces(sp[1]);
    else continue;
    const clause: AcceptClause = { type, subType, q: 1, params: new Map() };
    for (let k = 1; k < mrp.length; k++) {
      const param = mrp[k];
      const eq = param.indexOf('=');
      if (eq < 0) continue;
      const token = trimSpaces(param.slice(0, eq));
      if (token === 'q') clause.q = parseQ(param.slice(eq + 1));
      else clause.params.set(token, trimSpaces(param.slice(eq + 1)));
    }
    out.push(clause);
  }
  // Go's insertionSort(data, 0, n), which sort.Sort uses for n <= 12.
  for (let i = 1; i < out.length; i++) {
    for (let j = i; j > 0 && less(out[j], out[j - 1]); j--) {
      const t = out[j];
      out[j] = out[j - 1];
      out[j - 1] = t;
    }
  }
  return out;
}

const TEXT: Negotiated = { format: 'text', contentType: TEXT_CONTENT_TYPE };
const PROTOBUF: Negotiated = { format: 'protobuf', contentType: PROTOBUF_CONTENT_TYPE };
const OPENMETRICS_1_0_0: Negotiated = { format: 'openmetrics', contentType: OPENMETRICS_CONTENT_TYPE };
const OPENMETRICS_0_0_1: Negotiated = { format: 'openmetrics', contentType: OPENMETRICS_0_0_1_CONTENT_TYPE };

function choose(accept: string | undefined, openMetrics: boolean): Negotiated {
  for (const ac of parseAccept(accept ?? '')) {
    const version = ac.params.get('version') ?? '';
    if (ac.type + '/' + ac.subType === 'application/vnd.google.protobuf' && ac.params.get('proto') === 'io.prometheus.client.MetricFamily') {
      if (ac.params.get('encoding') === 'delimited') return PROTOBUF;
    }
    if (ac.type === 'text' && ac.subType === 'plain' && (version === '0.0.4' || version === '')) return TEXT;
    if (openMetrics && ac.type + '/' + ac.subType === 'application/openmetrics-text') {
      if (version === '1.0.0') return OPENMETRICS_1_0_0;
      if (version === '0.0.1' || version === '') return OPENMETRICS_0_0_1;
    }
  }
  return TEXT;
}

/** The reference's negotiation (expfmt.Negotiate): 'text' or 'protobuf', never 'openmetrics'. */
export function negotiate(accept: string | undefined): ScrapeFormat {
  return choose(accept, false).format;
}

/**
 * expfmt.NegotiateIncludingOpenMetrics: like negotiate(), and OpenMetrics for a clause
 * `application/openmetrics-text` with version 1.0.0 (answered as 1.0.0), 0.0.1 or none (both
 * answered as 0.0.1, as expfmt does; the body is the same). Text 0.0.4 when nothing matches.
 */
export function negotiateIncludingOpenMetrics(accept: string | undefined): Negotiated {
  return choose(accept, true);
}
