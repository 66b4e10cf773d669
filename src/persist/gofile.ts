// Migration from the Go Pushgateway: its persistence file (storage/diskmetricstore.go, the same
// from 1.0 to the newest) is one gob value of type GroupingKeyToMetricGroup,
//   map[string]MetricGroup{Labels map[string]string; Metrics map[string]TimestampedMetricFamily}
//   TimestampedMetricFamily{Timestamp time.Time; GobbableMetricFamily *GobbableMetricFamily}
// where a time.Time is sent as its MarshalBinary bytes and a GobbableMetricFamily as the protobuf
// encoding of an io.prometheus.client.MetricFamily. Its families are stored as the reference
// stored them (grouping labels set, labels sorted, push_time_seconds and
// push_failure_time_seconds as gauges), so they become our group records as they are.
//
// The file is told apart from ours by its first bytes (ours begins with `{`; a gob stream with a
// message length and a type definition). The original is kept as `<file>.go-backup`, a hard link
// made before anything of ours can be written, so that there is never a moment when the data
// exists only in memory: our first snapshot then replaces the file by a rename, as every snapshot.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { MetricFamily } from '../model.js';
import { parseProtobufDelimited } from '../parse/protobuf.js';
import type { GroupRecord, FamilyRecord } from '../store/types.js';
import { decodeGob, GobError, type GobStruct, type GobValue } from './gob.js';
import { groupRecordProblem } from './records.js';
import { SnapshotError, syncDir } from './snapshot.js';

export class GoFileError extends SnapshotError {}

/** Seconds from Go's zero time (January 1, year 1, UTC) to the Unix epoch. */
const GO_EPOCH_TO_UNIX = 62135596800;

/**
 * Whether a file beginning with these bytes is a gob stream: a message length, then a negative
 * type id (the definition of a type, as every stream of a map type begins). Ours begins with `{`.
 */
export function looksLikeGob(head: Uint8Array): boolean {
  if (head.length < 2 || head[0] === 0x7b) return false;
  let pos = 0;
  const uint = (): number | undefined => {
    const b = head[pos++];
    if (b === undefined) return undefined;
    if (b < 0x80) return b;
    const count = 256 - b;
    if (count > 8 || pos + count > head.length) return undefined;
    let v = 0;
    for (let i = 0; i < count; i++) v = v * 256 + head[pos++];
    return v;
  };
  const length = uint();
  const id = uint();
  return length !== undefined && length > 0 && id !== undefined && id % 2 === 1;
}

/** Unix milliseconds (with a fraction) of a time.Time's binary form (versions 1 and 2: the zone is ignored). */
function goTimeMs(b: Uint8Array): number | string {
  if (b.length === 0) return 0;
  if ((b[0] !== 1 || b.length !== 15) && (b[0] !== 2 || b.length !== 16)) {
    return `not a Go time (version ${b[0]}, ${b.length} bytes)`;
  }
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  const seconds = Number(view.getBigInt64(1)) - GO_EPOCH_TO_UNIX;
  return seconds * 1000 + view.getInt32(9) / 1e6;
}

const isStruct = (v: GobValue | undefined): v is GobStruct =>
  typeof v === 'object' && !(v instanceof Map) && !(v instanceof Uint8Array) && !Array.isArray(v);

function goName(v: GobValue): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/**
 * The groups of a Go Pushgateway persistence file. A family stored without its protobuf (the
 * reference skips those with a warning) is skipped; `skipped` counts them.
 * @throws GoFileError naming the file and the byte where the problem is
 */
