// Write-ahead log for --persistence.sync: every write is appended and fsynced before its push is
// acknowledged. Writes waiting together share one fsync (group commit). Segments are numbered;
// a snapshot records the first segment it does not contain, and older segments are deleted.
import { isUtf8 } from 'node:buffer';
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { decodeLine, encodeLine, type LogRecord } from './codec.js';
import { logRecordProblem } from './records.js';

export function segmentPath(file: string, seq: number): string {
  return `${file}.wal.${String(seq).padStart(8, '0')}`;
}

/** Segment numbers present beside the snapshot file, ascending. */
export async function listSegments(file: string): Promise<number[]> {
  const dir = path.dirname(file);
  const prefix = path.basename(file) + '.wal.';
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))
    .map((n) => Number(n.slice(prefix.length)))
    .sort((a, b) => a - b);
}

export class WalError extends Error {}

/**
 * Reads a segment's records, each checked before it is replayed. A last line without its newline
 * that is not a whole record is what a crash during an append leaves: that write was never
 * acknowledged, so it is dropped. Damage anywhere else, or a whole line that is no valid record,
 * is an error naming the line, its first byte and what is wrong.
 */
export async function readSegment(file: string): Promise<LogRecord[]> {
  const bytes = await fs.readFile(file);
  const records: LogRecord[] = [];
  for (let start = 0, line = 1; start < bytes.length; line++) {
    const nl = bytes.indexOf(0x0a, start);
    const torn = nl < 0;
    const end = torn ? bytes.length : nl;
    const fail = (why: string) =>
      new WalError(`write-ahead log ${file} is damaged at line ${line} (byte ${start}): ${why}`);
    let rec: unknown;
    try {
      // JSON.stringify writes well-formed UTF-8 only: anything else is damage, never to be
      // replaced by U+FFFD and stored.
      if (!isUtf8(bytes.subarray(start, end))) throw new Error('invalid UTF-8');
      rec = decodeLine<unknown>(bytes.toString('utf8', start, end));
    } catch (e) {
      if (torn) break;
      throw fail(end === start ? 'an empty line' : (e as Error).message);
    }
    const problem = logRecordProblem(rec);
    if (problem !== undefined) throw fail(problem);
    records.push(rec as LogRecord);
    start = end + 1;
  }
  return records;
}

export class WriteAheadLog {
  private fh: { seq: number; handle: fs.FileHandle } | undefined;
  private pending: string[] = [];
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly file: string,
    private seq: number,
  ) {}

  /** Queues a record; `flush()` makes it durable. */
  append(record: LogRecord): void {
    this.pending.push(encodeLine(record));
  }

  /** Resolves once everything appended so far is on disk. */
  flush(): Promise<void> {
    if (this.pending.length === 0 && this.flushing === undefined) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.flushing ??= this.drain();
    return done;
  }

  private async handleFor(seq: number): Promise<fs.FileHandle> {
    if (this.fh?.seq === seq) return this.fh.handle;
    const old = this.fh;
    // O_DSYNC: each write returns once on disk, without a separate fdatasync round-trip.
    const handle = await fs.open(
      segmentPath(this.file, seq),
      fsc.O_WRONLY | fsc.O_CREAT | fsc.O_APPEND | fsc.O_DSYNC,
      0o644,
    );
    this.fh = { seq, handle };
    await old?.handle.close();
    return handle;
  }

  private async drain(): Promise<void> {
    try {
      // Waiters without new records waited for the batch in flight, which is done by now.
      while (this.pending.length > 0 || this.waiters.length > 0) {
        const batch = this.pending.join('');
        const waiters = this.waiters;
        const seq = this.seq;
        this.pending = [];
        this.waiters = [];
        try {
          if (batch !== '') {
            const fh = await this.handleFor(seq);
            const bytes = Buffer.from(batch);
            for (let off = 0; off < bytes.length;) off += (await fh.write(bytes, off)).bytesWritten;
          }
          for (const w of waiters) w.resolve();
        } catch (e) {
          for (const w of waiters) w.reject(e as Error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /**
   * Sends the records not yet written to a new segment, at once, so a snapshot taken right after
   * holds every write of the older segments. Replaying a write the snapshot already holds is
   * harmless: writes replay in order and each sets state rather than adding to it.
   */
  rotate(): number {
    this.seq++;
    return this.seq;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.flushing;
    await this.fh?.handle.close();
    this.fh = undefined;
  }
}
