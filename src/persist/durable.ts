// Persistence around the in-memory store. Reference semantics by default: the whole store is
// written at most once per interval after a change, and on shutdown; restored on start. With
// --persistence.sync, every write is also appended to a write-ahead log and fsynced before its
// push is answered, so a crash loses no acknowledged push; snapshots then compact the log.
//
// When the disk refuses (full, read-only, no permission) the process goes on serving reads. In
// sync mode a change whose record cannot be written is taken back: the store is put back to what
// the snapshot and the log hold (the state a restart would find) before the change is answered
// with StoreUnavailableError, and later writes are refused before they apply until a probe finds
// the disk writable again (tried by a write, at most once a second). Snapshots that fail are
// retried every interval; the old file stays whole. Each change of state is logged once.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  StoreUnavailableError,
  type ChangeRecord,
  type GroupingLabels,
  type GroupRecord,
  type MetricStore,
  type StoreHealth,
  type TextBody,
  type WriteRequest,
  type WriteResult,
} from '../store/types.js';
import type { MetricFamily } from '../model.js';
import { ViewedStore } from '../store/view.js';
import type { LogRecord } from './codec.js';
import { freezeGroups, readSnapshot, SnapshotError, writeSnapshot, type FrozenSnapshot } from './snapshot.js';
import { importGoFile } from './gofile.js';
import {
  listSegments,
  probeWritable,
  readSegment,
  segmentPath,
  WalError,
  WriteAheadLog,
  type OpenFile,
} from './wal.js';

export interface PersistenceOptions {
  file: string;
  intervalMs: number;
  sync: boolean;
  /** Start with an empty store when the files are damaged, instead of refusing to start. */
  startEmptyOnError: boolean;
  log: Logger;
  /** How the write-ahead log opens files (a test's failing one; fs.open otherwise). */
  openFile?: OpenFile;
}

export class PersistenceError extends Error {}

/** What the snapshot and the log segments after it hold, read and checked. */
interface Persisted {
  groups: GroupRecord[];
  segments: Array<{ file: string; records: LogRecord[] }>;
  /** The first segment number after every one present. */
  next: number;
}

/**
 * The snapshot (or the groups imported from a Go Pushgateway's file in its place) and the log
 * after it. With `restore`, the snapshot's groups go to it as they are read instead of being held.
 */
async function readPersisted(
  file: string,
  validLength?: (seq: number) => number | undefined,
  imported?: GroupRecord[],
  restore?: (record: GroupRecord) => void,
): Promise<Persisted> {
  const groups: GroupRecord[] = [];
  const header = imported === undefined ? await readSnapshot(file, restore ?? ((g) => groups.push(g))) : undefined;
  const first = header?.walSegment ?? 0;
  const numbers = (await listSegments(file)).filter((s) => s >= first);
  const segments = [];
  for (const seq of numbers) {
    const f = segmentPath(file, seq);
    segments.push({ file: f, records: await readSegment(f, validLength?.(seq)) });
  }
  return { groups: imported ?? groups, segments, next: Math.max(first, ...numbers) + 1 };
}

/** Puts what was read in place; returns the number of log records replayed. */
function putPersisted(store: MetricStore, persisted: Persisted): number {
  for (const g of persisted.groups) store.restore(g);
  let replayed = 0;
  for (const { file, records: recs } of persisted.segments) {
    for (const rec of recs) {
      try {
        store.replay(rec);
      } catch (e) {
        throw new WalError(`write-ahead log ${file}: cannot replay record ${replayed + 1}: ${(e as Error).message}`);
      }
      replayed++;
    }
  }
  return replayed;
}

/** Errors of a directory that will not become writable by waiting: the start is refused. */
const LASTING = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOENT', 'ENOTDIR', 'EISDIR']);

/** Writes are refused for this long after a failed probe of the disk. */
const PROBE_INTERVAL_MS = 1000;

