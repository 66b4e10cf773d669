// JSON lines for groups and writes. JSON has no NaN, infinities or negative zero, which metric
// values use, so those numbers travel as {"$n":"NaN"} and are revived on the way back.
import type { MetricFamily, MetricType } from '../model.js';
import type { GroupingLabels, WriteRequest } from '../store/types.js';

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0))) {
    return { $n: Object.is(value, -0) ? '-0' : String(value) };
  }
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && '$n' in value) {
    const s = (value as { $n: string }).$n;
    return s === '-0' ? -0 : Number(s);
  }
  return value;
}

export function encodeLine(value: unknown): string {
  return JSON.stringify(value, replacer) + '\n';
}

export function decodeLine<T>(line: string): T {
  // A reviver makes parsing several times slower: only lines holding special numbers need it.
  return (line.includes('"$n"') ? JSON.parse(line, reviver) : JSON.parse(line)) as T;
}

/** A family the store keeps packed (see store/compact.ts), persisted as it is kept. */
export interface PackedRecord {
  name: string;
  help?: string;
  type: MetricType;
  /** Number of series. */
  series: number;
  /** The series' lines, a latin1 string of their UTF-8 bytes. */
  text: string;
  /** Push order, when not the order of the lines. */
  order?: string;
}

/** A family as persisted (parsed, or packed), with the time of the write that put it in its group. */
export type FamilyRecord = { family: MetricFamily; timestampMs: number } | { packed: PackedRecord; timestampMs: number };

/** A group as persisted: its grouping labels and its families with their write times. */
export interface GroupRecord {
  labels: GroupingLabels;
  families: FamilyRecord[];
}

/** One entry of the write-ahead log: a write (and whether it was applied), a delete, a wipe. */
export type LogRecord = { write: WriteRequest; ok: boolean } | { delete: GroupingLabels } | { wipe: true };
