// Checks of what is read back from the persistence files, before any of it reaches the store: a
// damaged or foreign line must stop the start with a reason, not be half-applied. One definition
// of each shape serves the snapshot and the write-ahead log. The field tables are typed by the
// model's interfaces, so a field added there fails to compile here until it is checked too (and
// a record written with it would otherwise be refused as having an unexpected field).
import type {
  Bucket,
  BucketSpan,
  CounterMessage,
  Exemplar,
  Histogram,
  LabelPair,
  Metric,
  MetricFamily,
  Quantile,
  Summary,
  Timestamp,
  ValueMessage,
} from '../model.js';
import type { GroupingLabels, AppliedWrite } from '../store/types.js';
import type { PackedRecord } from './codec.js';

/**
 * The problem with a value, if any: a path relative to the value (`.a[2].b`, empty for the value
 * itself), a colon and what is wrong. Paths are built only on failure, on the way back up.
 */
type Check = (v: unknown) => string | undefined;

interface Field {
  check: Check;
  optional: boolean;
}

const required = (check: Check): Field => ({ check, optional: false });
const optional = (check: Check): Field => ({ check, optional: true });

function got(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

const expected = (what: string, v: unknown): string => `: expected ${what}, got ${got(v)}`;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const string: Check = (v) => (typeof v === 'string' ? undefined : expected('a string', v));
// NaN, infinities and -0 are metric values like any other (codec.ts carries them).
const number: Check = (v) => (typeof v === 'number' ? undefined : expected('a number', v));
const finite: Check = (v) => (typeof v === 'number' && Number.isFinite(v) ? undefined : expected('a finite number', v));
const boolean: Check = (v) => (typeof v === 'boolean' ? undefined : expected('true or false', v));

function oneOf(values: readonly unknown[]): Check {
  const set = new Set(values);
  const list = values.map((x) => JSON.stringify(x)).join(', ');
  return (v) => {
    if (set.has(v)) return undefined;
    return `: expected one of ${list}, got ${typeof v === 'string' ? JSON.stringify(v) : got(v)}`;
  };
}

function arrayOf(item: Check): Check {
  return (v) => {
    if (!Array.isArray(v)) return expected('an array', v);
    for (let i = 0; i < v.length; i++) {
      const p = item(v[i]);
      if (p !== undefined) return `[${i}]${p}`;
    }
    return undefined;
  };
}

/** An object with exactly these fields (the optional ones may be absent), each passing its check. */
function object<T>(fields: { [K in keyof T]-?: Field }): Check {
  const names = Object.keys(fields);
  const checks = names.map((n) => (fields as Record<string, Field>)[n].check);
  const optionals = names.map((n) => (fields as Record<string, Field>)[n].optional);
  return (v) => {
    if (!isObject(v)) return expected('an object', v);
    let present = 0;
    for (let i = 0; i < names.length; i++) {
      const x = v[names[i]];
      if (x === undefined) {
        if (!optionals[i]) return `.${names[i]}: missing`;
        continue;
      }
      present++;
      const p = checks[i](x);
      if (p !== undefined) return `.${names[i]}${p}`;
    }
    // Every field found is among the keys: any more keys are fields of no such name.
    let keys = 0;
    for (const _ in v) keys++;
    if (keys === present) return undefined;
    for (const name in v) if (!Object.hasOwn(fields, name)) return `: unexpected field ${JSON.stringify(name)}`;
    return undefined;
  };
}

const TYPES = ['counter', 'gauge', 'summary', 'untyped', 'histogram', 'gaugehistogram'] as const;

const timestamp = object<Timestamp>({ seconds: required(number), nanos: required(number) });

const labelPair = object<LabelPair>({
  name: required(string),
  value: required(string),
  unset: optional(arrayOf(oneOf(['name', 'value']))),
});
const labelPairs = arrayOf(labelPair);

const exemplar = object<Exemplar>({
  labels: required(labelPairs),
  value: required(number),
  timestamp: optional(timestamp),
  unset: optional(arrayOf(oneOf(['value']))),
});

const quantile = object<Quantile>({
  quantile: required(number),
  value: required(number),
  unset: optional(arrayOf(oneOf(['quantile', 'value']))),
});

const countAndSum = optional(arrayOf(oneOf(['sampleCount', 'sampleSum'])));

const summary = object<Summary>({
  sampleCount: required(number),
  sampleSum: required(number),
  quantiles: required(arrayOf(quantile)),
  createdTimestamp: optional(timestamp),
  unset: countAndSum,
});

const bucket = object<Bucket>({
  upperBound: required(number),
  cumulativeCount: required(number),
  cumulativeCountFloat: optional(number),
  exemplar: optional(exemplar),
  unset: optional(arrayOf(oneOf(['cumulativeCount', 'upperBound']))),
});

const span = object<BucketSpan>({
  offset: required(number),
  length: required(number),
  unset: optional(arrayOf(oneOf(['offset', 'length']))),
});
const spans = optional(arrayOf(span));
const numbers = optional(arrayOf(number));

const histogram = object<Histogram>({
  sampleCount: required(number),
  sampleSum: required(number),
  buckets: required(arrayOf(bucket)),
  sampleCountFloat: optional(number),
  schema: optional(number),
  zeroThreshold: optional(number),
  zeroCount: optional(number),
  zeroCountFloat: optional(number),
  negativeSpans: spans,
  negativeDeltas: numbers,
  negativeCounts: numbers,
  positiveSpans: spans,
  positiveDeltas: numbers,
  positiveCounts: numbers,
  createdTimestamp: optional(timestamp),
  exemplars: optional(arrayOf(exemplar)),
  unset: countAndSum,
});

const valueMessage = optional(object<ValueMessage>({ value: optional(number) }));
const counterMessage = object<CounterMessage>({
  value: optional(number),
  exemplar: optional(exemplar),
  createdTimestamp: optional(timestamp),
});

const metric = object<Metric>({
  labels: required(labelPairs),
  value: optional(number),
  summary: optional(summary),
  histogram: optional(histogram),
  timestampMs: optional(number),
  gauge: valueMessage,
  counter: optional(counterMessage),
  untyped: valueMessage,
});

const family = object<MetricFamily>({
  name: required(string),
  help: optional(string),
  type: required(oneOf(TYPES)),
  metrics: required(arrayOf(metric)),
  typeNumber: optional(number),
  unit: optional(string),
});

/** Grouping labels: names to string values, `job` among them (every group has one). */
const groupingLabels: Check = (v) => {
  if (!isObject(v)) return expected('an object of label names and values', v);
  for (const name in v) {
    const p = string(v[name]);
    if (p !== undefined) return `[${JSON.stringify(name)}]${p}`;
  }
  return Object.hasOwn(v, 'job') ? undefined : ': no job label';
};

const seriesCount: Check = (v) =>
  Number.isInteger(v) && (v as number) >= 1 ? undefined : expected('a count of at least 1', v);
const packedFields = object<PackedRecord>({
  name: required(string),
  help: optional(string),
  type: required(oneOf(TYPES)),
  series: required(seriesCount),
  text: required((v) => (typeof v === 'string' && v.endsWith('\n') ? undefined : expected('lines of text', v))),
  order: optional(string),
});

/** A packed family: its lines are used as they are, so only its frame can be checked. */
const packed: Check = (v) => {
  const p = packedFields(v);
  if (p !== undefined) return p;
  const { order, series } = v as unknown as PackedRecord;
  if (order === undefined || order.length >= series) return undefined;
  return `.order: ${order.length} positions for ${series} series`;
};

const parsedFamilyRecord = object<{ family: MetricFamily; timestampMs: number }>({
  family: required(family),
  timestampMs: required(finite),
});
const packedFamilyRecord = object<{ packed: PackedRecord; timestampMs: number }>({
  packed: required(packed),
  timestampMs: required(finite),
});

const familyRecord: Check = (v) => {
  if (isObject(v) && Object.hasOwn(v, 'family')) return parsedFamilyRecord(v);
  if (isObject(v) && Object.hasOwn(v, 'packed')) return packedFamilyRecord(v);
  return isObject(v) ? ': neither a parsed ("family") nor a packed family' : expected('an object', v);
};

/** A group's TTL in milliseconds (0: never expires). */
const ttl: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : expected('a TTL of 0 or more milliseconds', v);

const groupRecord = object<{ labels: GroupingLabels; families: unknown[]; ttlMs: number }>({
  labels: required(groupingLabels),
  families: required(arrayOf(familyRecord)),
  ttlMs: optional(ttl),
});

const writeRequest = object<AppliedWrite>({
  labels: required(groupingLabels),
  families: required(arrayOf(family)),
  replace: required(boolean),
  check: required(boolean),
  timestampMs: required(finite),
  ttlMs: optional(ttl),
});

const KINDS = {
  write: object<{ write: AppliedWrite; ok: boolean }>({ write: required(writeRequest), ok: required(boolean) }),
  delete: object<{ delete: GroupingLabels }>({ delete: required(groupingLabels) }),
  wipe: object<{ wipe: true }>({ wipe: required(oneOf([true])) }),
};

const logRecord: Check = (v) => {
  if (!isObject(v)) return expected('an object', v);
  const kinds = Object.keys(KINDS).filter((k) => Object.hasOwn(v, k)) as Array<keyof typeof KINDS>;
  if (kinds.length > 1) return `: a record of more than one kind (${kinds.join(' and ')})`;
  if (kinds.length === 0) {
    const names = Object.keys(v).map((k) => JSON.stringify(k));
    const fields = names.length === 0 ? 'no fields' : `fields ${names.join(', ')}`;
    return `: unknown record kind (${fields}; expected write, delete or wipe)`;
  }
  return KINDS[kinds[0]](v);
};

/** A problem as a sentence: "write.families[0].name: missing", or just what is wrong with the whole. */
function sentence(p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  return p.startsWith(': ') ? p.slice(2) : p.slice(p.startsWith('.') ? 1 : 0);
}

/** What makes a snapshot line no group record, if anything. */
export function groupRecordProblem(v: unknown): string | undefined {
  return sentence(groupRecord(v));
}

/** What makes a write-ahead-log line no log record (write, delete or wipe), if anything. */
export function logRecordProblem(v: unknown): string | undefined {
  return sentence(logRecord(v));
}
