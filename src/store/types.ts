// The store's narrow interface: everything above it (HTTP, rendering, persistence) sees only this,
// so another backend (a persistent log, a shared store for replicas) can take its place.
import type { MetricFamily, MetricType } from '../model.js';

/** Grouping labels of a group, `job` included, as given in the push path. */
export type GroupingLabels = Readonly<Record<string, string>>;

/** A family as stored in a group, with the time of the write that put it there. */
export interface StoredFamily {
  readonly name: string;
  readonly help: string | undefined;
  readonly type: MetricType;
  readonly seriesCount: number;
  readonly timestampMs: number;
  /** The family. Where the store keeps it packed, it is rebuilt from that on every read. */
  readonly family: MetricFamily;
  /**
   * Where the store keeps the family packed (see store/compact.ts): its series as scrape lines in
   * the reference's order (a latin1 string of the UTF-8 bytes), and their push order when that
   * differs.
   */
  readonly packed: { readonly text: string; readonly order: string | undefined } | undefined;
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
}

export interface WriteRequest {
  labels: GroupingLabels;
  families: MetricFamily[];
  /** PUT replaces the whole group; POST only the families it names. */
  replace: boolean;
  /** False with --push.disable-consistency-check. */
  check: boolean;
  /** Wall-clock time of the push, in milliseconds with a fraction. */
  timestampMs: number;
}

export type WriteResult = { ok: true } | { ok: false; error: string };

/** What a change touched: the group, and the names of the families that changed in it. */
export interface StoreChange {
  groupId: string;
  families: readonly string[];
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

export interface MetricStore {
  /** Applies a push, or records its failure; the result says which. */
  write(req: WriteRequest): WriteResult;
  /** Removes a group; a missing group is no error. */
  delete(labels: GroupingLabels): void;
  wipe(): void;
  groups(): Iterable<Group>;
  readonly groupCount: number;
  readonly seriesCount: number;
  /** Names of all stored families, in no particular order. */
  familyNames(): Iterable<string>;
  /** The groups holding a family of this name. */
  familyGroups(name: string): Iterable<Group>;
  /** Families the gateway exposes itself, with the help the scrape shows for them. */
  reserved(name: string): ReservedFamily | undefined;
  subscribe(listener: (change: StoreChange) => void): () => void;
  /** Resolves when every write so far is as durable as the store promises (at once for memory). */
  durable(): Promise<void>;
  /** Persists what must survive the process, before exit. */
  close(): Promise<void>;
}
