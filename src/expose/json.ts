// GET /api/v1/metrics and /api/v1/status bodies, shaped and spelled as the reference's
// (Go's encoding/json: map keys sorted, <, > and & escaped, floats as fmt.Sprint prints them).
import type { Metric, MetricFamily } from '../model.js';
import { familyTypeName } from '../store/describe.js';
import type { ExpiryState, Group } from '../store/types.js';
import { formatGoDuration } from '../lib/duration.js';
import { formatCount, formatGoFloat } from '../lib/gofloat.js';
import { isNativeHistogram, nativeHistogramJson } from './nativehistogram.js';

/**
 * JSON as Go's encoding/json writes it: a Map stands for a Go map (keys sorted as strings, where
 * JavaScript objects would put integer-like keys such as bucket bounds first), a plain object for
 * a Go struct (fields in declaration order); <, >, &, U+2028 and U+2029 are escaped.
 */
export function goJson(value: unknown): string {
  if (Array.isArray(value)) return '[' + value.map(goJson).join(',') + ']';
  if (value instanceof Map) {
    const keys = [...value.keys()].map(String).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return '{' + keys.map((k) => goString(k) + ':' + goJson(value.get(k))).join(',') + '}';
  }
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return (
      '{' +
      Object.keys(obj)
        .map((k) => goString(k) + ':' + goJson(obj[k]))
        .join(',') +
      '}'
    );
  }
  return typeof value === 'string' ? goString(value) : JSON.stringify(value);
}

// Go writes each invalid UTF-8 byte (held here as a lone surrogate) as \ufffd.
function goString(s: string): string {
  return JSON.stringify(s)
    .replace(/\\ud[89a-f][0-9a-f]{2}/g, '\\ufffd')
    .replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** Go's time.Time JSON form (RFC 3339 with up to nanoseconds, trailing zeros trimmed), in UTC. */
export function goTime(ms: number): string {
  const whole = Math.floor(ms);
  // A double holding epoch milliseconds resolves about 0.2 µs: keep microseconds.
  const micros = Math.min(999, Math.round((ms - whole) * 1e3));
  const iso = new Date(whole).toISOString(); // 2026-01-02T03:04:05.678Z
  const frac = (iso.slice(20, 23) + String(micros).padStart(3, '0')).replace(/0+$/, '');
  return iso.slice(0, 19) + (frac === '' ? '' : '.' + frac) + 'Z';
}

/** The reference reads the gauge, else the counter, else the untyped message, whatever the type. */
function plainValue(m: Metric): number {
  if (m.gauge !== undefined) return m.gauge.value ?? 0;
  if (m.counter !== undefined) return m.counter.value ?? 0;
  if (m.untyped !== undefined) return m.untyped.value ?? 0;
  return m.value ?? 0;
}

function encodeMetric(mf: MetricFamily, m: Metric): Map<string, unknown> {
  const labels = new Map(m.labels.map((lp) => [lp.name, lp.value]));
  if (mf.type === 'summary') {
    const s = m.summary;
    return new Map<string, unknown>([
      ['labels', labels],
      ['quantiles', new Map((s?.quantiles ?? []).map((q) => [formatGoFloat(q.quantile), formatGoFloat(q.value)]))],
      ['count', formatCount(s?.sampleCount ?? 0)],
      ['sum', formatGoFloat(s?.sampleSum ?? 0)],
    ]);
  }
  if (mf.type === 'histogram' || mf.type === 'gaugehistogram') {
    const h = m.histogram;
    if (h !== undefined && isNativeHistogram(h)) {
      const native = nativeHistogramJson(h);
      return new Map<string, unknown>([
        ['labels', labels],
        ['buckets', native.buckets],
        ['count', native.count],
        ['sum', formatGoFloat(h.sampleSum)],
      ]);
    }
    // Float counts where they are set, count and buckets alike, as upstream ≥ 1.10 shows them
    // (1.5.1 leaves them out and shows 0: the pushed counts would be lost).
    const count =
      (h?.sampleCountFloat ?? 0) > 0 ? formatGoFloat(h!.sampleCountFloat!) : formatCount(h?.sampleCount ?? 0);
    const bucket = (b: { cumulativeCount: number; cumulativeCountFloat?: number }) =>
      (b.cumulativeCountFloat ?? 0) > 0 ? formatGoFloat(b.cumulativeCountFloat!) : formatCount(b.cumulativeCount);
    return new Map<string, unknown>([
      ['labels', labels],
      ['buckets', new Map((h?.buckets ?? []).map((b) => [formatGoFloat(b.upperBound), bucket(b)]))],
      ['count', count],
      ['sum', formatGoFloat(h?.sampleSum ?? 0)],
    ]);
  }
  return new Map<string, unknown>([
    ['labels', labels],
    ['value', formatGoFloat(plainValue(m))],
  ]);
}

export function groupJson(g: Group, expiry?: ExpiryState): Map<string, unknown> {
  const out = new Map<string, unknown>([
    ['labels', new Map(Object.entries(g.labels))],
    ['last_push_successful', g.lastPushSuccess],
  ]);
  // Only for a group with a TTL (docs/expiry.md): without one the body is the reference's. Set
  // before the families, so a family of this name keeps its place as the reference shows it.
  const deadline = expiry?.deadline(g);
  if (deadline !== undefined || g.ttlMs !== undefined) {
    const ttlMs = g.ttlMs ?? expiry?.defaultTtlMs ?? 0;
    out.set('expiry', {
      ttl: formatGoDuration(ttlMs),
      ttl_seconds: ttlMs / 1000,
      source: g.ttlMs === undefined ? 'default' : 'header',
      ...(deadline === undefined ? {} : { expires_at: goTime(deadline) }),
    });
  }
  for (const [name, sf] of g.families) {
    const mf = sf.unpack();
    const fam: Record<string, unknown> = { time_stamp: goTime(sf.timestampMs), type: familyTypeName(mf) };
    if (mf.help !== undefined && mf.help !== '') fam.help = mf.help;
    fam.metrics = mf.metrics.map((m) => encodeMetric(mf, m));
    out.set(name, fam);
  }
  return out;
}

/** The body of GET /api/v1/metrics; groups in grouping-key order (the reference's is random). */
export function metricsResponse(groups: Iterable<Group>, expiry?: ExpiryState): string {
  const data = [...groups].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((g) => groupJson(g, expiry));
  return goJson({ status: 'success', data });
}

export function statusResponse(flags: Record<string, string>, startMs: number, build: Record<string, string>): string {
  return goJson({
    status: 'success',
    data: new Map<string, unknown>([
      ['build_information', new Map(Object.entries(build))],
      ['flags', new Map(Object.entries(flags))],
      ['start_time', goTime(startMs)],
    ]),
  });
}
