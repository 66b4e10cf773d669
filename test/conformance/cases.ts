// The conformance cases as data: request sequences run from a wiped state against the reference
// (Go Pushgateway 1.5.1) and against ours. The reference's answers are recorded in golden/<name>.json
// by record.ts; conformance.test.ts checks that both gateways still answer exactly that.
//
// A step is one HTTP request sent with node's http.request, the path going on the wire exactly as
// written (no re-encoding; non-ASCII characters are sent as their raw UTF-8 bytes). By default the
// status, the headers that matter and the (normalized) body of every step are recorded, and at the
// end of the case a snapshot of /metrics and /api/v1/metrics.
import { gzipSync } from 'node:zlib';
import { TIME_MASK, type Alternatives } from './normalize.js';

export type BodyAs =
  /** Plain text, normalized as an error message (see normalizeErrorText). The default. */
  | 'text'
  /** A /metrics scrape: self metrics dropped, push times masked, recorded as lines. */
  | 'metrics'
  /** /api/v1/metrics JSON, normalized. */
  | 'api-metrics'
  /** /api/v1/status JSON: shape and flag names only. */
  | 'api-status'
  /** Not recorded (HTML pages, protobuf scrapes): only status and headers are compared. */
  | 'none';

export interface Step {
  method: string;
  /** Raw request target, sent as written. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Shown in the golden file instead of a hex dump of a binary body. */
  bodyNote?: string;
  bodyAs?: BodyAs;
  /** Also record /metrics and /api/v1/metrics right after this step. */
  snapshot?: boolean;
}

export interface Case {
  name: string;
  description: string;
  /** Server flags; default DEFAULT_FLAGS. Cases with equal flags share one server, wiped between cases. */
  flags?: string[];
  /** Needs a server of its own (it leaves the reference in a state a wipe does not undo). */
  isolated?: boolean;
  /** The --web.route-prefix in effect, used for the readiness probe, wiping and snapshots. */
  routePrefix?: string;
  /** Path of the scrape snapshot; default `${routePrefix}/metrics`. */
  scrapePath?: string;
  /** Record the final snapshot (default true). */
  finalSnapshot?: boolean;
  /** The case ends the server: record whether its process exits within a few seconds. */
  checksExit?: boolean;
  /** See Alternatives in normalize.ts; every use says why. */
  alternatives?: Alternatives;
  steps: Step[];
}

export const DEFAULT_FLAGS = ['--web.enable-admin-api'];
const UNCHECKED = ['--web.enable-admin-api', '--push.disable-consistency-check'];
const PREFIX = ['--web.enable-admin-api', '--web.route-prefix=/pfx'];
const TELEMETRY = ['--web.enable-admin-api', '--web.telemetry-path=/m'];

// ---------------------------------------------------------------------------------------------
// Step helpers
// ---------------------------------------------------------------------------------------------

function req(method: string, path: string, body?: string | Uint8Array, headers?: Record<string, string>): Step {
  const s: Step = { method, path };
  if (body !== undefined) s.body = body;
  if (headers) s.headers = headers;
  return s;
}
const put = (path: string, body?: string, headers?: Record<string, string>) => req('PUT', path, body ?? '', headers);
const post = (path: string, body?: string, headers?: Record<string, string>) => req('POST', path, body ?? '', headers);
const del = (path: string) => req('DELETE', path);
const get = (path: string, bodyAs: BodyAs = 'text', headers?: Record<string, string>): Step => ({
  ...req('GET', path, undefined, headers),
  bodyAs,
});
const snap = (s: Step): Step => ({ ...s, snapshot: true });

const M1 = 'm 1\n';

/**
 * The reference's text for a collected metric in consistency errors (Go protobuf compact text),
 * e.g. cm('m', [['instance', ''], ['job', 'a']], 'counter', '1') gives
 * `collected metric "m" { label:<name:"instance" value:"" > label:<name:"job" value:"a" > counter:<value:1 > }`.
 */
function cm(name: string, labels: [string, string][], type: string, value: string): string {
  const ls = labels.map(([n, v]) => `label:<name:"${n}" value:"${v}" > `).join('');
  return `collected metric "${name}" { ${ls}${type}:<value:${value} > }`;
}
const IJ = (job: string): [string, string][] => [
  ['instance', ''],
  ['job', job],
];

// ---------------------------------------------------------------------------------------------
// Protobuf (delimited io.prometheus.client.MetricFamily), hand-encoded so that no dependency is needed
// ---------------------------------------------------------------------------------------------

export const PROTOBUF_CONTENT_TYPE =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

enum PbType {
  COUNTER = 0,
  GAUGE = 1,
  SUMMARY = 2,
  UNTYPED = 3,
  HISTOGRAM = 4,
}

interface PbMetric {
  labels?: [string, string][];
  gauge?: number;
  counter?: number;
  untyped?: number;
  summary?: { count: number; sum: number; quantiles: [number, number][] };
  histogram?: { count: number; sum: number; buckets: [number, number][] };
  timestampMs?: number;
}

