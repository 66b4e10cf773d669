// The snapshot file: a versioned JSON-lines format of our own (documented in docs/persistence.md),
// gzip-compressed since version 3. Written and read as streams, one group at a time, so neither
// needs the file or its text in memory at once: a store that can be served can be restored.
// Written atomically (temporary file, fsync, rename, fsync of the directory).
import { promises as fs, constants as fsc } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { crc32, createGunzip, createGzip } from 'node:zlib';
import { timeFamily } from '../store/group.js';
import { PUSH_FAILURE_TIME, PUSH_TIME, type Group, type GroupingLabels, type StoredFamily } from '../store/types.js';
import { decodeLine, encodeLine, type GroupRecord } from './codec.js';
import { groupRecordProblem } from './records.js';

export const FORMAT = 'pushgateway-ts-snapshot';
/**
 * 4: a group's line carries `ttlMs` when a push set the group's TTL (docs/expiry.md).
 * 3: the lines of version 2, gzip-compressed (a fifth to a tenth of the size; level 1, which
 * compresses nearly as well as the default at a fraction of its CPU).
 * 2: families the store keeps packed are written packed (their text lines), and the end marker
 * carries the CRC-32 of every byte before it, since damage inside those lines would not break the
 * JSON. Version 1 files (every family parsed, no checksum) and version 2 files are still read.
 */
export const VERSION = 4;
const READABLE = [1, 2, 3, 4];
const GZIP_LEVEL = 1;
/** Lines are handed to the compressor in chunks of about this many chars. */
const CHUNK = 1 << 16;
/** A restore gives the event loop a turn at least this often (ms). */
const SLICE_MS = 20;

export interface SnapshotHeader {
  format: string;
  version: number;
  /** First write-ahead-log segment not contained in this snapshot. */
  walSegment: number;
  groups: number;
  writtenAt: string;
}

export class SnapshotError extends Error {}

/** What a snapshot writes of a group: its record, built when its turn comes. */
export interface SnapshotGroup {
  record(): GroupRecord;
}

/**
 * A group as it was when the snapshot was taken. Its families are immutable objects and its push
 * times four numbers, so holding them costs a few dozen bytes a group, and writes that land while
 * the file is written cannot tear the snapshot.
 */
class FrozenGroup implements SnapshotGroup {
  constructor(
    private readonly labels: GroupingLabels,
    private readonly pushed: StoredFamily[],
    private readonly pushTime: number,
    private readonly pushTimeMs: number,
    private readonly failureTime: number,
    private readonly failureTimeMs: number,
    private readonly ttlMs: number | undefined,
  ) {}

  record(): GroupRecord {
    const families = this.pushed.map((sf) => sf.record());
    families.push(
      { family: timeFamily(PUSH_TIME, this.labels, this.pushTime), timestampMs: this.pushTimeMs },
      { family: timeFamily(PUSH_FAILURE_TIME, this.labels, this.failureTime), timestampMs: this.failureTimeMs },
    );
    return this.ttlMs === undefined
      ? { labels: this.labels, families }
      : { labels: this.labels, families, ttlMs: this.ttlMs };
  }
}

/** Groups to write, as they were at one moment. */
export interface FrozenSnapshot {
  groups: readonly SnapshotGroup[];
  /** When they were taken (the header's `writtenAt`): every write before it is in, none after. */
  takenAt: Date;
}

/** The groups as they are now, to be written by `writeSnapshot` while the store goes on. */
export function freezeGroups(groups: Iterable<Group>): FrozenSnapshot {
  const takenAt = new Date();
  const frozen: SnapshotGroup[] = [];
  for (const g of groups) {
    const pushed: StoredFamily[] = [];
    let pushTimeMs = 0;
    let failureTimeMs = 0;
    for (const sf of g.families.values()) {
      if (sf.name === PUSH_TIME) pushTimeMs = sf.timestampMs;
      else if (sf.name === PUSH_FAILURE_TIME) failureTimeMs = sf.timestampMs;
      else pushed.push(sf);
    }
    frozen.push(
      new FrozenGroup(g.labels, pushed, g.pushTimeSeconds, pushTimeMs, g.failureTimeSeconds, failureTimeMs, g.ttlMs),
    );
  }
  return { groups: frozen, takenAt };
}

