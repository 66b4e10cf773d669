// Metrics as the reference names them in consistency errors: the compact protobuf text form of
// io.prometheus.client.Metric that golang/protobuf 1.3 prints (fields in field-number order).
import type { Metric, MetricType } from '../model.js';
import { formatCount, formatGoFloat } from '../expose/float.js';

function protoFloat(v: number): string {
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v !== v) return 'nan';
  return formatGoFloat(v);
}

// Strings are escaped byte by byte over their UTF-8 encoding: non-printable bytes as octal.
function protoString(s: string): string {
  let out = '"';
  for (const c of Buffer.from(s, 'utf8')) {
    if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += '\\' + c.toString(8).padStart(3, '0');
  }
  return out + '"';
}

/** The metric as it appears between `{ ` and `}` in the reference's messages (never timestamped: those are refused first). */
export function describeMetric(type: MetricType, m: Metric): string {
  let s = '';
  for (const lp of m.labels) s += `label:<name:${protoString(lp.name)} value:${protoString(lp.value)} > `;
  const value = `<value:${protoFloat(m.value ?? 0)} > `;
  if (m.summary !== undefined) {
    s += `summary:<sample_count:${formatCount(m.summary.sampleCount)} sample_sum:${protoFloat(m.summary.sampleSum)} `;
    for (const q of m.summary.quantiles) s += `quantile:<quantile:${protoFloat(q.quantile)} value:${protoFloat(q.value)} > `;
    s += '> ';
  } else if (m.histogram !== undefined) {
    s += `histogram:<sample_count:${formatCount(m.histogram.sampleCount)} sample_sum:${protoFloat(m.histogram.sampleSum)} `;
    for (const b of m.histogram.buckets) {
      s += `bucket:<cumulative_count:${formatCount(b.cumulativeCount)} upper_bound:${protoFloat(b.upperBound)} > `;
    }
    s += '> ';
  } else if (type === 'gauge') s += 'gauge:' + value;
  else if (type === 'counter') s += 'counter:' + value;
  else s += 'untyped:' + value;
  return s;
}

const TYPE_NAMES: Record<MetricType, string> = {
  counter: 'COUNTER',
  gauge: 'GAUGE',
  summary: 'SUMMARY',
  untyped: 'UNTYPED',
  histogram: 'HISTOGRAM',
  gaugehistogram: 'GAUGE_HISTOGRAM',
};

/** The protobuf enum name of a type, as the reference prints it in errors and the JSON API. */
export function typeName(t: MetricType): string {
  return TYPE_NAMES[t];
}
