// The in-memory shape of metric families, mirroring io.prometheus.client.MetricFamily
// so that text, protobuf and JSON all map onto one model without loss.
//
// Fields marked "protobuf only" are set by the protobuf parser (src/parse/protobuf.ts) and are
// absent on what the text parser produces. They hold what a protobuf push can carry beyond the
// text format, and that the reference keeps: native histograms, float counts, exemplars,
// created timestamps, metrics whose value fields don't match the family type, enum values
// outside MetricType, and which optional fields were left out of a message (`unset`).
// Strings from protobuf are raw bytes in Go; invalid UTF-8 in them is held as lone surrogates
// U+DC80..U+DCFF, one per invalid byte (see decodeGoString/encodeGoString in lib/gostring.ts).

export type MetricType = 'counter' | 'gauge' | 'summary' | 'untyped' | 'histogram' | 'gaugehistogram';

export interface LabelPair {
  name: string;
  value: string;
  /** Protobuf only: which of the message's optional fields were left out (here they read ""). */
  unset?: Array<'name' | 'value'>;
}

export interface Quantile {
  quantile: number;
  value: number;
  /** Protobuf only: which of the message's optional fields were left out (here they read 0). */
  unset?: Array<'quantile' | 'value'>;
}

export interface Bucket {
  upperBound: number;
  cumulativeCount: number;
  /** Protobuf only: cumulative_count_float; takes the place of cumulativeCount when > 0. */
  cumulativeCountFloat?: number;
  /** Protobuf only. */
  exemplar?: Exemplar;
  /** Protobuf only: which of the message's optional fields were left out (here they read 0). */
  unset?: Array<'cumulativeCount' | 'upperBound'>;
}

/** google.protobuf.Timestamp (proto3: a zero field and a missing one are the same). Seconds are exact up to 2^53. */
export interface Timestamp {
  seconds: number;
  nanos: number;
}

export interface Exemplar {
  labels: LabelPair[];
  value: number;
  timestamp?: Timestamp;
  /** Whether the value was left out (it then reads 0). */
  unset?: Array<'value'>;
}

/** A span of consecutive buckets of a native histogram. */
export interface BucketSpan {
  /** Gap to the previous span, or the index of the first bucket for the first span. */
  offset: number;
  length: number;
  /** Which of the message's optional fields were left out (here they read 0). */
  unset?: Array<'offset' | 'length'>;
}

export interface Summary {
  sampleCount: number;
  sampleSum: number;
  quantiles: Quantile[];
  /** Protobuf only. */
  createdTimestamp?: Timestamp;
  /** Protobuf only: which of the message's optional fields were left out (here they read 0). */
  unset?: Array<'sampleCount' | 'sampleSum'>;
}

export interface Histogram {
  sampleCount: number;
  sampleSum: number;
  buckets: Bucket[];
  // Everything below is protobuf only; undefined means "not in the message" (an empty repeated
  // field is undefined too).
  /** sample_count_float; takes the place of sampleCount when > 0. */
  sampleCountFloat?: number;
  /** Native histogram bucket schema (boundaries grow by 2^(2^-schema)). */
  schema?: number;
  zeroThreshold?: number;
  zeroCount?: number;
  /** Takes the place of zeroCount when > 0. */
  zeroCountFloat?: number;
  negativeSpans?: BucketSpan[];
  /** Bucket counts as deltas to the previous bucket (integer histograms). */
  negativeDeltas?: number[];
  /** Absolute bucket counts (float histograms). */
  negativeCounts?: number[];
  positiveSpans?: BucketSpan[];
  positiveDeltas?: number[];
  positiveCounts?: number[];
  createdTimestamp?: Timestamp;
  /** Exemplars of a native histogram (Histogram.exemplars, not the per-bucket ones). */
  exemplars?: Exemplar[];
  /** Which of the message's optional fields were left out (here they read 0). */
  unset?: Array<'sampleCount' | 'sampleSum'>;
}

/** io.prometheus.client.Gauge or Untyped as pushed: value undefined when the message had none. */
export interface ValueMessage {
  value?: number;
}

/** io.prometheus.client.Counter as pushed. */
export interface CounterMessage {
  value?: number;
  exemplar?: Exemplar;
  createdTimestamp?: Timestamp;
}

export interface Metric {
  /** Label pairs; after the store sanitizes a push they are sorted by name. */
  labels: LabelPair[];
  /**
   * Value of a counter, gauge or untyped metric. From protobuf: the value of the message that
   * matches the family type (0 if that message came without a value), undefined without one.
   */
  value?: number;
  summary?: Summary;
  histogram?: Histogram;
  /** Milliseconds since the epoch, when the exposition carried one. */
  timestampMs?: number;
  /**
   * Protobuf only: the Metric's gauge, counter and untyped messages, each one present exactly
   * when the push carried it, whatever the family type (the reference's consistency check
   * reports e.g. `... is not a GAUGE` when the one of the family type is missing, and prints all
   * of them). When none of the three is defined, `value` stands for the one of the family type.
   */
  gauge?: ValueMessage;
  counter?: CounterMessage;
  untyped?: ValueMessage;
}

export interface MetricFamily {
  name: string;
  /** Undefined when no HELP line was given (distinct from an empty HELP). */
  help?: string;
  type: MetricType;
  metrics: Metric[];
  /**
   * Protobuf only: the MetricType enum number when it is none of the known ones (the reference
   * keeps it and shows it as a number, e.g. "9"; its text exposition of the family fails).
   * `type` is then 'untyped'.
   */
  typeNumber?: number;
  /** Protobuf only: MetricFamily.unit (unknown to the reference, which ignores it). */
  unit?: string;
}
