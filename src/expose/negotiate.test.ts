// Table-driven tests of scrape negotiation. Every row of `cases` was checked against Go: the
// middle column is expfmt.Negotiate of prometheus/common 0.39 (the reference's), the last is
// expfmt.NegotiateIncludingOpenMetrics of prometheus/common 0.66 (minus the "; escaping=..."
// suffix that versions since 0.60 append to the format), both with goautoneg as those versions
// ship it, run on the same headers by a small Go program.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  OPENMETRICS_0_0_1_CONTENT_TYPE,
  OPENMETRICS_CONTENT_TYPE,
  PROTOBUF_CONTENT_TYPE,
  TEXT_CONTENT_TYPE,
} from '../lib/contenttype.js';
import { negotiate } from './negotiate.js';

const TEXT = TEXT_CONTENT_TYPE;
const PROTOBUF = PROTOBUF_CONTENT_TYPE;
const OM_1_0_0 = OPENMETRICS_CONTENT_TYPE;
const OM_0_0_1 = OPENMETRICS_0_0_1_CONTENT_TYPE;

const formatOf = (contentType: string) =>
  contentType === TEXT
    ? 'text'
    : contentType === PROTOBUF
      ? 'protobuf'
      : contentType.startsWith('application/openmetrics-text')
        ? 'openmetrics'
        : contentType;

/** [Accept, what expfmt.Negotiate answers, what expfmt.NegotiateIncludingOpenMetrics answers]. */
const cases: Array<[string, string, string]> = [
  ['', TEXT, TEXT],
  ['text/plain', TEXT, TEXT],
  ['text/plain;version=0.0.4', TEXT, TEXT],
  ['text/plain; version=0.0.4', TEXT, TEXT],
  ['text/plain;version=1.0.0', TEXT, TEXT],
  ['*/*', TEXT, TEXT],
  ['application/json', TEXT, TEXT],
  [
    'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
    TEXT,
    OM_1_0_0,
  ],
  [
    'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
    PROTOBUF,
    PROTOBUF,
  ],
  [
    'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
    TEXT,
    OM_1_0_0,
  ],
  [
    'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
    PROTOBUF,
    PROTOBUF,
  ],
  ['application/openmetrics-text', TEXT, OM_0_0_1],
  ['application/openmetrics-text; version=1.0.0; charset=utf-8', TEXT, OM_1_0_0],
  ['application/openmetrics-text;version=2.0.0', TEXT, TEXT],
  ['application/openmetrics-text;version=0.0.1', TEXT, OM_0_0_1],
  ['Application/OpenMetrics-Text;version=1.0.0', TEXT, TEXT],
  ['application/openmetrics-text;version="1.0.0"', TEXT, TEXT],
  ['text/plain;q=0.5,application/openmetrics-text;q=0.9', TEXT, OM_0_0_1],
  ['application/openmetrics-text;q=0,text/plain;q=0.1', TEXT, TEXT],
  ['application/openmetrics-text;q=0', TEXT, OM_0_0_1],
  ['*/*,application/openmetrics-text;q=0.1', TEXT, OM_0_0_1],
  ['application/*,application/openmetrics-text;q=0.5', TEXT, OM_0_0_1],
  ['text/plain;q=abc,application/openmetrics-text;q=0.5', TEXT, OM_0_0_1],
  ['text/plain;q= 0.9,application/openmetrics-text;q=0.5', TEXT, OM_0_0_1],
  [
    'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0',
    PROTOBUF,
    OM_1_0_0,
  ],
  ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited', PROTOBUF, PROTOBUF],
  ['application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited', PROTOBUF, PROTOBUF],
  [
    'text/plain;version=0.0.4;q=0.5,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5',
    TEXT,
    TEXT,
  ],
  ['text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8', TEXT, TEXT],
  ['text', TEXT, TEXT],
  ['*', TEXT, TEXT],
  ['text/plain;q=0.5,application/openmetrics-text;q=1e39', TEXT, OM_0_0_1],
  ['application/openmetrics-text;version=1.0.0;q=0.2,application/openmetrics-text;version=0.0.1;q=0.3', TEXT, OM_0_0_1],
  [' application/openmetrics-text ; version=1.0.0 ', TEXT, OM_1_0_0],
  ['application/openmetrics-text;version=1.0.0,', TEXT, OM_1_0_0],
  ['text/plain;q=0.3,application/openmetrics-text;q=NaN', TEXT, TEXT],
  ['application/openmetrics-text;q=-1,text/plain;q=0', TEXT, TEXT],
  ['*/*;q=0.9,text/*;q=0.8,application/openmetrics-text;q=0.1', TEXT, OM_0_0_1],
  ['application/openmetrics-text;q=0.50000001,text/plain;q=0.5', TEXT, OM_0_0_1],
  ['application/openmetrics-text;q=0.5,text/plain;q=0.50000001', TEXT, OM_0_0_1],
  ['a/b,c/d,e/f,g/h,i/j,k/l,m/n,o/p,q/r,s/t,u/v,*/*;q=0.3,application/openmetrics-text;q=0.2', TEXT, OM_0_0_1],
];

