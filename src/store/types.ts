// The store contract. Everything above the store (HTTP, rendering, persistence, a replica's feed)
// sees only this, so another backend (a shared store for replicas) can take the memory store's
// place; test/store/contract.ts is the suite every implementation runs.
//
// Ordering: writes and deletes of one group are applied in the order of the calls, whatever
// order their inputs resolve in (a push's body may still be arriving when it is called); writes
// to different groups are independent. A wipe applies at its call.
// Verdicts: write/delete/wipe resolve once the change is applied and as durable as the store
// promises (at once for memory; on disk with a write-ahead log); a write resolves with the
// consistency verdict, and a failed write stamps the group's push_failure_time_seconds. A write
// refused by the store's limits (`refused`: too many groups or series, memory nearly full)
// changes nothing and is not announced; deletes and writes that add nothing are never refused.
// Reads are synchronous, over the store's local view, and see every change that resolved.
// Mutation: callers never mutate what reads return; `unpack()` builds a new family each call,
// which the caller owns. The families given to `write` belong to the store from then on.
// Change feed: every applied change is announced once, in order, numbered by `version` (one more
// for each change), so a consumer that missed one can tell and read the store again.
// Health: `health()` says whether the store can take writes and serve reads now.
// Unavailable: a store that cannot make a change as durable as it promises (a full disk, a
// directory it may not write) rejects it with StoreUnavailableError and does not apply it: reads
// do not show it, and it is not there after a restart. Reads go on; it stays healthy and ready
// (it serves what it holds), and takes writes again by itself once it can. (A replica store
// reports itself not ready while its shared backend is out of reach: docs/replicas.md.)
import type { MetricFamily, MetricType } from '../model.js';

/** The two families every group has, set by the store (never by a push). */
export const PUSH_TIME = 'push_time_seconds';
export const PUSH_FAILURE_TIME = 'push_failure_time_seconds';
export type TimeName = typeof PUSH_TIME | typeof PUSH_FAILURE_TIME;

export function isTimeName(name: string): name is TimeName {
  return name === PUSH_TIME || name === PUSH_FAILURE_TIME;
}

/** Grouping labels of a group, `job` included, as given in the push path. */
export type GroupingLabels = Readonly<Record<string, string>>;

/** A family as stored in a group, with the time of the write that put it there. */
export interface StoredFamily {
  readonly name: string;
  readonly help: string | undefined;
  readonly type: MetricType;
  readonly seriesCount: number;
  readonly timestampMs: number;
  /**
   * The family's series as the text format shows them, sorted as the reference sorts series, as
   * a byte string (a latin1 string holding the UTF-8 bytes). The same string for the family's
   * life: callers may key caches on it.
   */
  lines(): string;
  /** The family as objects, built anew on every call (call it once and keep the result). */
  unpack(): MetricFamily;
  /** The family in its portable form, for snapshots. */
  record(): FamilyRecord;
}

export interface Group {
  /** Canonical key: label names sorted, names and values joined by \xff. */
  readonly id: string;
  readonly labels: GroupingLabels;
  /** Every family of the group, push_time_seconds and push_failure_time_seconds included. */
  readonly families: ReadonlyMap<string, StoredFamily>;
  /** Values of the group's push_time_seconds and push_failure_time_seconds (0 without them). */
  readonly pushTimeSeconds: number;
  readonly failureTimeSeconds: number;
  readonly lastPushSuccess: boolean;
  /** The TTL the group's pushes set (Pushgateway-TTL; 0: never expires); undefined: the default TTL. */
  readonly ttlMs?: number;
  /**
   * Why the group's last push failed, while it is the last one; undefined after a success, or
   * when the failure was restored from disk (only its time is kept there).
   */
  readonly lastFailureReason?: string;
}

/**
 * A text-format push body, arrived but not parsed: `parse()` gives its families, or rejects as
 * the push must. A store may instead store it as its group's last push with new values
 * (store/repush.ts), which gives what parsing it would.
 */
export interface TextBody {
  readonly text: Buffer;
  parse(): Promise<MetricFamily[]>;
}

/** The families of a write's `families` once it resolved. */
export function familiesOf(resolved: MetricFamily[] | TextBody): MetricFamily[] | Promise<MetricFamily[]> {
  return Array.isArray(resolved) ? resolved : resolved.parse();
}

export interface WriteRequest {
  labels: GroupingLabels;
  /**
   * The pushed families, or a promise of them or of a text body (still arriving): the write
   * takes its place in the group's order at the call and applies once they are there. If the
   * promise (or the body's parse) rejects, the write rejects with that error and nothing changes.
   */
  families: MetricFamily[] | Promise<MetricFamily[] | TextBody>;
  /** PUT replaces the whole group; POST only the families it names. */
  replace: boolean;
  /** False with --push.disable-consistency-check. */
  check: boolean;
  /** Wall-clock time of the push in milliseconds (with a fraction); the time it applies when absent. */
  timestampMs?: number;
  /** The group's TTL from this push on, if the push sets one (0: never expires); see docs/expiry.md. */
  ttlMs?: number;
}