export function goFileGroups(bytes: Uint8Array, file: string): { groups: GroupRecord[]; skipped: number } {
  const fail = (byte: number, why: string) =>
    new GoFileError(`persistence file ${file} (a Go Pushgateway file) is damaged at byte ${byte}: ${why}`);
  let values;
  try {
    values = decodeGob(bytes);
  } catch (e) {
    if (e instanceof GobError) throw fail(e.offset, e.message);
    throw e;
  }
  if (values.length !== 1) {
    throw fail(values[1]?.offset ?? bytes.length, `${values.length} values where the Go Pushgateway writes one`);
  }
  const { value: top, offset } = values[0];
  // Where a byte string sits in the file, to point at a bad family or time.
  const at = (b: Uint8Array) => b.byteOffset - bytes.byteOffset;
  if (!(top instanceof Map)) throw fail(offset, 'not a map of groups');
  const groups: GroupRecord[] = [];
  let skipped = 0;
  for (const [key, group] of top) {
    const where = `group ${goName(key)}`;
    if (
      !isStruct(group) ||
      !(group.Labels instanceof Map) ||
      (group.Metrics !== undefined && !(group.Metrics instanceof Map))
    ) {
      throw fail(offset, `${where}: not a group with Labels and Metrics`);
    }
    for (const [name, value] of group.Labels) {
      if (typeof name !== 'string' || typeof value !== 'string') throw fail(offset, `${where}: labels are not strings`);
    }
    // Own properties whatever the names (an assignment of `__proto__` would set the prototype).
    const labels = Object.fromEntries(group.Labels) as Record<string, string>;
    const families: FamilyRecord[] = [];
    for (const [name, tmf] of (group.Metrics as Map<GobValue, GobValue> | undefined) ?? []) {
      const fam = `${where}, family ${goName(name)}`;
      if (!isStruct(tmf)) throw fail(offset, `${fam}: not a timestamped family`);
      const { Timestamp: time, GobbableMetricFamily: proto } = tmf;
      if (proto === undefined) {
        skipped++;
        continue;
      }
      if (!(proto instanceof Uint8Array) || (time !== undefined && !(time instanceof Uint8Array))) {
        throw fail(offset, `${fam}: not a time and a protobuf family`);
      }
      const timestampMs = time === undefined ? 0 : goTimeMs(time);
      if (typeof timestampMs === 'string') throw fail(at(time as Uint8Array), `${fam}: ${timestampMs}`);
      families.push({ family: protobufFamily(proto, (why) => fail(at(proto), `${fam}: ${why}`)), timestampMs });
    }
    const record: GroupRecord = { labels, families };
    const problem = groupRecordProblem(record);
    if (problem !== undefined) throw fail(offset, `${where}: ${problem}`);
    groups.push(record);
  }
  return { groups, skipped };
}

/** One MetricFamily message, read by the push parser (which takes them length-delimited). */
function protobufFamily(b: Uint8Array, fail: (why: string) => Error): MetricFamily {
  const length: number[] = [];
  for (let n = b.length; ; n = Math.floor(n / 128)) {
    length.push(n >= 128 ? (n % 128) | 0x80 : n);
    if (n < 128) break;
  }
  const framed = new Uint8Array(length.length + b.length);
  framed.set(length);
  framed.set(b, length.length);
  try {
    const mfs = parseProtobufDelimited(framed, { maxMessageBytes: Infinity });
    if (mfs.length !== 1 || mfs[0].name === '') throw new Error('a family without a name');
    return mfs[0];
  } catch (e) {
    throw fail(`its protobuf is not a metric family: ${(e as Error).message}`);
  }
}

/**
 * The file's groups if it is the Go Pushgateway's, undefined otherwise (absent, or not gob).
 * Before returning them, keeps the original as `<file>.go-backup` and logs the import.
 * @throws GoFileError when the file is damaged; SnapshotError when no backup can be made
 */
export async function importGoFile(file: string, log: Logger): Promise<GroupRecord[] | undefined> {
  let head: Uint8Array;
  try {
    const fh = await fs.open(file, 'r');
    try {
      const { buffer, bytesRead } = await fh.read(new Uint8Array(16), 0, 16, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return undefined; // absent or unreadable: the snapshot reader says so in its words
  }
  if (!looksLikeGob(head)) return undefined;
  const started = Date.now();
  const { groups, skipped } = goFileGroups(await fs.readFile(file), file);
  const backup = `${file}.go-backup`;
  try {
    await keepCopy(file, backup);
  } catch (e) {
    throw new SnapshotError(`cannot keep the Go Pushgateway's file ${file} as ${backup}: ${(e as Error).message}`);
  }
  log.warn(
    { file, backup, groups: groups.length, skippedFamilies: skipped, ms: Date.now() - started },
    "imported the Go Pushgateway's persistence file; the next snapshot writes it in this gateway's format",
  );
  return groups;
}

/** A durable copy under another name in the same directory: a hard link, a copy where links are not possible. */
async function keepCopy(file: string, copy: string): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(copy)}.in_progress.${process.pid}`);
  await fs.rm(tmp, { force: true });
  try {
    await fs.link(file, tmp);
  } catch {
    await fs.copyFile(file, tmp);
    const fh = await fs.open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  await fs.rename(tmp, copy);
  await syncDir(dir);
}