for (const [accept, reference, withOpenMetrics] of cases) {
  test(`negotiate ${JSON.stringify(accept)}`, () => {
    const { format, contentType } = negotiate(accept);
    assert.deepEqual({ format, contentType }, { format: formatOf(reference), contentType: reference });
    const om = negotiate(accept, true);
    assert.deepEqual(
      { format: om.format, contentType: om.contentType },
      { format: formatOf(withOpenMetrics), contentType: withOpenMetrics },
    );
  });
}

test('no Accept header at all is text', () => {
  assert.deepEqual(negotiate(undefined), { format: 'text', contentType: TEXT, escaping: 'underscores' });
  assert.deepEqual(negotiate(undefined, true), { format: 'text', contentType: TEXT, escaping: 'underscores' });
});

test('protobuf encodings other than delimited are passed over (the reference would answer them)', () => {
  // expfmt answers "encoding=text" and "encoding=compact-text" in the protobuf text formats,
  // which the gateway does not serve: it tries the next clause instead.
  const accept =
    'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text,application/openmetrics-text;q=0.5';
  assert.equal(negotiate(accept).format, 'text');
  assert.equal(negotiate(accept, true).contentType, OM_0_0_1);
  assert.equal(
    negotiate('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=compact-text').format,
    'text',
  );
});

/** What Prometheus 3 sends by default (scrape_protocols without protobuf, UTF-8 names allowed). */
const PROMETHEUS_3_ACCEPT =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,' +
  'text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';
const PROTOBUF_ACCEPT = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';

// [Accept, OpenMetrics on, the escaping expfmt.NegotiateAccept (prometheus/common 0.6x) appends].
const escapings: Array<[string | undefined, boolean, string]> = [
  [undefined, false, 'underscores'],
  ['', false, 'underscores'],
  ['text/plain', false, 'underscores'],
  ['text/plain;version=0.0.4;escaping=allow-utf-8', false, 'allow-utf-8'],
  [PROMETHEUS_3_ACCEPT, false, 'allow-utf-8'],
  [PROMETHEUS_3_ACCEPT, true, 'allow-utf-8'],
  ['text/plain;version=0.0.4;escaping=bogus', false, 'underscores'],
  ['text/plain;version=0.0.4;escaping=dots', false, 'dots'],
  // A clause after the served one does not count; one passed over before it does.
  ['text/plain;version=0.0.4,text/plain;escaping=allow-utf-8', false, 'underscores'],
  ['text/plain;version=1.0.0;escaping=values;q=0.9,text/plain;version=0.0.4;q=0.5', false, 'values'],
  [`${PROTOBUF_ACCEPT};escaping=allow-utf-8`, false, 'allow-utf-8'],
  ['application/openmetrics-text;escaping=dots,text/plain;escaping=values;q=0.5', false, 'values'],
  ['application/openmetrics-text;escaping=dots,text/plain;escaping=values;q=0.5', true, 'dots'],
  // q=" 0.9" is a syntax error for ParseFloat: that clause reads q=0 and sorts last, so text is
  // served, with its own escaping.
  [
    'application/openmetrics-text;version=1.0.0;escaping=dots;q= 0.9, text/plain;version=0.0.4;escaping=values;q=0.5',
    true,
    'values',
  ],
];

for (const [accept, openMetrics, escaping] of escapings) {
  test(`escaping for ${JSON.stringify(accept)}${openMetrics ? ' with OpenMetrics' : ''}`, () => {
    assert.equal(negotiate(accept, openMetrics).escaping, escaping);
  });
}

test('the escaping comes from the clause that is served', () => {
  const accept =
    'application/openmetrics-text;version=1.0.0;escaping=dots;q= 0.9, text/plain;version=0.0.4;escaping=values;q=0.5';
  assert.deepEqual(negotiate(accept, true), { format: 'text', contentType: TEXT, escaping: 'values' });
});

test("Prometheus' default Accept header gets text 0.0.4, and OpenMetrics 1.0.0 only when enabled", () => {
  const accept =
    'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
  assert.deepEqual(negotiate(accept), { format: 'text', contentType: TEXT, escaping: 'underscores' });
  assert.deepEqual(negotiate(accept, true), { format: 'openmetrics', contentType: OM_1_0_0, escaping: 'underscores' });
});