/** The file's lines, a chunk at a time, each group encoded only when the compressor wants more. */
function* snapshotText({ groups, takenAt }: FrozenSnapshot, walSegment: number): Iterable<string> {
  const header: SnapshotHeader = {
    format: FORMAT,
    version: VERSION,
    walSegment,
    groups: groups.length,
    writtenAt: takenAt.toISOString(),
  };
  let chunk = encodeLine(header);
  let crc = crc32(chunk);
  for (const g of groups) {
    const line = encodeLine(g.record());
    crc = crc32(line, crc);
    chunk += line;
    if (chunk.length >= CHUNK) {
      yield chunk;
      chunk = '';
    }
  }
  yield chunk + encodeLine({ end: groups.length, crc32: crc });
}

/** Writes the groups to `file` (gzip-compressed, current version), atomically. */
export async function writeSnapshot(file: string, snapshot: FrozenSnapshot, walSegment: number): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.in_progress.${process.pid}`);
  const fh = await fs.open(tmp, 'w', 0o644);
  try {
    // Written by hand: a write stream on the handle would keep it from closing until the stream does.
    await pipeline(snapshotText(snapshot, walSegment), createGzip({ level: GZIP_LEVEL }), async (chunks) => {
      for await (const chunk of chunks as AsyncIterable<Buffer>) await fh.write(chunk);
    });
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await fs.rename(tmp, file);
  await syncDir(dir);
}

export async function syncDir(dir: string): Promise<void> {
  const d = await fs.open(dir, fsc.O_RDONLY);
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Splits the file's (decompressed) bytes into lines and checks and restores each as it comes. */
class SnapshotReader {
  header: SnapshotHeader | undefined;
  private lineNo = 0;
  /** Bytes of the (decompressed) text before the current line. */
  private offset = 0;
  private pending: Buffer[] = [];
  private groups = 0;
  /** CRC-32 of every line so far. */
  private crc = 0;
  private ended = false;

  constructor(
    private readonly file: string,
    private readonly gzipped: boolean,
    private readonly restore: (record: GroupRecord) => void,
  ) {}

  fail(line: number, byte: number, why: string): SnapshotError {
    const where = `line ${line} (byte ${byte}${this.gzipped ? ' of its decompressed text' : ''})`;
    return new SnapshotError(`persistence file ${this.file} is damaged at ${where}: ${why}`);
  }

  /** The same, at the line being read when the bytes stopped coming. */
  failHere(why: string): SnapshotError {
    return this.fail(this.lineNo + 1, this.offset, why);
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const end = chunk.subarray(start, nl + 1);
      const line = this.pending.length === 0 ? end : Buffer.concat([...this.pending, end]);
      this.pending = [];
      this.line(line);
      start = nl + 1;
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
  }

  private line(bytes: Buffer): void {
    this.lineNo++;
    const at = this.offset;
    this.offset += bytes.length;
    if (this.ended) throw this.fail(this.lineNo, at, 'data after the end marker');
    let value: unknown;
    try {
      value = decodeLine(bytes.toString('utf8', 0, bytes.length - 1));
    } catch (e) {
      throw this.fail(this.lineNo, at, (e as Error).message);
    }
    if (this.header === undefined) {
      this.header = this.checkHeader(value);
    } else if (typeof value === 'object' && value !== null && 'end' in value) {
      const marker = value as { end: unknown; crc32?: unknown };
      if (marker.end !== this.groups || this.groups !== this.header.groups) {
        throw this.fail(this.lineNo, at, `end marker counts ${marker.end} groups, the file holds ${this.groups}`);
      }
      if (this.header.version >= 2 && marker.crc32 !== this.crc) {
        throw this.fail(
          this.lineNo,
          at,
          `checksum mismatch: the end marker says ${marker.crc32}, the bytes before it give ${this.crc}`,
        );
      }
      this.ended = true;
    } else {
      const problem = groupRecordProblem(value);
      if (problem !== undefined) throw this.fail(this.lineNo, at, problem);
      try {
        this.restore(value as GroupRecord);
      } catch (e) {
        throw this.fail(this.lineNo, at, `the store cannot take this group: ${(e as Error).message}`);
      }
      this.groups++;
    }
    this.crc = crc32(bytes, this.crc);
  }

  private checkHeader(value: unknown): SnapshotHeader {
    const header = value as SnapshotHeader | null;
    if (typeof header !== 'object' || header === null || header.format !== FORMAT) {
      throw this.fail(1, 0, `not a ${FORMAT} file`);
    }
    if (!READABLE.includes(header.version)) {
      const readable = `${READABLE.slice(0, -1).join(', ')} and ${READABLE.at(-1)}`;
      throw this.fail(1, 0, `format version ${header.version} is not supported (this build reads ${readable})`);
    }
    return header;
  }

  /** After the last byte: the file must have ended with its end marker. */
  finish(): SnapshotHeader {
    if (this.pending.length > 0) throw this.failHere('the file ends in the middle of a line (truncated?)');
    if (this.header === undefined) throw this.fail(1, 0, 'the file is empty');
    if (!this.ended) {
      throw this.failHere(`the file ends after ${this.groups} of ${this.header.groups} groups (truncated?)`);
    }
    return this.header;
  }
}

/**
 * Reads a snapshot and hands each group to `restore` as soon as it is read and checked; undefined
 * when the file does not exist. Any damage (bad JSON or compressed data, a wrong format or
 * version, a missing end marker, a checksum that does not match) is a SnapshotError naming the
 * file, line and byte; groups before the damage have been restored by then, so the caller
 * discards what it restored. Gives the event loop a turn every few milliseconds.
 */
export async function readSnapshot(
  file: string,
  restore: (record: GroupRecord) => void,
): Promise<SnapshotHeader | undefined> {
  let fh: FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SnapshotError(`cannot read persistence file ${file}: ${(e as Error).message}`);
  }
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await fh.read(magic, 0, 2, 0);
    // Files of versions 1 and 2 are plain lines; they start with "{".
    const gzipped = bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
    const reader = new SnapshotReader(file, gzipped, restore);
    const raw = fh.createReadStream({ start: 0, autoClose: false, highWaterMark: 1 << 16 });
    let lastTurn = performance.now();
    // What the lines were found to hold; the pipeline may reject with the abort of its other stages instead.
    let damage: unknown;
    const consume = async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        try {
          reader.push(chunk);
        } catch (e) {
          damage = e;
          throw e;
        }
        if (performance.now() - lastTurn >= SLICE_MS) {
          await nextTurn();
          lastTurn = performance.now();
        }
      }
    };
    const gunzip = gzipped ? createGunzip({ chunkSize: 1 << 16 }) : undefined;
    try {
      if (gunzip === undefined) await pipeline(raw, consume);
      else await pipeline(raw, gunzip, consume);
    } catch (e) {
      if (damage !== undefined) throw damage;
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (gunzip !== undefined && code === 'Z_BUF_ERROR') {
        throw reader.failHere('the file ends in the middle of its compressed data (truncated?)');
      }
      if (gunzip !== undefined && code.startsWith('Z_')) {
        const near = `within the first ${raw.bytesRead} bytes of the file`;
        throw reader.failHere(`the compressed data is damaged ${near} (zlib: ${(e as Error).message})`);
      }
      throw new SnapshotError(`cannot read persistence file ${file}: ${(e as Error).message}`);
    }
    return reader.finish();
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError(`cannot read persistence file ${file}: ${(e as Error).message}`);
  } finally {
    await fh.close();
  }
}