export class DurableStore extends ViewedStore implements MetricStore {
  private wal: WriteAheadLog | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Groups imported from a Go Pushgateway's file, which stands for our snapshot until we write one. */
  private goImport: GroupRecord[] | undefined;
  private lastPersist = Date.now();
  /** Snapshots and reloads, one at a time (a snapshot drops the segments a reload reads). */
  private exclusive: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Log tickets of writes, by the grouping-labels object each write passed down (see write()). */
  private readonly tickets = new WeakMap<object, number>();
  /** Set while the disk's state is put back in place: those changes are not logged again. */
  private reloading = false;
  /** The store holds changes the log lost: it must be put back before writes are taken again. */
  private diverged = false;
  private reloadsAsked = 0;
  private reloadsDone = 0;
  private reload: Promise<void> | undefined;
  /** While a snapshot is cut in sync mode, writes wait here before they apply. */
  private hold: Promise<void> | undefined;
  private recovering: Promise<void> | undefined;
  private lastProbe = 0;
  /** A flush of records no request waits for (removals by expiry) is due at the next turn. */
  private flushDue = false;
  /** Why the log or the snapshot cannot be written, as logged; undefined while they can. */
  private logDown: string | undefined;
  private snapshotDown: string | undefined;

  private constructor(
    inner: MetricStore,
    private readonly opts: PersistenceOptions,
  ) {
    super(inner);
  }

  /** Restores the store from the snapshot and any log segments, then persists from there on. */
  static async open(inner: MetricStore, opts: PersistenceOptions): Promise<DurableStore> {
    const store = new DurableStore(inner, opts);
    let nextSegment = 1;
    let imported: GroupRecord[] | undefined;
    try {
      const started = Date.now();
      // A file the Go Pushgateway wrote is imported once; the next snapshot replaces it with ours.
      imported = await importGoFile(opts.file, opts.log);
      store.goImport = imported;
      // Our snapshot's groups are restored as they are read (on damage, what was restored is wiped below).
      const persisted = await readPersisted(opts.file, undefined, imported, (g) => inner.restore(g));
      const replayed = putPersisted(inner, persisted);
      nextSegment = persisted.next;
      if (inner.groupCount > 0 || replayed > 0) {
        opts.log.info(
          { file: opts.file, groups: inner.groupCount, series: inner.seriesCount, replayed, ms: Date.now() - started },
          'metrics restored',
        );
      }
    } catch (e) {
      if (!(e instanceof SnapshotError || e instanceof WalError)) throw e;
      if (!opts.startEmptyOnError) {
        throw new PersistenceError(
          `${e.message}; refusing to start (use --persistence.start-empty-on-error to start with an empty store)`,
        );
      }
      opts.log.error({ err: e.message }, 'persistence files are damaged; starting with an empty store as asked');
      await inner.wipe();
      const stamp = Date.now();
      await fs.rename(opts.file, `${opts.file}.damaged.${stamp}`).catch(() => undefined);
      for (const seq of await listSegments(opts.file)) {
        await fs.rename(segmentPath(opts.file, seq), `${segmentPath(opts.file, seq)}.damaged.${stamp}`);
      }
    }
    if (opts.sync) store.wal = new WriteAheadLog(opts.file, nextSegment, opts.openFile);
    // A directory that cannot be written stops the start now rather than failing every push or
    // snapshot later; a full disk does not (space may come back): writes are refused until then.
    try {
      await probeWritable(opts.file, opts.openFile);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (LASTING.has(err.code ?? '')) {
        throw new PersistenceError(
          `cannot write in ${path.dirname(opts.file)}, the directory of --persistence.file: ${err.message}; ` +
            'refusing to start',
        );
      }
      store.wal?.breakWith(err);
      store.lastProbe = Date.now();
      store.down(opts.sync ? 'log' : 'snapshot', err);
    }
    // Every change from here on is logged (sync) and makes a snapshot due, in the order applied.
    inner.subscribe((change) => {
      if (change.record !== undefined && store.wal !== undefined && !store.reloading) {
        const ticket = store.wal.append(change.record);
        if ('write' in change.record) store.tickets.set(change.record.write.labels, ticket);
        else store.flushSoon();
      }
      store.changed();
    });
    // The file is the Go Pushgateway's until a snapshot of ours replaces it: schedule one as after a change.
    if (imported !== undefined) store.changed();
    // Only now, with every record replayed and the log taking the removals: see MetricStore.expireOverdue.
    const overdue = await inner.expireOverdue();
    if (overdue > 0) opts.log.info({ groups: overdue }, 'groups whose TTL ran out while the gateway was down removed');
    return store;
  }

