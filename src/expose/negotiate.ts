// Scrape format negotiation, as client_golang's expfmt does it from the Accept header (parsed by
// lib/accept.ts exactly as goautoneg parses it).
//
// By default this is the reference's expfmt.Negotiate (prometheus/common 0.39, as in
// Pushgateway 1.5.1): text 0.0.4 or delimited protobuf, never OpenMetrics. With openMetrics
// (--web.enable-openmetrics) it is expfmt.NegotiateIncludingOpenMetrics as of prometheus/common
// 0.44 to 0.66 (what promhttp uses with EnableOpenMetrics): it also answers OpenMetrics for
// `application/openmetrics-text` with version 0.0.1, 1.0.0 or none.
//
// expfmt takes the first clause that names a format it serves; the protobuf encodings "text" and
// "compact-text", which the reference would serve, are not served here, and such a clause is
// passed over.
//
// The name escaping (only used with --push.enable-utf8-names, as in Pushgateway 1.11) comes from
// the same walk over the same clauses: the last valid `escaping` parameter among the clauses up
// to the served one, passed-over ones included (Prometheus 3 asks `text/plain;version=1.0.0;
// escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3` and gets 0.0.4 with allow-utf-8);
// `underscores` without one.

import { parseAccept } from '../lib/accept.js';
import {
  OPENMETRICS_0_0_1_CONTENT_TYPE,
  OPENMETRICS_CONTENT_TYPE,
  OPENMETRICS_MEDIA_TYPE,
  PROTOBUF_CONTENT_TYPE,
  PROTOBUF_MEDIA_TYPE,
  PROTOBUF_MESSAGE,
  TEXT_CONTENT_TYPE,
} from '../lib/contenttype.js';
import type { NameEscaping } from './text.js';

export type ScrapeFormat = 'text' | 'protobuf' | 'openmetrics';

/** A negotiated scrape: its format, the Content-Type to answer with, and how to escape UTF-8 names. */
export interface Negotiated {
  format: ScrapeFormat;
  contentType: string;
  escaping: NameEscaping;
}

const ESCAPINGS: ReadonlySet<string> = new Set(['allow-utf-8', 'underscores', 'dots', 'values']);

/**
 * expfmt.Negotiate, or with openMetrics expfmt.NegotiateIncludingOpenMetrics: OpenMetrics also
 * for a clause `application/openmetrics-text` with version 1.0.0 (answered as 1.0.0), 0.0.1 or
 * none (both answered as 0.0.1, as expfmt does; the body is the same). Text 0.0.4 when nothing
 * matches.
 */
export function negotiate(accept: string | undefined, openMetrics = false): Negotiated {
  let escaping: NameEscaping = 'underscores';
  const answer = (format: ScrapeFormat, contentType: string): Negotiated => ({ format, contentType, escaping });
  for (const ac of parseAccept(accept ?? '')) {
    const e = ac.params.get('escaping');
    if (e !== undefined && ESCAPINGS.has(e)) escaping = e as NameEscaping;
    const version = ac.params.get('version') ?? '';
    const media = ac.type + '/' + ac.subType;
    if (media === PROTOBUF_MEDIA_TYPE && ac.params.get('proto') === PROTOBUF_MESSAGE) {
      if (ac.params.get('encoding') === 'delimited') return answer('protobuf', PROTOBUF_CONTENT_TYPE);
    }
    if (media === 'text/plain' && (version === '0.0.4' || version === '')) return answer('text', TEXT_CONTENT_TYPE);
    if (openMetrics && media === OPENMETRICS_MEDIA_TYPE) {
      if (version === '1.0.0') return answer('openmetrics', OPENMETRICS_CONTENT_TYPE);
      if (version === '0.0.1' || version === '') return answer('openmetrics', OPENMETRICS_0_0_1_CONTENT_TYPE);
    }
  }
  return answer('text', TEXT_CONTENT_TYPE);
}
