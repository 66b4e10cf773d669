// Persistence around the in-memory store. Reference semantics by default: the whole store is
// written at most once per interval after a change, and on shutdown; restored on start. With
// --persistence.sync, every write is also appended to a write-ahead log and fsynced before its
// push is answered, so a crash loses no acknowledged push; snapshots then compact the log.
import { promises as fs } from 'node:fs';
import type { Logger } from 'pino';
import type {
  ChangeRecord,
  Group,
  GroupingLabels,
  GroupRecord,
  MetricStore,
  ReservedFamily,
  StoreChange,
  StoreHealth,
  WriteRequest,
  WriteResult,
} from '../store/types.js';
import { freezeGroups, readSnapshot, SnapshotError, writeSnapshot } from './snapshot.js';
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

export class DurableStore implements MetricStore {
  private wal: WriteAheadLog | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastPersist = Date.now();
  private persisting: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly inner: MetricStore,
    private readonly opts: PersistenceOptions,
  ) {}

  /** Restores the store from the snapshot and any log segments, then persists from there on. */
  static async open(inner: MetricStore, opts: PersistenceOptions): Promise<DurableStore> {
    const store = new DurableStore(inner, opts);
    let nextSegment = 1;
    try {
      const started = Date.now();
      // Each group is restored as it is read; on damage, what was restored is wiped below.
      const snap = await readSnapshot(opts.file, (g) => inner.restore(g));
      const segments = (await listSegments(opts.file)).filter((s) => s >= (snap?.walSegment ?? 0));
      let replayed = 0;
      for (const seq of segments) {
        for (const rec of await readSegment(segmentPath(opts.file, seq))) {
          try {
            inner.replay(rec);
          } catch (e) {
            throw new WalError(
              `write-ahead log ${segmentPath(opts.file, seq)}: cannot replay record ${replayed + 1}: ${(e as Error).message}`,
            );
          }
          replayed++;
        }
      }
      nextSegment = Math.max(snap?.walSegment ?? 0, ...segments) + 1;
      if (snap !== undefined || replayed > 0) {
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
    if (opts.sync) store.wal = new WriteAheadLog(opts.file, nextSegment);
    // Every change from here on is logged (sync) and makes a snapshot due, in the order applied.
    inner.subscribe((change) => {
      if (change.record !== undefined) store.wal?.append(change.record);
      store.changed();
    });
    return store;
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
  group(id: string): Group | undefined {
    return this.inner.group(id);
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
  get version(): number {
    return this.inner.version;
  }
  subscribe(listener: (change: StoreChange) => void): () => void {
    return this.inner.subscribe(listener);
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

  async write(req: WriteRequest): Promise<WriteResult> {
    const result = await this.inner.write(req);
    await this.durable();
    return result;
  }

  async delete(labels: GroupingLabels): Promise<void> {
    await this.inner.delete(labels);
    await this.durable();
  }

  async wipe(): Promise<void> {
    await this.inner.wipe();
    await this.durable();
  }

  /** Resolves once every change applied so far is on disk (at once without the log). */
  private durable(): Promise<void> {
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
      const snapshot = freezeGroups(this.inner.groups());
      this.lastPersist = Date.now();
      await writeSnapshot(this.opts.file, snapshot, segment);
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
    await this.inner.close();
  }
}