  health(): StoreHealth {
    return this.inner.health();
  }
  restore(record: GroupRecord): void {
    this.inner.restore(record);
  }
  replay(record: ChangeRecord): void {
    this.inner.replay(record);
  }
  /** Removals by expiry are logged as the change feed announces them; a lost one is found due again at start. */
  expireOverdue(): Promise<number> {
    return this.inner.expireOverdue();
  }

  async write(req: WriteRequest): Promise<WriteResult> {
    if (this.wal === undefined) return this.inner.write(req);
    // A labels object of this write's own: the store hands it to the change feed with the
    // record, which gives the record's ticket, so the write waits for (and fails with) its own
    // record only, not one appended after it.
    const labels = { ...req.labels };
    const result = await this.inner.write({ ...req, labels, families: this.admit(req.families) });
    await this.durable(this.tickets.get(labels));
    return result;
  }

  async delete(labels: GroupingLabels): Promise<void> {
    if (this.wal?.broken !== undefined) await this.recover();
    await this.inner.delete(labels);
    await this.durable();
  }

  async wipe(): Promise<void> {
    if (this.wal?.broken !== undefined) await this.recover();
    await this.inner.wipe();
    await this.durable();
  }

  /** The pushed families, once they are there and the log can take the write (else it is refused). */
  private async admit(
    families: MetricFamily[] | Promise<MetricFamily[] | TextBody>,
  ): Promise<MetricFamily[] | TextBody> {
    const resolved = await families;
    while (this.hold !== undefined) await this.hold;
    if (this.wal?.broken !== undefined) await this.recover();
    return resolved;
  }

  /**
   * Resolves once the change of this ticket (all changes applied so far without one) is on disk.
   * If it cannot be, the store is put back to what the disk holds before this rejects.
   */
  private async durable(ticket?: number): Promise<void> {
    if (this.wal === undefined) return;
    try {
      await this.wal.flush(ticket);
      // Recovered once a write reached the disk again (a probe alone may be too small to tell).
      this.up('log');
    } catch (e) {
      this.down('log', e as Error);
      this.diverged = true;
      await this.putBack().catch((err: unknown) =>
        this.opts.log.error(
          { err: String(err) },
          'cannot read the persisted metrics back; the store may show refused changes',
        ),
      );
      throw this.unavailable(e as Error);
    }
  }

  /**
   * Writes the log in the background, on the next turn (one flush for all removals of a turn):
   * removals by expiry have no request that waits for them, and would otherwise stay queued
   * until the next push flushes the log. When the disk refuses, the store is put back to what the
   * disk holds before writes are taken again, as after a failed write (not here: the group, due
   * again, would be removed and put back at every turn of the timer).
   */
  private flushSoon(): void {
    if (this.flushDue) return;
    this.flushDue = true;
    setImmediate(() => {
      this.flushDue = false;
      this.wal?.flush().then(
        () => this.up('log'),
        (e: unknown) => {
          this.down('log', e as Error);
          this.diverged = true;
        },
      );
    });
  }

  private unavailable(e: Error): StoreUnavailableError {
    return new StoreUnavailableError(
      `the change cannot be made durable (${e.message}), so it was not applied; try again once the disk takes writes`,
    );
  }

  /**
   * Puts the store back to what the snapshot and the log hold, once for every caller that asked
   * before its reading began: changes applied after a reload's reading started need another.
   */
  private async putBack(): Promise<void> {
    const ticket = ++this.reloadsAsked;
    while (this.reloadsDone < ticket) {
      this.reload ??= this.reloadOnce().finally(() => (this.reload = undefined));
      await this.reload;
    }
  }