/** A write as it was applied, with everything resolved: what a log or a replica replays. */
export interface AppliedWrite {
  labels: GroupingLabels;
  families: MetricFamily[];
  replace: boolean;
  check: boolean;
  timestampMs: number;
  ttlMs?: number;
}

/** Why the store's limits refused a write (src/store/limits.ts). */
export type RefusalReason = 'groups' | 'series' | 'memory';

export type WriteResult = { ok: true } | { ok: false; error: string; refused?: RefusalReason };

/** One applied change: a write (and whether it passed), a delete, a wipe. */
export type ChangeRecord = { write: AppliedWrite; ok: boolean } | { delete: GroupingLabels } | { wipe: true };

/** What a change touched: the group, the names of the families that changed in it, the change. */
export interface StoreChange {
  /** The store's version after this change. */
  version: number;
  groupId: string;
  families: readonly string[];
  /** The change, to be replayed elsewhere; absent for a group put in place by `restore`. */
  record: ChangeRecord | undefined;
}

/** A family in its portable form: packed as its scrape lines (see store/compact.ts), persisted as kept. */
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
export type FamilyRecord =
  { family: MetricFamily; timestampMs: number } | { packed: PackedRecord; timestampMs: number };

/** A group as persisted: its grouping labels and its families with their write times. */
export interface GroupRecord {
  labels: GroupingLabels;
  families: FamilyRecord[];
  /** The TTL a push set for the group (absent: the default). */
  ttlMs?: number;
}

/** Group expiry as the store runs it (docs/expiry.md). */
export interface ExpiryState {
  /** --push.default-ttl in milliseconds (0: never). */
  readonly defaultTtlMs: number;
  /** Groups removed at their deadline so far (a shared store counts one when its commit is answered). */
  readonly expired: number;
  /** Groups that have a deadline now. */
  readonly scheduled: number;
  /** Wall-clock milliseconds at which the group expires; undefined if it never does. */
  deadline(group: Group): number | undefined;
}

/** A family the gateway exposes itself; pushed families of the same name must agree with it. */
export interface ReservedFamily {
  type: MetricType;
  help: string;
  /**
   * The family had series when the gateway started: the reference then shows its own HELP for
   * pushed families of this name. Otherwise a pushed family must bring the same HELP.
   */
  forceHelp: boolean;
}

export interface StoreHealth {
  /** The store answers reads and takes writes. */
  healthy: boolean;
  /** The store holds what it should (restored, caught up) and may be served. */
  ready: boolean;
  /** Why not, when either is false. */
  reason?: string;
}

export interface MetricStore {
  /** Applies a push in its group's order, or records its failure; resolves with the verdict. */
  write(req: WriteRequest): Promise<WriteResult>;
  /** Removes a group in its order; a missing group is no error. */
  delete(labels: GroupingLabels): Promise<void>;
  /** Removes every group. */
  wipe(): Promise<void>;
  /**
   * Expiry: a group whose TTL has passed since its last successful push is removed in its order,
   * as `delete` removes it (announced as a delete), within a second of its deadline; a write
   * that finds its group past its deadline applies after that removal. Groups put in place by
   * `restore` and `replay` only wait until this is called (or a first write): a log replayed
   * half-way must not lose a group that a later record pushes to again. Resolves with the number
   * of groups removed now, those whose deadline passed while the gateway was down.
   */
  expireOverdue(): Promise<number>;
  readonly expiry: ExpiryState;
  groups(): Iterable<Group>;
  /** The group of this canonical key (Group.id), if stored. */
  group(id: string): Group | undefined;
  readonly groupCount: number;
  readonly seriesCount: number;
  /** Names of all stored families, in no particular order. */
  familyNames(): Iterable<string>;
  /** The groups holding a family of this name. */
  familyGroups(name: string): Iterable<Group>;
  /** Families the gateway exposes itself, with the help the scrape shows for them. */
  reserved(name: string): ReservedFamily | undefined;
  /** Number of changes applied so far (the version of the last change announced). */
  readonly version: number;
  subscribe(listener: (change: StoreChange) => void): () => void;
  health(): StoreHealth;
  /** Puts a persisted group in place as it was, without checks (a restore). */
  restore(record: GroupRecord): void;
  /** Applies a recorded change again, without checks (a log replay). */
  replay(record: ChangeRecord): void;
  /** Persists what must survive the process, before exit. */
  close(): Promise<void>;
}

/** A change refused because the store cannot make it durable now; it was not applied. */
export class StoreUnavailableError extends Error {}
