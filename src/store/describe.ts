// Metrics as the reference names them in consistency errors: the compact protobuf text form of
// io.prometheus.client.Metric that golang/protobuf 1.3 prints (fields in Go struct order, only
// the fields present). Text pushes carry the one value message of their family's type.
import type { Bucket, BucketSpan, LabelPair, Metric, MetricFamily, MetricType, Quantile } from '../model.js';
import { formatCount, formatGoFloat } from '../lib/gofloat.js';
import { protoTextQuote } from '../lib/goquote.js';

function protoFloat(v: number): string {
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v !== v) return 'nan';
  return formatGoFloat(v);
}

function field(
  name: string,
  v: number | undefined,
  unset: readonly string[] | undefined,
  key: string,
  count = false,
): string {
  if (v === undefined || unset?.includes(key)) return '';
  return `${name}:${count ? formatCount(v) : protoFloat(v)} `;
}

function labelText(lp: LabelPair): string {
  const name = lp.unset?.includes('name') ? '' : `name:${protoTextQuote(lp.name)} `;
  const value = lp.unset?.includes('value') ? '' : `value:${protoTextQuote(lp.value)} `;
  return `label:<${name}${value}> `;
}

function valueMessage(name: string, v: { value?: number } | undefined): string {
  return v === undefined ? '' : `${name}:<${v.value === undefined ? '' : `value:${protoFloat(v.value)} `}> `;
}

function spans(name: string, list: BucketSpan[] | undefined): string {
  return (list ?? [])
    .map(
      (sp) =>
        `${name}:<${field('offset', sp.offset, sp.unset, 'offset', true)}${field('length', sp.length, sp.unset, 'length', true)}> `,
    )
    .join('');
}

function numbers(name: string, list: number[] | undefined, count = false): string {
  return (list ?? []).map((v) => `${name}:${count ? formatCount(v) : protoFloat(v)} `).join('');
}

/** Which of the gauge/counter/untyped messages a metric carries (text pushes: its family's). */
function valueMessages(
  m: Metric,
  ownType: MetricType,
): { gauge?: { value?: number }; counter?: { value?: number }; untyped?: { value?: number } } {
  if (m.gauge !== undefined || m.counter !== undefined || m.untyped !== undefined) return m;
  if (m.summary !== undefined || m.histogram !== undefined || m.value === undefined) return {};
  if (ownType === 'gauge') return { gauge: { value: m.value } };
  if (ownType === 'counter') return { counter: { value: m.value } };
  if (ownType === 'untyped') return { untyped: { value: m.value } };
  return {};
}

/** Whether the metric carries the value message a family of type `t` needs (client_golang's check). */
export function carriesType(m: Metric, ownType: MetricType, t: MetricType): boolean {
  switch (t) {
    case 'summary':
      return m.summary !== undefined;
    case 'histogram':
      return m.histogram !== undefined;
    case 'gaugehistogram':
      return true; // client_golang does not check this type
    default:
      // valueMessages(m, ownType)[t] !== undefined, without building them.
      if (m.gauge !== undefined || m.counter !== undefined || m.untyped !== undefined) return m[t] !== undefined;
      return m.summary === undefined && m.histogram === undefined && m.value !== undefined && ownType === t;
  }
}

/** The metric as it appears between `{ ` and `}` in the reference's messages (never timestamped: those are refused first). */
export function describeMetric(type: MetricType, m: Metric): string {
  let s = '';
  for (const lp of m.labels) s += labelText(lp);
  const v = valueMessages(m, type);
  s += valueMessage('gauge', v.gauge) + valueMessage('counter', v.counter);
  if (m.summary !== undefined) {
    const sm = m.summary;
    s += `summary:<${field('sample_count', sm.sampleCount, sm.unset, 'sampleCount', true)}${field('sample_sum', sm.sampleSum, sm.unset, 'sampleSum')}`;
    s += sm.quantiles
      .map(
        (q: Quantile) =>
          `quantile:<${field('quantile', q.quantile, q.unset, 'quantile')}${field('value', q.value, q.unset, 'value')}> `,
      )
      .join('');
    s += '> ';
  }
  s += valueMessage('untyped', v.untyped);
  if (m.histogram !== undefined) {
    const h = m.histogram;
    s += `histogram:<${field('sample_count', h.sampleCount, h.unset, 'sampleCount', true)}${field('sample_count_float', h.sampleCountFloat, undefined, '')}`;
    s += field('sample_sum', h.sampleSum, h.unset, 'sampleSum');
    s += h.buckets
      .map(
        (b: Bucket) =>
          `bucket:<${field('cumulative_count', b.cumulativeCount, b.unset, 'cumulativeCount', true)}${field('cumulative_count_float', b.cumulativeCountFloat, undefined, '')}${field('upper_bound', b.upperBound, b.unset, 'upperBound')}> `,
      )
      .join('');
    s += field('schema', h.schema, undefined, '', true) + field('zero_threshold', h.zeroThreshold, undefined, '');
    s +=
      field('zero_count', h.zeroCount, undefined, '', true) +
      field('zero_count_float', h.zeroCountFloat, undefined, '');
    s +=
      spans('negative_span', h.negativeSpans) +
      numbers('negative_delta', h.negativeDeltas, true) +
      numbers('negative_count', h.negativeCounts);
    s +=
      spans('positive_span', h.positiveSpans) +
      numbers('positive_delta', h.positiveDeltas, true) +
      numbers('positive_count', h.positiveCounts);
    s += '> ';
  }
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

/** A family's type as the reference names it: an unknown enum number prints as the number. */
export function familyTypeName(mf: MetricFamily): string {
  return mf.typeNumber !== undefined ? String(mf.typeNumber) : TYPE_NAMES[mf.type];
}