interface PbFamily {
  name?: string;
  help?: string;
  type?: PbType;
  metrics: PbMetric[];
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const key = (field: number, wire: number) => varint((field << 3) | wire);
const lenField = (field: number, bytes: number[]) => [...key(field, 2), ...varint(bytes.length), ...bytes];
const strField = (field: number, s: string) => lenField(field, [...Buffer.from(s, 'utf8')]);
const uintField = (field: number, n: number) => [...key(field, 0), ...varint(n)];
function doubleField(field: number, v: number): number[] {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return [...key(field, 1), ...b];
}

function pbMetric(m: PbMetric): number[] {
  const out: number[] = [];
  for (const [n, v] of m.labels ?? []) out.push(...lenField(1, [...strField(1, n), ...strField(2, v)]));
  if (m.gauge !== undefined) out.push(...lenField(2, doubleField(1, m.gauge)));
  if (m.counter !== undefined) out.push(...lenField(3, doubleField(1, m.counter)));
  if (m.summary) {
    const s = [...uintField(1, m.summary.count), ...doubleField(2, m.summary.sum)];
    for (const [q, v] of m.summary.quantiles) s.push(...lenField(3, [...doubleField(1, q), ...doubleField(2, v)]));
    out.push(...lenField(4, s));
  }
  if (m.untyped !== undefined) out.push(...lenField(5, doubleField(1, m.untyped)));
  if (m.timestampMs !== undefined) out.push(...key(6, 0), ...varint(m.timestampMs));
  if (m.histogram) {
    const h = [...uintField(1, m.histogram.count), ...doubleField(2, m.histogram.sum)];
    for (const [ub, c] of m.histogram.buckets) h.push(...lenField(3, [...uintField(1, c), ...doubleField(2, ub)]));
    out.push(...lenField(7, h));
  }
  return out;
}

function pbFamily(f: PbFamily): number[] {
  const out: number[] = [];
  if (f.name !== undefined) out.push(...strField(1, f.name));
  if (f.help !== undefined) out.push(...strField(2, f.help));
  if (f.type !== undefined) out.push(...uintField(3, f.type));
  for (const m of f.metrics) out.push(...lenField(4, pbMetric(m)));
  return out;
}

/** Length-delimited MetricFamily messages, as Go clients push them. */
export function pbDelimited(...families: PbFamily[]): Uint8Array {
  const out: number[] = [];
  for (const f of families) {
    const b = pbFamily(f);
    out.push(...varint(b.length), ...b);
  }
  return Uint8Array.from(out);
}

const pbHeaders = { 'Content-Type': PROTOBUF_CONTENT_TYPE };
function pbPut(path: string, note: string, ...families: PbFamily[]): Step {
  return { ...req('PUT', path, pbDelimited(...families), pbHeaders), bodyNote: note };
}

function gz(text: string): Uint8Array {
  return Uint8Array.from(gzipSync(Buffer.from(text, 'utf8')));
}

/** base64url without padding, as in the reference's documentation. */
function b64(s: string, pad = false): string {
  const e = Buffer.from(s, 'utf8').toString('base64url');
  return pad ? e + '='.repeat((4 - (e.length % 4)) % 4) : e;
}

// ---------------------------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------------------------

export const cases: Case[] = [
  // ===== Grouping key in the path ============================================================
  {
    name: 'put-simple',
    description: 'PUT one untyped sample to job=a; instance="" is added, push times appear.',
    steps: [put('/metrics/job/a', M1)],
  },
  {
    name: 'put-multiple-labels',
    description: 'Grouping labels beyond job end up on every series and on the push time series.',
    steps: [put('/metrics/job/a/l1/v1/l2/v2/instance/i', M1)],
  },
  {
    name: 'grouping-key-label-order',
    description:
      'The grouping key does not depend on the order of labels in the path: the second PUT replaces the first.',
    steps: [put('/metrics/job/a/z/1/b/2', 'm 1\nold 1\n'), put('/metrics/job/a/b/2/z/1', 'm 2\n')],
  },
  {
    name: 'grouping-key-subset-is-another-group',
    description: 'job=a and job=a/x=1 are distinct groups; PUT to one does not touch the other.',
    steps: [put('/metrics/job/a/x/1', 'm 1\n'), put('/metrics/job/a', 'm 2\n'), put('/metrics/job/a', 'n 3\n')],
  },
  {
    name: 'job-base64',
    description: 'job@base64 decodes the job name (here "a/b", which could not be in a plain segment).',
    steps: [put(`/metrics/job@base64/${b64('a/b')}`, M1)],
  },
  {
    name: 'job-base64-padding-equivalent',
    description: 'Padded and unpadded base64url name the same group: the second PUT replaces the first.',
    steps: [
      put(`/metrics/job@base64/${b64('ab', true)}`, 'old 1\n'),
      put(`/metrics/job@base64/${b64('ab')}`, 'new 1\n'),
    ],
  },
  {
    name: 'job-base64-empty',
    description: 'job@base64 with "=" decodes to an empty job name.',
    steps: [put('/metrics/job@base64/=', M1)],
  },
  {
    name: 'job-base64-invalid',
    description:
      "Invalid base64 in the job name: 400. Isolated: the reference then never unlocks that route's mutex " +
      '(push.go returns before mtx.Unlock()), so every later request to the same method+route hangs forever. ' +
      'Ours must not copy the hang; the case only checks the 400.',
    isolated: true,
    steps: [put('/metrics/job@base64/!!', M1), del('/metrics/job@base64/a!b/x/y')],
  },
  {
    name: 'label-base64',
    description: 'label@base64 allows "/" in a value.',
    steps: [put(`/metrics/job/a/path@base64/${b64('/var/tmp')}`, M1)],
  },
  {
    name: 'label-base64-padded-and-unpadded',
    description: 'A value with and without "=" padding decodes the same: one group.',
    steps: [
      put(`/metrics/job/a/x@base64/${b64('ab', true)}`, 'old 1\n'),
      put(`/metrics/job/a/x@base64/${b64('ab')}`, 'new 1\n'),
    ],
  },
  {
    name: 'label-base64-equals-is-empty',
    description: '"=" alone is the base64 of the empty value.',
    steps: [put('/metrics/job/a/x@base64/=', M1)],
  },
  {
    name: 'label-base64-empty-segment',
    description: 'An empty segment after label@base64 is also the empty value.',
    steps: [put('/metrics/job/a/x@base64/', M1)],
  },
  {
    name: 'label-empty-value-plain',
    description: 'A plain empty value (trailing slash after the label name) gives x="" in the grouping key.',
    steps: [put('/metrics/job/a/x/', M1)],
  },
  {
    name: 'label-base64-invalid-length',
    description: 'A single base64 character cannot be decoded.',
    steps: [put('/metrics/job/a/x@base64/Y', M1)],
  },
  {
    name: 'label-base64-standard-alphabet',
    description: '"+" is not in the URL-safe alphabet.',
    steps: [put('/metrics/job/a/x@base64/a+b', M1)],
  },
  {
    name: 'label-base64-padding-in-the-middle',
    description: 'Only trailing "=" are ignored.',
    steps: [put('/metrics/job/a/x@base64/YQ==YQ', M1)],
  },
  {
    name: 'label-base64-invalid-utf8-poisons-store',
    description:
      'A base64 value that is not UTF-8 fails the consistency check; the failed push still creates the group ' +
      '(with push_failure_time_seconds carrying the invalid value), after which every scrape fails with 500 and ' +
      'every checked push to any group fails, until the group is deleted.',
    steps: [
      put(`/metrics/job/a/x@base64/${Buffer.from([0xff, 0xfe]).toString('base64url')}`, M1),
      snap(get('/metrics', 'metrics')),
      put('/metrics/job/other', M1),
      snap(del(`/metrics/job/a/x@base64/${Buffer.from([0xff, 0xfe]).toString('base64url')}`)),
      put('/metrics/job/other', M1),
    ],
  },
  {
    name: 'label-name-starts-with-digit',
    description: 'Invalid label name in the path.',
    steps: [put('/metrics/job/a/1bad/x', M1)],
  },
  {
    name: 'label-name-reserved',
    description: 'Label names starting with __ are reserved.',
    steps: [put('/metrics/job/a/__reserved/x', M1)],
  },
  {
    name: 'label-name-invalid-with-base64-suffix',
    description: 'The @base64 suffix is stripped before the name is checked; the message shows the stripped name.',
    steps: [put('/metrics/job/a/1bad@base64/eA', M1)],
  },
  {
    name: 'label-name-with-dash',
    description: 'A dash is not allowed in a label name.',
    steps: [put('/metrics/job/a/my-label/x', M1)],
  },
  {
    name: 'label-name-percent-encoded',
    description: 'A percent-encoded label name is decoded before validation (%78 = "x").',
    steps: [put('/metrics/job/a/%78/y', M1)],
  },
  {
    name: 'label-name-unicode-non-printable',
    description:
      'Label names holding U+00A0, U+200B and U+2028 (not printable for Go) are refused; %q shows them as \\u escapes.',
    steps: [
      put('/metrics/job/a/a%C2%A0b/x', M1),
      put('/metrics/job/a/a%E2%80%8Bb/x', M1),
      put('/metrics/job/a/x%E2%80%A8/y%EF%BB%BF', M1),
      put('/metrics/job/a/ok/v/%E2%80%8B', M1),
    ],
  },
  {
    name: 'odd-number-of-components',
    description: 'A label name without value.',
    steps: [put('/metrics/job/a/b', M1)],
  },
  {
    name: 'odd-number-of-components-three',
    description: 'Three components after the job.',
    steps: [put('/metrics/job/a/b/c/d', M1)],
  },
  {
    name: 'repeated-label',
    description: 'The same label twice in the path: the last value wins.',
    steps: [put('/metrics/job/a/b/1/b/2', M1)],
  },
  {
    name: 'repeated-job-label',
    description: 'A "job" label in the label part is overridden by the job segment.',
    steps: [put('/metrics/job/a/job/c', M1)],
  },
  {
    name: 'job-label-only-via-labels-part',
    description: 'job given again as base64 label in the label part.',
    steps: [put(`/metrics/job/a/job@base64/${b64('zzz')}`, M1)],
  },
  {
    name: 'empty-job-trailing-slash',
    description: '/metrics/job/ (empty job): the router redirects (307 for PUT) to /metrics/job, which has no route.',
    steps: [put('/metrics/job/', M1), put('/metrics/job', M1), del('/metrics/job/')],
  },
  {
    name: 'empty-job-double-slash',
    description: "/metrics/job//x/y: Go's ServeMux cleans the path and redirects with 301.",
    steps: [put('/metrics/job//x/y', M1), post('/metrics/job//x/y', M1), del('/metrics/job//x/y')],
  },
  {
    name: 'trailing-slash-after-job',
    description: 'A trailing slash after the job is accepted (empty label part).',
    steps: [put('/metrics/job/a/', M1)],
  },
  {
    name: 'trailing-slash-after-labels',
    description: 'A trailing slash after a label pair makes an odd number of components.',
    steps: [put('/metrics/job/a/b/c/', M1)],
  },
  {
    name: 'dot-segments',
    description: 'Paths with . and .. segments are cleaned and redirected (301) before routing.',
    steps: [put('/metrics/job/x/../y', M1), put('/metrics/job/./a', M1), get('/metrics/../metrics')],
  },
  {
    name: 'wrong-methods-on-push-path',
    description: 'GET, PATCH, HEAD and OPTIONS on a push path.',
    steps: [
      get('/metrics/job/a'),
      req('PATCH', '/metrics/job/a', M1),
      req('HEAD', '/metrics/job/a/x/y'),
      req('OPTIONS', '/metrics/job/a'),
      req('OPTIONS', '/metrics/job/a/x/y'),
      put('/metrics', M1),
    ],
  },
  {
    name: 'percent-2f-in-job',
    description: '%2F in the job segment is decoded before routing, so it splits the path.',
    steps: [put('/metrics/job/a%2Fb', M1), put('/metrics/job/a%2Fb/c', M1)],
  },
  {
    name: 'percent-2f-in-label-value',
    description: '%2F in a label value splits it too.',
    steps: [put('/metrics/job/a/x/a%2Fb', M1)],
  },
  {
    name: 'plus-and-spaces-in-path',
    description: '"+" stays a plus in a path; %20 is a space.',
    steps: [put('/metrics/job/a+b/x/c%20d/y/e+f%20g', M1)],
  },
  {
    name: 'unicode-percent-encoded',
    description: 'Percent-encoded UTF-8 in job and label values.',
    steps: [put('/metrics/job/%C3%A4/x/%E2%82%AC%F0%9F%98%80', M1)],
  },
  {
    name: 'unicode-raw-utf8',
    description: 'Raw (unencoded) UTF-8 bytes in the request target.',
    steps: [put('/metrics/job/ä/x/€😀', M1)],
  },
  {
    name: 'control-characters-in-label-value',
    description: 'A tab and \\x01 in a grouping label value (JSON escapes them; the text format does not).',
    steps: [put('/metrics/job/a/x/%09t%01', M1)],
  },
  {
    name: 'json-html-escaping',
    description: "<, > and & in values are escaped as \\u003c etc. by Go's JSON encoder.",
    steps: [put('/metrics/job/a/x/%3C%26%3E', 'm{y="<&>"} 1\n')],
  },
  {
    name: 'malformed-percent-encoding',
    description: 'An invalid %-escape in the request target is rejected by the HTTP server itself.',
    steps: [put('/metrics/job/a%ZZ', M1)],
  },

  // ===== DELETE ==============================================================================
  {
    name: 'delete-group',
    description: 'DELETE answers 202 and removes exactly the named group.',
    steps: [put('/metrics/job/a', M1), put('/metrics/job/b', M1), snap(del('/metrics/job/a'))],
  },
  {
    name: 'delete-nonexisting-group',
    description: 'DELETE of a group that does not exist: 202 as well.',
    steps: [del('/metrics/job/none')],
  },
  {
    name: 'delete-exact-grouping-key',
    description: 'DELETE job=a removes neither job=a/x=1 nor others.',
    steps: [put('/metrics/job/a/x/1', M1), put('/metrics/job/a', M1), del('/metrics/job/a')],
  },
  {
    name: 'delete-with-labels-and-base64',
    description: 'DELETE with base64 job and labels.',
    steps: [
      put(`/metrics/job@base64/${b64('a/b')}/x@base64/${b64('c/d')}`, M1),
      put('/metrics/job/keep', M1),
      del(`/metrics/job@base64/${b64('a/b')}/x@base64/${b64('c/d')}`),
    ],
  },
  {
    name: 'delete-invalid-paths',
    description: 'DELETE validates the path like a push does.',
    steps: [
      del('/metrics/job/a/1x/y'),
      del('/metrics/job/a/b'),
      del('/metrics/job/a/x@base64/Y'),
      del('/metrics/job@base64/='),
    ],
  },
  {
    name: 'delete-with-body',
    description: 'A DELETE body is ignored.',
    steps: [put('/metrics/job/a', M1), req('DELETE', '/metrics/job/a', 'garbage {{{\n')],
  },
  {
    name: 'delete-then-push-again',
    description: 'After DELETE, a push recreates the group with push_failure_time_seconds 0.',
    steps: [put('/metrics/job/a', 'm 1 1\n'), del('/metrics/job/a'), put('/metrics/job/a', M1)],
  },

  // ===== PUT / POST semantics =================================================================
  {
    name: 'put-replaces-group',
    description: 'PUT replaces all families of the group.',
    steps: [put('/metrics/job/a', 'a 1\nb 2\n'), put('/metrics/job/a', 'c 3\n')],
  },
  {
    name: 'post-replaces-only-named-families',
    description: 'POST replaces the families in the body and keeps the others.',
    steps: [put('/metrics/job/a', 'a 1\nb 2\n'), post('/metrics/job/a', 'b 3\nc 4\n')],
  },
  {
    name: 'post-replaces-whole-family',
    description: 'POST of a family replaces all its series in the group, not only those with the same labels.',
    steps: [put('/metrics/job/a', 'a{x="1"} 1\na{x="2"} 2\n'), post('/metrics/job/a', 'a{x="3"} 3\n')],
  },
  {
    name: 'post-changes-type-within-group',
    description: 'POST can change the type of a family in its own group (the old family is replaced).',
    steps: [put('/metrics/job/a', '# TYPE m counter\nm 1\n'), post('/metrics/job/a', '# TYPE m gauge\nm 2\n')],
  },
  {
    name: 'post-new-group',
    description: 'POST to a new group creates it.',
    steps: [post('/metrics/job/a/x/y', M1)],
  },
  {
    name: 'put-empty-body',
    description: 'PUT with an empty body empties the group but keeps it (push times only).',
    steps: [put('/metrics/job/a', 'a 1\n'), put('/metrics/job/a', '')],
  },
  {
    name: 'post-empty-body',
    description: 'POST with an empty body keeps the families and updates push_time_seconds.',
    steps: [put('/metrics/job/a', 'a 1\n'), post('/metrics/job/a', '')],
  },
  {
    name: 'put-empty-body-new-group',
    description: 'An empty PUT to a new group creates a group with push times only.',
    steps: [put('/metrics/job/a', '')],
  },
  {
    name: 'put-comments-only',
    description: 'A body of comments and HELP/TYPE lines without samples: the families are dropped by the parser.',
    steps: [put('/metrics/job/a', '# HELP m help\n# TYPE m gauge\n# just a comment\n')],
  },
  {
    name: 'grouping-labels-override-body',
    description: 'Grouping labels (including job) override same-named labels in the body.',
    steps: [put('/metrics/job/a/x/path', 'm{x="body",job="other",y="keep"} 1\n')],
  },
  {
    name: 'instance-in-body',
    description: 'instance given in the body is kept when the path has none; other series get instance="".',
    steps: [put('/metrics/job/a', 'm{instance="i1"} 1\nm{instance="i2"} 2\nn 3\n')],
  },
  {
    name: 'instance-in-path-overrides-body',
    description: "instance in the path overrides the body's.",
    steps: [put('/metrics/job/a/instance/p', 'm{instance="b"} 1\n')],
  },
  {
    name: 'instance-empty-in-path-duplicates',
    description:
      'job=a and job=a/instance="" are different groups but expose identical series: the second push is a duplicate.',
    // Why alternatives: the two groups expose the same push-time series with different values;
    // which one is reported as "collected before" depends on the Go map order of the groups.
    alternatives: [
      [
        `${cm('push_failure_time_seconds', IJ('a'), 'gauge', '<0 or time>')} was collected before`,
        `${cm('push_failure_time_seconds', IJ('a'), 'gauge', '0')} was collected before`,
        `${cm('push_failure_time_seconds', IJ('a'), 'gauge', TIME_MASK)} was collected before`,
      ],
      [
        `${cm('push_time_seconds', IJ('a'), 'gauge', '<0 or time>')} was collected before`,
        `${cm('push_time_seconds', IJ('a'), 'gauge', '0')} was collected before`,
        `${cm('push_time_seconds', IJ('a'), 'gauge', TIME_MASK)} was collected before`,
      ],
    ],
    steps: [
      put('/metrics/job/a', M1),
      put('/metrics/job/a/instance/', M1),
      put('/metrics/job/a/instance/', 'other 1\n'),
    ],
  },
  {
    name: 'user-pushes-push-time-seconds',
    description: "A pushed push_time_seconds family is silently replaced by the gateway's own.",
    steps: [put('/metrics/job/a', '# TYPE push_time_seconds counter\npush_time_seconds 5\nm 1\n')],
  },
  {
    name: 'user-pushes-push-failure-time-seconds',
    description:
      "A pushed push_failure_time_seconds replaces the gateway's when the group already has one (not on the first push).",
    // Why alternatives: the untyped family of group a and the gauge of group b are merged in Go
    // map order; either one is then reported as not matching the other's type.
    alternatives: [
      [
        `${cm('push_failure_time_seconds', IJ('b'), 'gauge', '<0 or time>')} is not a UNTYPED`,
        `${cm('push_failure_time_seconds', IJ('b'), 'gauge', '0')} is not a UNTYPED`,
        `${cm('push_failure_time_seconds', IJ('b'), 'gauge', TIME_MASK)} is not a UNTYPED`,
        `${cm('push_failure_time_seconds', IJ('a'), 'untyped', '42')} is not a GAUGE`,
      ],
    ],
    steps: [
      put('/metrics/job/a', 'push_failure_time_seconds 42\n'),
      snap(put('/metrics/job/a', 'push_failure_time_seconds 42\n')),
      put('/metrics/job/b', M1),
    ],
  },

  // ===== Timestamps ===========================================================================
  {
    name: 'timestamp-rejected-new-group',
    description: 'Pushed timestamps are rejected; the failed push creates the group with push_time_seconds 0.',
    steps: [put('/metrics/job/a', 'm 1 1234\n')],
  },
  {
    name: 'timestamp-rejected-existing-group',
    description: "A rejected push leaves the group's metrics alone and sets push_failure_time_seconds.",
    steps: [put('/metrics/job/a', 'm 1\n'), post('/metrics/job/a', 'n 2 1234\n')],
  },
  {
    name: 'failed-then-successful-push',
    description: 'After a failure, a successful push keeps the failure time; last_push_successful becomes true again.',
    steps: [put('/metrics/job/a', 'm 1\n'), snap(put('/metrics/job/a', 'm 2 1\n')), put('/metrics/job/a', 'm 3\n')],
  },

  // ===== Content-Type and encodings ==========================================================
  {
    name: 'content-type-text-004',
    description: 'Content-Type: text/plain; version=0.0.4.',
    steps: [put('/metrics/job/a', M1, { 'Content-Type': 'text/plain; version=0.0.4' })],
  },
  {
    name: 'content-type-other-falls-back-to-text',
    description: 'Unknown and malformed Content-Types fall back to the text parser.',
    steps: [
      put('/metrics/job/a', M1, { 'Content-Type': 'application/json' }),
      post('/metrics/job/a', 'n 2\n', { 'Content-Type': ';;; garbage' }),
      post('/metrics/job/a', 'o 3\n', { 'Content-Type': 'application/vnd.google.protobuf' }),
    ],
  },
  {
    name: 'content-type-protobuf-with-text-body',
    description: 'The protobuf Content-Type with a text body: a protobuf decoding error.',
    steps: [put('/metrics/job/a', M1, pbHeaders)],
  },
  {
    name: 'gzip-request-body',
    description: 'Content-Encoding: gzip bodies are decompressed.',
    steps: [
      { ...req('PUT', '/metrics/job/a', gz('m 1\n'), { 'Content-Encoding': 'gzip' }), bodyNote: 'gzip of "m 1\\n"' },
    ],
  },
  {
    name: 'gzip-request-body-invalid',
    description: 'A body that is not gzip with Content-Encoding: gzip.',
    steps: [
      put('/metrics/job/a', 'not gzip at all, long enough\n', { 'Content-Encoding': 'gzip' }),
      put('/metrics/job/a', 'short\n', { 'Content-Encoding': 'gzip' }),
    ],
  },
  {
    name: 'protobuf-gauge-and-counter',
    description: 'A protobuf push of a gauge with HELP and a counter without.',
    steps: [
      pbPut(
        '/metrics/job/a',
        'gauge g (help "A gauge.", labels x="1") = 1.5; counter c_total (no help) = 3',
        { name: 'g', help: 'A gauge.', type: PbType.GAUGE, metrics: [{ labels: [['x', '1']], gauge: 1.5 }] },
        { name: 'c_total', type: PbType.COUNTER, metrics: [{ counter: 3 }] },
      ),
    ],
  },
  {
    name: 'protobuf-histogram-and-summary',
    description: 'Protobuf histogram (without +Inf bucket) and summary.',
    steps: [
      pbPut(
        '/metrics/job/a',
        'histogram h (buckets 0.5:1, 1:2; count 3 sum 2.5), summary s (0.5:1, 0.9:2; count 4 sum 10)',
        {
          name: 'h',
          help: 'H.',
          type: PbType.HISTOGRAM,
          metrics: [
            {
              histogram: {
                count: 3,
                sum: 2.5,
                buckets: [
                  [0.5, 1],
                  [1, 2],
                ],
              },
            },
          ],
        },
        {
          name: 's',
          help: 'S.',
          type: PbType.SUMMARY,
          metrics: [
            {
              summary: {
                count: 4,
                sum: 10,
                quantiles: [
                  [0.5, 1],
                  [0.9, 2],
                ],
              },
            },
          ],
        },
      ),
    ],
  },
  {
    name: 'protobuf-timestamp-rejected',
    description: 'A protobuf metric with timestamp_ms is rejected.',
    steps: [
      pbPut('/metrics/job/a', 'gauge g = 1 with timestamp_ms 1000', {
        name: 'g',
        type: PbType.GAUGE,
        metrics: [{ gauge: 1, timestampMs: 1000 }],
      }),
    ],
  },
  {
    name: 'protobuf-truncated',
    description: 'A truncated delimited message.',
    steps: [
      {
        ...req(
          'PUT',
          '/metrics/job/a',
          pbDelimited({ name: 'g', type: PbType.GAUGE, metrics: [{ gauge: 1 }] }).slice(0, 8),
          pbHeaders,
        ),
        bodyNote: 'first 8 bytes of a delimited gauge family',
      },
    ],
  },
  {
    name: 'protobuf-same-family-twice',
    description: 'Two messages for the same family name: the last one wins.',
    steps: [
      pbPut(
        '/metrics/job/a',
        'gauge g = 1, then gauge g = 2',
        { name: 'g', type: PbType.GAUGE, metrics: [{ gauge: 1 }] },
        { name: 'g', type: PbType.GAUGE, metrics: [{ gauge: 2 }] },
      ),
    ],
  },
  {
    name: 'protobuf-invalid-metric-name',
    description: 'The protobuf path does not validate names while parsing; the consistency check does.',
    steps: [
      pbPut('/metrics/job/a', 'gauge "bad-name" = 1', {
        name: 'bad-name',
        type: PbType.GAUGE,
        metrics: [{ gauge: 1 }],
      }),
    ],
  },
  {
    name: 'protobuf-type-without-value',
    description: 'A gauge family whose metric carries a counter value instead.',
    steps: [
      pbPut('/metrics/job/a', 'family g of type GAUGE with a counter metric', {
        name: 'g',
        type: PbType.GAUGE,
        metrics: [{ counter: 1 }],
      }),
    ],
  },
  {
    name: 'protobuf-empty-body',
    description: 'An empty protobuf body is an empty push.',
    steps: [{ ...req('PUT', '/metrics/job/a', new Uint8Array(0), pbHeaders), bodyNote: 'empty' }],
  },

  // ===== Text format: parse errors and oddities ==============================================
  {
    name: 'parse-no-trailing-newline',
    description: 'A body without trailing newline is a parse error.',
    steps: [put('/metrics/job/a', 'm 1')],
  },
  {
    name: 'parse-errors-labels',
    description: 'Broken label sets.',
    steps: [
      put('/metrics/job/a', 'm{a="b" 1\n'),
      put('/metrics/job/a', 'm{1a="b"} 1\n'),
      put('/metrics/job/a', 'm{a="\\q"} 1\n'),
      put('/metrics/job/a', 'm{a="b",a="c"} 1\n'),
      put('/metrics/job/a', 'm{__name__="x"} 1\n'),
      put('/metrics/job/a', 'm{a=b} 1\n'),
    ],
  },
  {
    name: 'parse-errors-values',
    description: 'Broken values and timestamps.',
    steps: [
      put('/metrics/job/a', 'm abc\n'),
      put('/metrics/job/a', 'm 0x10\n'),
      put('/metrics/job/a', 'm 1_000\n'),
      put('/metrics/job/a', 'm 1e309\n'),
      put('/metrics/job/a', 'm 1 2 3\n'),
      put('/metrics/job/a', 'm 1 abc\n'),
      put('/metrics/job/a', 'm\n'),
      put('/metrics/job/a', 'm 1\r\n'),
    ],
  },
  {
    name: 'parse-errors-type-and-help',
    description: 'Broken TYPE and HELP lines.',
    steps: [
      put('/metrics/job/a', '# TYPE m foo\nm 1\n'),
      put('/metrics/job/a', 'm 1\n# TYPE m gauge\n'),
      put('/metrics/job/a', '# TYPE m gauge\n# TYPE m gauge\nm 1\n'),
      put('/metrics/job/a', '# HELP m one\n# HELP m two\nm 1\n'),
      put('/metrics/job/a', '# HELP m a \\"quoted\\" help\nm 1\n'),
      put('/metrics/job/a', '# TYPE m\nm 1\n'),
      put('/metrics/job/a', '1m 1\n'),
    ],
  },
  {
    name: 'parse-error-line-number',
    description: 'The line number in a parse error counts all lines.',
    steps: [put('/metrics/job/a', '# HELP m fine\n\nm 1\nn 2\nbroken{\n')],
  },
  {
    name: 'parse-error-in-post-leaves-group',
    description: 'A parse error does not touch the group (not even push_failure_time_seconds).',
    steps: [put('/metrics/job/a', M1), post('/metrics/job/a', 'n{ 2\n')],
  },
  {
    name: 'parse-accepted-oddities',
    description:
      'Blank lines, plain comments, {} , a trailing comma, a tab separator and HELP without text are accepted.',
    steps: [put('/metrics/job/a', '  \n\n# a comment\n# HELP h\nh 1\ne{} 2\nt{a="b",} 3\ntab\t4\n')],
  },
  {
    name: 'same-family-interleaved',
    description: 'Samples of one family separated by another family; the duplicate series fails the check.',
    steps: [put('/metrics/job/a', 'm 1\nn 2\nm 3\n'), put('/metrics/job/a', 'm{x="1"} 1\nn 2\nm{x="2"} 3\n')],
  },
  {
    name: 'parse-errors-histogram-and-summary',
    description: 'Broken quantile and le labels, unknown type names.',
    steps: [
      put('/metrics/job/a', '# TYPE s summary\ns{quantile="x"} 1\n'),
      put('/metrics/job/a', '# TYPE h histogram\nh_bucket{le="x"} 1\n'),
      put('/metrics/job/a', '# TYPE h histogram\nh_bucket 1\n'),
      put('/metrics/job/a', '# TYPE s summary\ns 1\n'),
      put('/metrics/job/a', '# TYPE m gaugehistogram\nm 1\n'),
      put('/metrics/job/a', '# TYPE m GAUGE\nm 1\n'),
    ],
  },
  {
    name: 'parse-help-after-samples-and-unicode-names',
    description: 'HELP after the samples of its family; non-ASCII metric and label names.',
    steps: [
      put('/metrics/job/a', 'm 1\n# HELP m late help\n'),
      put('/metrics/job/b', 'mä 1\n'),
      put('/metrics/job/c', 'm{ä="x"} 1\n'),
    ],
  },
  {
    name: 'parse-whitespace-variants',
    description: 'Extra spaces around label pairs and values, a trailing space, a leading space.',
    steps: [
      put('/metrics/job/a', 'm{ a = "b" } 1\n'),
      put('/metrics/job/b', 'm  2\n'),
      put('/metrics/job/c', 'm 3 \n'),
      put('/metrics/job/d', ' m 4\n'),
      put('/metrics/job/e', 'm{a="b"}5\n'),
    ],
  },
  {
    name: 'invalid-utf8-in-body',
    description: 'Invalid UTF-8 in a label value of the body, and in a HELP text.',
    steps: [
      {
        ...req('PUT', '/metrics/job/a', Uint8Array.from([...Buffer.from('m{x="'), 0xff, ...Buffer.from('"} 1\n')])),
        bodyNote: 'm{x="\\xff"} 1\\n',
      },
      {
        ...req(
          'PUT',
          '/metrics/job/b',
          Uint8Array.from([...Buffer.from('# HELP h bad '), 0xff, ...Buffer.from('\nh 1\n')]),
        ),
        bodyNote: '# HELP h bad \\xff\\nh 1\\n',
      },
      snap(get('/metrics', 'metrics')),
    ],
  },
  {
    name: 'metric-name-colons',
    description: 'Colons are allowed in metric names (recording-rule style).',
    steps: [put('/metrics/job/a', 'job:requests:rate5m 1\n:leading 2\n')],
  },
  {
    name: 'label-empty-value-in-body',
    description: 'A label with an empty value in the body is kept as x="".',
    steps: [put('/metrics/job/a', 'm{x=""} 1\nm{x="y"} 2\n')],
  },
  {
    name: 'counter-negative-and-odd-values',
    description: 'Counters with negative, NaN and infinite values are not rejected.',
    steps: [put('/metrics/job/a', '# TYPE c counter\nc{v="neg"} -1\nc{v="nan"} NaN\nc{v="inf"} +Inf\n')],
  },
  {
    name: 'histogram-unsorted-buckets',
    description: 'Buckets pushed out of order, and with decreasing counts.',
    steps: [
      put(
        '/metrics/job/a',
        '# TYPE h histogram\nh_bucket{le="+Inf"} 3\nh_bucket{le="1"} 5\nh_bucket{le="0.5"} 1\nh_sum 2\nh_count 3\n',
      ),
    ],
  },
  {
    name: 'summary-quantiles-unsorted-and-nan',
    description: 'Quantiles pushed out of order, with a NaN value.',
    steps: [
      put('/metrics/job/a', '# TYPE s summary\ns{quantile="0.9"} NaN\ns{quantile="0.1"} 1\ns_sum 2\ns_count 3\n'),
    ],
  },
  {
    name: 'label-name-reserved-in-body',
    description: 'A label starting with __ in the body passes the parser but fails the consistency check.',
    steps: [put('/metrics/job/a', 'm{__x="x"} 1\n')],
  },

  // ===== Exposition: types, HELP, values, escaping, order ====================================
  {
    name: 'help-and-type',
    description: 'HELP with escapes (\\\\ and \\n, quotes kept), TYPE gauge and counter.',
    steps: [
      put(
        '/metrics/job/a',
        '# HELP g A gauge: back\\\\slash, new\\nline, "quotes", ä <&>.\n# TYPE g gauge\ng 1\n# HELP c_total A counter.\n# TYPE c_total counter\nc_total 2\n',
      ),
    ],
  },
  {
    name: 'counter-type-for-other-name',
    description: 'A TYPE line for c with samples named c_total: c has no samples and disappears, c_total is untyped.',
    steps: [put('/metrics/job/a', '# TYPE c counter\nc_total 3\n')],
  },
  {
    name: 'histogram',
    description: 'A histogram with labels.',
    steps: [
      put(
        '/metrics/job/a',
        '# HELP h A histogram.\n# TYPE h histogram\nh_bucket{x="1",le="0.1"} 1\nh_bucket{x="1",le="1"} 2\nh_bucket{x="1",le="+Inf"} 3\nh_sum{x="1"} 1.5\nh_count{x="1"} 3\n',
      ),
    ],
  },
  {
    name: 'histogram-without-inf-bucket',
    description: 'A histogram without +Inf bucket: the exposition adds one with the count.',
    steps: [put('/metrics/job/a', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_sum 1.5\nh_count 3\n')],
  },
  {
    name: 'histogram-count-only',
    description: 'A histogram with only _count and _sum.',
    steps: [put('/metrics/job/a', '# TYPE h histogram\nh_count 3\nh_sum 4\n')],
  },
  {
    name: 'summary',
    description: 'A summary with quantiles.',
    steps: [
      put(
        '/metrics/job/a',
        '# HELP s A summary.\n# TYPE s summary\ns{quantile="0.5"} 1\ns{quantile="0.99"} 2\ns_sum 10\ns_count 5\n',
      ),
    ],
  },
  {
    name: 'summary-without-quantiles',
    description: 'A summary with only _sum and _count.',
    steps: [put('/metrics/job/a', '# TYPE s summary\ns_sum 10\ns_count 5\n')],
  },
  {
    name: 'histogram-grouping-label-le',
    description: 'A grouping label le overrides the bucket bounds, making duplicates.',
    steps: [
      put('/metrics/job/a/le/5', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'),
    ],
  },
  {
    name: 'special-values',
    description: 'NaN, +Inf, -Inf and their accepted spellings.',
    steps: [
      put(
        '/metrics/job/a',
        'v{s="NaN"} NaN\nv{s="+Inf"} +Inf\nv{s="-Inf"} -Inf\nv{s="inf"} inf\nv{s="nan"} nan\nv{s="Infinity"} Infinity\nv{s="+inf"} +inf\n',
      ),
    ],
  },
  {
    name: 'float-formatting',
    description:
      "How values are written back (text uses Go's strconv 'g' shortest; -0 prints as 0 in text, -0 in JSON).",
    steps: [
      put(
        '/metrics/job/a',
        [
          'f{v="a"} 1e6',
          'f{v="b"} 1e-5',
          'f{v="c"} 0.1',
          'f{v="d"} 123456789',
          'f{v="e"} 1e21',
          'f{v="f"} -0',
          'f{v="g"} 5e-324',
          'f{v="h"} 1.7976931348623157e308',
          'f{v="i"} 1e20',
          'f{v="j"} 0.000001',
          'f{v="k"} 100000',
          'f{v="l"} 1.5',
          'f{v="m"} -2',
          'f{v="n"} .5',
          'f{v="o"} 5.',
          'f{v="p"} 1e+3',
          'f{v="q"} 12345678901234567890',
          'f{v="r"} +1',
          'f{v="s"} 0.1e-6',
          'f{v="t"} 1E6',
          'f{v="u"} 0.30000000000000004',
          'f{v="w"} 1234567.125',
          'f{v="x"} 2.5e-7',
          'f{v="y"} 0',
          'f{v="z"} 9007199254740993',
          '',
        ].join('\n'),
      ),
    ],
  },
  {
    name: 'label-value-escapes-and-unicode',
    description: 'Label values with \\\\, \\", \\n and non-ASCII characters.',
    steps: [put('/metrics/job/a', 'e{a="back\\\\slash",b="quo\\"te",c="new\\nline",d="ä€😀",z="<&>"} 1\n')],
  },
  {
    name: 'sort-order-across-groups',
    description:
      'Families are sorted by name; series by number of labels, then label values position by position (names ignored).',
    steps: [
      put('/metrics/job/b', 'zeta 1\nalpha 1\nm{z="1"} 1\n'),
      put('/metrics/job/a', 'm{a="2"} 1\nm 1\nM 1\n_u 1\n'),
      put('/metrics/job/a/instance/x', 'm{b="0"} 1\n'),
      put('/metrics/job/c/x/y', 'm 1\nm{q="a"} 1\n'),
    ],
  },
  {
    name: 'many-series-order-in-body',
    description: 'Series order inside one family: JSON keeps push order, /metrics sorts.',
    steps: [put('/metrics/job/a', 'm{k="c"} 3\nm{k="a"} 1\nm{k="b"} 2\nm{k="10"} 10\nm{k="9"} 9\n')],
  },

  // ===== Consistency checks ==================================================================
  {
    name: 'type-clash-across-groups',
    description: 'The same metric name with another type in another group: 400, group unchanged, failure time set.',
    // Why alternatives: the reference merges the groups' families in Go map order, so either
    // group's family can come first and the other one is reported as "not a <first type>".
    alternatives: [
      [`${cm('m', IJ('b'), 'gauge', '2')} is not a COUNTER`, `${cm('m', IJ('a'), 'counter', '1')} is not a GAUGE`],
    ],
    steps: [
      put('/metrics/job/a', '# TYPE m counter\nm 1\n'),
      put('/metrics/job/b', 'n 1\n'),
      put('/metrics/job/b', '# TYPE m gauge\nm 2\n'),
    ],
  },
  {
    name: 'type-clash-untyped-vs-gauge',
    description: 'A family without TYPE (untyped) against a gauge in another group.',
    // Why alternatives: as in type-clash-across-groups (Go map order decides which type wins).
    alternatives: [
      [`${cm('m', IJ('b'), 'untyped', '2')} is not a GAUGE`, `${cm('m', IJ('a'), 'gauge', '1')} is not a UNTYPED`],
    ],
    steps: [put('/metrics/job/a', '# TYPE m gauge\nm 1\n'), put('/metrics/job/b', 'm 2\n')],
  },
  {
    name: 'failed-push-to-new-group',
    description: 'A push failing the check creates the new group with push_time_seconds 0 and no metrics.',
    // Why alternatives: as in type-clash-across-groups.
    alternatives: [
      [`${cm('m', IJ('new'), 'gauge', '2')} is not a COUNTER`, `${cm('m', IJ('a'), 'counter', '1')} is not a GAUGE`],
    ],
    steps: [put('/metrics/job/a', '# TYPE m counter\nm 1\n'), put('/metrics/job/new', '# TYPE m gauge\nm 2\n')],
  },
  {
    name: 'duplicate-series-in-body',
    description: 'The same series twice in one body.',
    steps: [put('/metrics/job/a', 'm{x="1"} 1\nm{x="1"} 2\n')],
  },
  {
    name: 'duplicate-series-across-groups',
    description: 'job=a with m{instance="x"} vs job=a/instance=x with m: the second push duplicates a series.',
    steps: [put('/metrics/job/a', 'm{instance="x"} 1\n'), put('/metrics/job/a/instance/x', 'm 1\n')],
  },
  {
    name: 'duplicate-series-via-grouping-override',
    description: 'Two series that only differ in a label the grouping key overrides become duplicates.',
    steps: [put('/metrics/job/a/x/g', 'm{x="1"} 1\nm{x="2"} 1\n')],
  },
  {
    name: 'self-metric-clash-gauge-for-counter-family',
    description:
      'pushgateway_http_requests_total pushed as gauge: rejected for its missing HELP (its help is not among the ' +
      'predefined ones, which are gathered at start when that counter vector has no children yet).',
    steps: [put('/metrics/job/a', '# TYPE pushgateway_http_requests_total gauge\npushgateway_http_requests_total 1\n')],
  },
  {
    name: 'self-metric-same-type-and-help',
    description: 'pushgateway_http_requests_total pushed as counter with the right HELP is accepted and merged.',
    steps: [
      put(
        '/metrics/job/a',
        '# HELP pushgateway_http_requests_total Total HTTP requests processed by the Pushgateway, excluding scrapes.\n# TYPE pushgateway_http_requests_total counter\npushgateway_http_requests_total 1\n',
      ),
    ],
  },
  {
    name: 'self-metric-counter-other-help',
    description: 'pushgateway_http_requests_total as counter with another HELP: rejected.',
    steps: [
      put(
        '/metrics/job/a',
        '# HELP pushgateway_http_requests_total Other.\n# TYPE pushgateway_http_requests_total counter\npushgateway_http_requests_total 1\n',
      ),
    ],
  },
  {
    name: 'self-metric-other-help-non-printable',
    description:
      'A HELP with U+00A0 and U+200B for a gateway metric: the error quotes them as Go does (\\u00a0, \\u200b).',
    steps: [
      put(
        '/metrics/job/a',
        '# HELP pushgateway_http_requests_total Other\u00a0help\u200b.\n# TYPE pushgateway_http_requests_total counter\n' +
          'pushgateway_http_requests_total 1\n',
      ),
    ],
  },
  {
    name: 'process-metric-other-help',
    description: "process_cpu_seconds_total with another HELP is accepted; the scrape shows the gateway's HELP.",
    steps: [
      put(
        '/metrics/job/a',
        '# HELP process_cpu_seconds_total other help\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1\n',
      ),
    ],
  },
  {
    name: 'process-metric-other-type',
    description: 'process_cpu_seconds_total as gauge: rejected.',
    steps: [put('/metrics/job/a', '# TYPE process_cpu_seconds_total gauge\nprocess_cpu_seconds_total 1\n')],
  },
  {
    name: 'go-metric-untyped',
    description: 'go_goroutines without TYPE (untyped): rejected (type mismatch).',
    steps: [put('/metrics/job/a', 'go_goroutines 1\n')],
  },
  {
    name: 'go-metric-gauge-other-help',
    description: "go_goroutines as gauge with another HELP: accepted, HELP replaced by the gateway's.",
    steps: [put('/metrics/job/a', '# HELP go_goroutines mine\n# TYPE go_goroutines gauge\ngo_goroutines 7\n')],
  },
  {
    name: 'help-differs-across-groups',
    description: 'Two groups push m with different HELP: both accepted; each group keeps its own HELP in the JSON.',
    // Why alternatives: the scrape merges the groups' families in Go map order and takes the HELP
    // of whichever comes first, so the reference shows either HELP at random.
    alternatives: [['# HELP m help a', '# HELP m help b']],
    steps: [put('/metrics/job/a', '# HELP m help a\nm 1\n'), put('/metrics/job/b', '# HELP m help b\nm 2\n')],
  },
  {
    name: 'help-missing-vs-present-same-group-replaced',
    description: 'A POST can change the HELP of a family in its own group.',
    steps: [put('/metrics/job/a', '# HELP m old\nm 1\n'), post('/metrics/job/a', 'm 2\n')],
  },

  // ===== --push.disable-consistency-check ====================================================
  {
    name: 'unchecked-push-accepted-202',
    description: 'Without consistency check, pushes answer 202 instead of 200.',
    flags: UNCHECKED,
    steps: [put('/metrics/job/a', M1), post('/metrics/job/a', 'n 2\n'), del('/metrics/job/none')],
  },
  {
    name: 'unchecked-type-clash',
    description: 'A type clash is accepted (202); the scrape then fails with 500.',
    flags: UNCHECKED,
    // Why alternatives: as in type-clash-across-groups (Go map order decides which type wins).
    alternatives: [
      [`${cm('m', IJ('b'), 'gauge', '2')} is not a COUNTER`, `${cm('m', IJ('a'), 'counter', '1')} is not a GAUGE`],
    ],
    steps: [put('/metrics/job/a', '# TYPE m counter\nm 1\n'), put('/metrics/job/b', '# TYPE m gauge\nm 2\n')],
  },
  {
    name: 'unchecked-duplicate-series',
    description: 'A duplicate series in the body is accepted (202); the scrape fails with 500.',
    flags: UNCHECKED,
    steps: [put('/metrics/job/a', 'm{x="1"} 1\nm{x="1"} 1\n')],
  },
  {
    name: 'unchecked-timestamp-still-rejected',
    description: 'With the check disabled, a pushed timestamp is still rejected, but silently: 202, failure time set.',
    flags: UNCHECKED,
    steps: [put('/metrics/job/a', M1), put('/metrics/job/a', 'm 2 1234\n')],
  },
  {
    name: 'unchecked-parse-error-still-400',
    description: 'Parse errors and path errors are still answered with 400.',
    flags: UNCHECKED,
    steps: [put('/metrics/job/a', 'm 1'), put('/metrics/job/a/b', M1)],
  },

  // ===== /metrics scrape =====================================================================
  {
    name: 'scrape-empty',
    description: 'A scrape of the empty gateway (only self metrics, dropped by normalization).',
    steps: [get('/metrics', 'metrics')],
  },
  {
    name: 'scrape-accept-headers',
    description: 'OpenMetrics is not negotiated (text 0.0.4 is answered); protobuf is.',
    steps: [
      put('/metrics/job/a', M1),
      get('/metrics', 'metrics', { Accept: 'application/openmetrics-text; version=1.0.0; charset=utf-8' }),
      get('/metrics', 'metrics', { Accept: 'text/plain' }),
      get('/metrics', 'none', { Accept: PROTOBUF_CONTENT_TYPE.replace(/ /g, '') }),
    ],
  },
  {
    name: 'scrape-accept-prometheus',
    description:
      'Prometheus\' default Accept header, and one whose OpenMetrics clause has q=" 0.9" (a syntax error that reads 0): text 0.0.4.',
    steps: [
      put('/metrics/job/a', M1),
      get('/metrics', 'metrics', {
        Accept:
          'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
          'text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      }),
      get('/metrics', 'metrics', {
        Accept:
          'application/openmetrics-text;version=1.0.0;escaping=dots;q= 0.9, text/plain;version=0.0.4;escaping=values;q=0.5',
      }),
    ],
  },
  {
    name: 'scrape-gzip',
    description: 'Accept-Encoding: gzip gives a gzipped scrape (decompressed by the runner).',
    steps: [put('/metrics/job/a', M1), get('/metrics', 'metrics', { 'Accept-Encoding': 'gzip' })],
  },
  {
    name: 'scrape-wrong-methods',
    description: 'POST and HEAD on /metrics.',
    steps: [req('POST', '/metrics', M1), req('HEAD', '/metrics'), get('/metrics/')],
  },

  // ===== API ==================================================================================
  {
    name: 'api-metrics-empty',
    description: '/api/v1/metrics of the empty gateway.',
    steps: [get('/api/v1/metrics', 'api-metrics')],
  },
  {
    name: 'api-metrics-groups',
    description: '/api/v1/metrics with several groups, types and HELP.',
    steps: [
      put('/metrics/job/a', '# HELP g A gauge.\n# TYPE g gauge\ng{x="1"} 1\n# TYPE c counter\nc 2\n'),
      put('/metrics/job/b/instance/i', '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 2\ns_count 3\n'),
      get('/api/v1/metrics', 'api-metrics'),
    ],
  },
  {
    name: 'api-status',
    description: '/api/v1/status: shape and flag names (values masked).',
    steps: [get('/api/v1/status', 'api-status')],
  },
  {
    name: 'api-wrong-method-and-unknown-paths',
    description: 'Wrong methods and unknown paths under /api/v1.',
    steps: [
      req('POST', '/api/v1/metrics', ''),
      req('DELETE', '/api/v1/status'),
      get('/api/v1/nothing'),
      get('/api/v1/'),
      get('/api/v1'),
      get('/api/v2/metrics'),
    ],
  },
  {
    name: 'api-options-cors',
    description: 'OPTIONS on any /api/v1 path answers 200 with CORS headers.',
    steps: [req('OPTIONS', '/api/v1/metrics'), req('OPTIONS', '/api/v1/whatever/deep')],
  },
  {
    name: 'admin-wipe',
    description: 'PUT /api/v1/admin/wipe answers 202 and removes every group.',
    steps: [
      put('/metrics/job/a', M1),
      put('/metrics/job/b/x/y', M1),
      snap(req('PUT', '/api/v1/admin/wipe')),
      get('/api/v1/admin/wipe'),
      req('POST', '/api/v1/admin/wipe'),
    ],
  },
  {
    name: 'admin-wipe-disabled',
    description: 'Without --web.enable-admin-api the wipe endpoint does not exist.',
    flags: [],
    steps: [put('/metrics/job/a', M1), req('PUT', '/api/v1/admin/wipe'), get('/api/v1/admin/wipe')],
  },

  // ===== Health, readiness, lifecycle ========================================================
  {
    name: 'healthy-and-ready',
    description: '/-/healthy and /-/ready answer OK to GET only.',
    steps: [
      get('/-/healthy'),
      get('/-/ready'),
      req('HEAD', '/-/healthy'),
      req('POST', '/-/ready', ''),
      put('/-/healthy', ''),
    ],
  },
  {
    name: 'quit-without-lifecycle',
    description: '/-/quit without --web.enable-lifecycle.',
    steps: [put('/-/quit', ''), post('/-/quit', ''), get('/-/quit'), del('/-/quit')],
  },
  {
    name: 'quit-with-lifecycle',
    description: 'POST /-/quit with --web.enable-lifecycle answers 200 and the server exits.',
    flags: ['--web.enable-admin-api', '--web.enable-lifecycle'],
    finalSnapshot: false,
    checksExit: true,
    steps: [put('/metrics/job/a', M1), get('/-/quit'), post('/-/quit', '')],
  },
  {
    name: 'quit-with-lifecycle-put',
    description: 'PUT /-/quit with --web.enable-lifecycle.',
    flags: ['--web.enable-admin-api', '--web.enable-lifecycle'],
    isolated: true,
    finalSnapshot: false,
    checksExit: true,
    steps: [put('/-/quit', '')],
  },

  // ===== UI pages (status and headers only) ==================================================
  {
    name: 'ui-pages',
    description: 'The HTML status page exists at / and /status (bodies not compared).',
    steps: [get('/', 'none'), get('/status', 'none'), get('/nonexistent')],
  },

  // ===== --web.route-prefix ==================================================================
  {
    name: 'route-prefix-push-and-scrape',
    description: 'With --web.route-prefix=/pfx, push, scrape and API live under /pfx.',
    flags: PREFIX,
    routePrefix: '/pfx',
    steps: [
      put('/pfx/metrics/job/a', M1),
      get('/pfx/metrics', 'metrics'),
      get('/pfx/api/v1/metrics', 'api-metrics'),
      get('/pfx/-/healthy'),
      get('/pfx/-/ready'),
    ],
  },
  {
    name: 'route-prefix-bare-paths',
    description: 'With a route prefix, the bare paths answer 404 (except GET /-/quit, registered without prefix).',
    flags: PREFIX,
    routePrefix: '/pfx',
    steps: [
      put('/metrics/job/a', M1),
      get('/metrics'),
      get('/api/v1/metrics'),
      get('/-/ready'),
      get('/-/quit'),
      get('/pfx/-/quit'),
      put('/pfx/-/quit', ''),
      get('/pfx'),
      get('/'),
    ],
  },
  {
    name: 'route-prefix-delete-and-wipe',
    description: 'DELETE and wipe under the prefix.',
    flags: PREFIX,
    routePrefix: '/pfx',
    steps: [
      put('/pfx/metrics/job/a', M1),
      put('/pfx/metrics/job/b', M1),
      snap(del('/pfx/metrics/job/a')),
      req('PUT', '/api/v1/admin/wipe'),
      req('PUT', '/pfx/api/v1/admin/wipe'),
    ],
  },

  {
    name: 'route-prefix-normalized',
    description: '--web.route-prefix=pfx/ (no leading, one trailing slash) is normalized to /pfx.',
    flags: ['--web.enable-admin-api', '--web.route-prefix=pfx/'],
    routePrefix: '/pfx',
    steps: [put('/pfx/metrics/job/a', M1), get('/pfx/-/ready'), get('/pfx/metrics/', 'text')],
  },
  {
    name: 'external-url-sets-route-prefix',
    description: 'Without --web.route-prefix, the path of --web.external-url becomes the route prefix.',
    flags: ['--web.enable-admin-api', '--web.external-url=http://gateway.example:9091/ext/'],
    routePrefix: '/ext',
    steps: [put('/ext/metrics/job/a', M1), put('/metrics/job/b', M1), get('/ext/-/healthy'), get('/ext')],
  },

  // ===== --web.telemetry-path ================================================================
  {
    name: 'telemetry-path',
    description: 'With --web.telemetry-path=/m, scrapes are at /m; pushes stay at /metrics/job/...',
    flags: TELEMETRY,
    scrapePath: '/m',
    steps: [put('/metrics/job/a', M1), get('/m', 'metrics'), get('/metrics'), get('/m/')],
  },
];