  private reloadOnce(): Promise<void> {
    return this.oneAtATime(async () => {
      const covers = this.reloadsAsked;
      const wal = this.wal!;
      const persisted = await readPersisted(this.opts.file, (seq) => wal.validLength(seq), this.goImport);
      // From here to the end without a turn, so no read sees a half-restored store.
      this.reloading = true;
      try {
        const wiped = this.inner.wipe();
        putPersisted(this.inner, persisted);
        await wiped;
      } finally {
        this.reloading = false;
      }
      this.reloadsDone = covers;
      if (this.reloadsDone === this.reloadsAsked) this.diverged = false;
    });
  }

  /**
   * Whether the log can be written again: at most one probe a second, shared by the writes that
   * ask meanwhile; rejects with StoreUnavailableError while the disk still refuses.
   */
  private recover(): Promise<void> {
    const wal = this.wal!;
    if (wal.broken === undefined) return Promise.resolve();
    if (this.recovering !== undefined) return this.recovering;
    if (Date.now() - this.lastProbe < PROBE_INTERVAL_MS) return Promise.reject(this.unavailable(wal.broken));
    this.lastProbe = Date.now();
    this.recovering = (async () => {
      try {
        if (this.diverged) await this.putBack();
        await wal.probe();
      } catch (e) {
        throw this.unavailable(e as Error);
      } finally {
        this.recovering = undefined;
      }
      // A change that failed during the probe left the store ahead of the disk again.
      if (this.diverged) throw this.unavailable(wal.broken ?? new Error('a change was lost'));
      wal.mend();
    })();
    return this.recovering;
  }

  /** Logs the first failure of the log or the snapshot, not every one after it. */
  private down(what: 'log' | 'snapshot', e: Error): void {
    const key = what === 'log' ? 'logDown' : 'snapshotDown';
    if (this[key] !== undefined) return;
    this[key] = e.message;
    this.opts.log.error(
      { file: this.opts.file, err: e.message },
      what === 'log'
        ? 'cannot write the write-ahead log; pushes are refused (503) until it can, reads go on'
        : 'cannot write the persistence file; serving on, retrying every interval',
    );
  }

  private up(what: 'log' | 'snapshot'): void {
    const key = what === 'log' ? 'logDown' : 'snapshotDown';
    if (this[key] === undefined) return;
    this[key] = undefined;
    this.opts.log.info({ file: this.opts.file, what }, 'persistence recovered');
  }

  private oneAtATime<T>(task: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(task);
    this.exclusive = run.catch(() => undefined);
    return run;
  }

  private changed(): void {
    if (this.timer !== undefined || this.closed) return;
    const delay = Math.max(0, this.lastPersist + this.opts.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.persist().then(
        () => this.up('snapshot'),
        (e: unknown) => {
          this.down('snapshot', e as Error);
          // Tried again an interval later even without another change: the store is not on disk.
          this.changed();
        },
      );
    }, delay);
    this.timer.unref();
  }

  /**
   * Writes a snapshot of the store as it is now; in sync mode, drops the log it replaces. In sync
   * mode the snapshot holds only changes already on disk: writes wait while the log catches up,
   * and none is taken while the log is broken (the snapshot and the log hold the same then).
   */
  persist(): Promise<void> {
    return this.oneAtATime(async () => {
      let segment = 0;
      let snapshot: FrozenSnapshot;
      if (this.wal !== undefined) {
        let release!: () => void;
        this.hold = new Promise((resolve) => (release = resolve));
        try {
          await this.wal.idle();
          if (this.wal.broken !== undefined || this.diverged) return;
          segment = this.wal.rotate();
          snapshot = freezeGroups(this.inner.groups());
        } finally {
          this.hold = undefined;
          release();
        }
      } else snapshot = freezeGroups(this.inner.groups());
      this.lastPersist = Date.now();
      await writeSnapshot(this.opts.file, snapshot, segment);
      this.goImport = undefined;
      for (const seq of await listSegments(this.opts.file)) {
        if (seq < segment) await fs.rm(segmentPath(this.opts.file, seq), { force: true });
      }
      this.opts.log.info({ file: this.opts.file }, 'metrics persisted');
    });
  }

  /** Final snapshot before exit. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.wal?.idle();
    await this.persist();
    await this.wal?.close();
    await this.inner.close();
  }
}
