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
 * is an error naming the line, its first byte and what is wrong. `length` limits the read to the
 * bytes known to hold whole batches (see WriteAheadLog.validLength).
 */
export async function readSegment(file: string, length?: number): Promise<LogRecord[]> {
  const whole = await fs.readFile(file);
  const bytes = length === undefined ? whole : whole.subarray(0, length);
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

/** How the log opens files; a test passes one whose writes fail. */
export type OpenFile = (file: string, flags: number, mode: number) => Promise<fs.FileHandle>;

const defaultOpen: OpenFile = (file, flags, mode) => fs.open(file, flags, mode);

/** Bytes a probe writes at least, so a nearly full disk is not taken for one with room. */
const PROBE_BYTES = 64 * 1024;

/**
 * Whether files can be written beside `file`: a probe file is written, synced and removed.
 * Throws the file system's error (EACCES, EROFS, ENOSPC, …) when not.
 */
export async function probeWritable(file: string, open: OpenFile = defaultOpen, bytes = PROBE_BYTES): Promise<void> {
  const probe = path.join(path.dirname(file), `.${path.basename(file)}.probe.${process.pid}`);
  try {
    const fh = await open(probe, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC, 0o644);
    try {
      await fh.write(Buffer.alloc(bytes));
      await fh.datasync();
    } finally {
      await fh.close();
    }
  } finally {
    await fs.rm(probe, { force: true });
  }
}

/**
 * Records are numbered as appended (a ticket), so a write waits for its own record only. When a
 * batch cannot be written, the log is broken: the batch and everything appended after it is
 * dropped (its waiters reject), the segment is cut back to its last whole batch, and records
 * appended while broken are dropped at once, until `mend()` after a successful `probe()`.
 */
export class WriteAheadLog {
  private fh: { seq: number; handle: fs.FileHandle; size: number } | undefined;
  /** Bytes past `fh.size` may hold part of a failed batch: they are cut before the next write. */
  private torn = false;
  private pending: string[] = [];
  /** Ticket of the first pending record. */
  private pendingFrom = 1;
  private appended = 0;
  /** Highest ticket on disk; tickets up to it are on disk unless dropped. */
  private written = 0;
  /** Ranges of tickets never written, oldest first. */
  private dropped: Array<[number, number]> = [];
  private waiters: Array<{ ticket: number; resolve: () => void; reject: (e: Error) => void }> = [];
  private flushing: Promise<void> | undefined;
  /** Why the log cannot be written; undefined while it can. */
  broken: Error | undefined;
  /** Size of the batch that failed last: a probe writes at least as much. */
  private failedBytes = 0;

  constructor(
    private readonly file: string,
    private seq: number,
    private readonly open: OpenFile = defaultOpen,
  ) {}

  /** Queues a record; `flush(ticket)` makes it durable. Returns the record's ticket. */
  append(record: LogRecord): number {
    const ticket = ++this.appended;
    if (this.broken !== undefined) this.drop(ticket, ticket);
    else {
      if (this.pending.length === 0) this.pendingFrom = ticket;
      this.pending.push(encodeLine(record));
    }
    return ticket;
  }

  /**
   * Resolves once the record of this ticket (by default every record appended so far) is on disk;
   * rejects with the log's error when it was dropped.
   */
  flush(ticket = this.appended): Promise<void> {
    if (this.isDropped(ticket)) return Promise.reject(this.broken ?? new Error('the record was not written'));
    if (ticket <= this.written) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ ticket, resolve, reject }));
    this.flushing ??= this.drain();
    return done;
  }

  /** Resolves once nothing is pending or being written (written or dropped). */
  async idle(): Promise<void> {
    while (this.flushing !== undefined || this.pending.length > 0) await this.flush().catch(() => undefined);
  }

  /**
   * Tries to make a broken log writable: cuts a torn segment back, opens the current segment and
   * writes a probe file beside it. Throws (and stays broken) when the disk still refuses.
   */
  async probe(): Promise<void> {
    try {
      await this.cut();
      await this.handleFor(this.seq);
      await probeWritable(this.file, this.open, Math.max(PROBE_BYTES, this.failedBytes));
    } catch (e) {
      this.broken = e as Error;
      throw e;
    }
  }

  /** Takes writes again (after a successful probe). */
  mend(): void {
    this.broken = undefined;
  }

  /** Marks the log broken from the start (a full disk found before the first write). */
  breakWith(e: Error): void {
    this.broken = e;
  }

  /**
   * Bytes of this segment that hold whole batches when a failed batch may have left part of itself
   * after them (the cut did not succeed); undefined when the whole file counts.
   */
  validLength(seq: number): number | undefined {
    return this.torn && this.fh?.seq === seq ? this.fh.size : undefined;
  }

  private isDropped(ticket: number): boolean {
    return this.dropped.some(([from, to]) => ticket >= from && ticket <= to);
  }

  private drop(from: number, to: number): void {
    const last = this.dropped.at(-1);
    if (last !== undefined && last[1] + 1 >= from) last[1] = Math.max(last[1], to);
    else this.dropped.push([from, to]);
    // Older ranges only matter for waiters that came and went long ago.
    if (this.dropped.length > 64) this.dropped.shift();
  }

  private async handleFor(seq: number): Promise<{ handle: fs.FileHandle; size: number }> {
    if (this.fh?.seq === seq) return this.fh;
    const old = this.fh;
    // O_DSYNC: each write returns once on disk, without a separate fdatasync round-trip.
    const handle = await this.open(
      segmentPath(this.file, seq),
      fsc.O_WRONLY | fsc.O_CREAT | fsc.O_APPEND | fsc.O_DSYNC,
      0o644,
    );
    this.fh = { seq, handle, size: (await handle.stat()).size };
    this.torn = false;
    await old?.handle.close();
    return this.fh;
  }

  /** Cuts a failed batch's bytes off the segment, so the next batch follows a whole line. */
  private async cut(): Promise<void> {
    if (!this.torn || this.fh === undefined) return;
    await this.fh.handle.truncate(this.fh.size);
    await this.fh.handle.datasync();
    this.torn = false;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.join('');
        const from = this.pendingFrom;
        const to = this.appended;
        const seq = this.seq;
        this.pending = [];
        try {
          await this.cut();
          const fh = await this.handleFor(seq);
          const bytes = Buffer.from(batch);
          this.torn = true;
          for (let off = 0; off < bytes.length;) off += (await fh.handle.write(bytes, off)).bytesWritten;
          fh.size += bytes.length;
          this.torn = false;
          this.written = to;
          this.settle((w) => w.ticket <= to, undefined);
        } catch (e) {
          // Later records may depend on the lost ones (a POST on top of a PUT): they go too.
          this.broken = e as Error;
          this.failedBytes = Buffer.byteLength(batch);
          this.drop(from, this.appended);
          this.pending = [];
          await this.cut().catch(() => undefined);
          this.settle(() => true, e as Error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private settle(which: (w: { ticket: number }) => boolean, err: Error | undefined): void {
    const now = this.waiters.filter(which);
    this.waiters = this.waiters.filter((w) => !which(w));
    for (const w of now) {
      if (err === undefined) w.resolve();
      else w.reject(err);
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
    await this.idle();
    await this.fh?.handle.close();
    this.fh = undefined;
  }
}
