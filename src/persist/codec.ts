// JSON lines for groups and writes. JSON has no NaN, infinities or negative zero, which metric
// values use, so those numbers travel as {"$n":"NaN"} and are revived on the way back.
import type { ChangeRecord } from '../store/types.js';

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

export type { FamilyRecord, GroupRecord, PackedRecord } from '../store/types.js';

/** One entry of the write-ahead log: a change as the store announced it. */
export type LogRecord = ChangeRecord;
