// Persistence around the in-memory store. Reference semantics by default: the whole store is
// written at most once per interval after a change, and on shutdown; restored on start. With
// --persistence.sync, every write is also appended to a write-ahead log and fsynced before its
// push is answered, so a crash loses no acknowledged push; snapshots then compact the log.
import { promises as fs } from 'node:fs';
import type { Logger } from 'pino';
import type { MemoryStore } from '../store/memory.js';
import type { Group, GroupingLabels, MetricStore, ReservedFamily, StoreChange, WriteRequest, WriteResult } from '../store/types.js';
import type { FamilyRecord, GroupRecord, LogRecord, PackedRecord } from './codec.js';
import { encodeSnapshot, readSnapshot, SnapshotError, writeFileAtomically } from './snapshot.js';
import { listSegments, readSegment, segmentPath, WalError, WriteAheadLog } from './wal.js';

export interface PersistenceOptions {
  file: string;
  intervalMs: number;
  sync: boolean;
  /** Start with an empty store when the files are damaged, instead of refusing to start. */
  startEmptyOnError: boolean;
  log: Logger;
}

export class PersistenceError extends Error {}

/** Groups as records, each rebuilt only when its turn comes to be encoded. */
function* records(groups: Iterable<Group>): Iterable<GroupRecord> {
  for (const g of groups) {
    const families = [...g.families.values()].map((sf): FamilyRecord => {
      const { packed, timestampMs } = sf;
      if (packed === undefined) return { family: sf.family, timestampMs };
      const rec: PackedRecord = { name: sf.name, type: sf.type, series: sf.seriesCount, text: packed.text };
      if (sf.help !== undefined) rec.help = sf.help;
      if (packed.order !== undefined) rec.order = packed.order;
      return { packed: rec, timestampMs };
    });
    yield { labels: g.labels, families };
  }
}

export class DurableStore implements MetricStore {
  private wal: WriteAheadLog | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastPersist = Date.now();
  private persisting: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly inner: MemoryStore,
    private readonly opts: PersistenceOptions,
  ) {}

  /** Restores the store from the snapshot and any log segments, then persists from there on. */
  static async open(inner: MemoryStore, opts: PersistenceOptions): Promise<DurableStore> {
    const store = new DurableStore(inner, opts);
    let nextSegment = 1;
    try {
      const started = Date.now();
      const snap = await readSnapshot(opts.file);
      for (const g of snap?.groups ?? []) inner.load(g);
      const segments = (await listSegments(opts.file)).filter((s) => s >= (snap?.header.walSegment ?? 0));
      let replayed = 0;
      for (const seq of segments) {
        for (const rec of await readSegment(segmentPath(opts.file, seq))) {
          store.replay(rec);
          replayed++;
        }
      }
      nextSegment = Math.max(snap?.header.walSegment ?? 0, ...segments) + 1;
      if (snap !== undefined || replayed > 0) {
        opts.log.info({ file: opts.file, groups: inner.groupCount, series: inner.seriesCount, replayed, ms: Date.now() - started }, 'metrics restored');
      }
    } catch (e) {
      if (!(e instanceof SnapshotError || e instanceof WalError)) throw e;
      if (!opts.startEmptyOnError) {
        throw new PersistenceError(`${e.message}; refusing to start (use --persistence.start-empty-on-error to start with an empty store)`);
      }
      opts.log.error({ err: e.message }, 'persistence files are damaged; starting with an empty store as asked');
      inner.wipe();
      const stamp = Date.now();
      await fs.rename(opts.file, `${opts.file}.damaged.${stamp}`).catch(() => undefined);
      for (const seq of await listSegments(opts.file)) {
        await fs.rename(segmentPath(opts.file, seq), `${segmentPath(opts.file, seq)}.damaged.${stamp}`);
      }
    }
    if (opts.sync) store.wal = new WriteAheadLog(opts.file, nextSegment);
    return store;
  }

  private replay(rec: LogRecord): void {
    if ('write' in rec) {
      if (rec.ok) this.inner.write({ ...rec.write, check: false });
      else this.inner.markFailed(rec.write.labels, rec.write.timestampMs);
    } else if ('delete' in rec) this.inner.delete(rec.delete);
    else if ('wipe' in rec) this.inner.wipe();
    // readSegment refuses such records; should one get here all the same, it must not wipe.
    else throw new WalError(`unknown write-ahead log record ${JSON.stringify(rec).slice(0, 100)}`);
  }

  get groupCount(): number {
    return this.inner.groupCount;
  }
  get seriesCount(): number {
    return this.inner.seriesCount;
  }
  groups(): Iterable<Group> {
    return this.inner.groups();
  }
  familyNames(): Iterable<string> {
    return this.inner.familyNames();
  }
  familyGroups(name: string): Iterable<Group> {
    return this.inner.familyGroups(name);
  }
  reserved(name: string): ReservedFamily | undefined {
    return this.inner.reserved(name);
  }
  subscribe(listener: (change: StoreChange) => void): () => void {
    return this.inner.subscribe(listener);
  }

  write(req: WriteRequest): WriteResult {
    const result = this.inner.write(req);
    this.wal?.append({ write: { ...req, families: result.ok ? req.families : [] }, ok: result.ok });
    this.changed();
    return result;
  }

  delete(labels: GroupingLabels): void {
    this.inner.delete(labels);
    this.wal?.append({ delete: labels });
    this.changed();
  }

  wipe(): void {
    this.inner.wipe();
    this.wal?.append({ wipe: true });
    this.changed();
  }

  durable(): Promise<void> {
    return this.wal?.flush() ?? Promise.resolve();
  }

  private changed(): void {
    if (this.timer !== undefined || this.closed) return;
    const delay = Math.max(0, this.lastPersist + this.opts.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.persist().catch((e: unknown) => this.opts.log.error({ err: String(e) }, 'error persisting metrics'));
    }, delay);
    this.timer.unref();
  }

  /** Writes a snapshot of the store as it is now; in sync mode, drops the log it replaces. */
  persist(): Promise<void> {
    const run = async () => {
      await this.persisting;
      const segment = this.wal?.rotate() ?? 0;
      const lines = encodeSnapshot(records(this.inner.groups()), segment);
      this.lastPersist = Date.now();
      await writeFileAtomically(this.opts.file, lines);
      for (const seq of await listSegments(this.opts.file)) {
        if (seq < segment) await fs.rm(segmentPath(this.opts.file, seq), { force: true });
      }
      this.opts.log.info({ file: this.opts.file }, 'metrics persisted');
    };
    const p = run();
    this.persisting = p.catch(() => undefined);
    return p;
  }

  /** Final snapshot before exit. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.wal?.flush();
    await this.persist();
    await this.wal?.close();
  }
}
