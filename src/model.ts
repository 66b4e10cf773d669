// The in-memory shape of metric families, mirroring io.prometheus.client.MetricFamily
// so that text, protobuf and JSON all map onto one model without loss.

export type MetricType = 'counter' | 'gauge' | 'summary' | 'untyped' | 'histogram' | 'gaugehistogram';

export interface LabelPair {
  name: string;
  value: string;
}

export interface Quantile {
  quantile: number;
  value: number;
}

export interface Bucket {
  upperBound: number;
  cumulativeCount: number;
}

export interface Summary {
  sampleCount: number;
  sampleSum: number;
  quantiles: Quantile[];
}

export interface Histogram {
  sampleCount: number;
  sampleSum: number;
  buckets: Bucket[];
}

export interface Metric {
  /** Label pairs; after the store sanitizes a push they are sorted by name. */
  labels: LabelPair[];
  /** Value of a counter, gauge or untyped metric. */
  value?: number;
  summary?: Summary;
  histogram?: Histogram;
  /** Milliseconds since the epoch, when the exposition carried one. */
  timestampMs?: number;
}

export interface MetricFamily {
  name: string;
  /** Undefined when no HELP line was given (distinct from an empty HELP). */
  help?: string;
  type: MetricType;
  metrics: Metric[];
}
