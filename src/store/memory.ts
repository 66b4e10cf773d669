// The in-memory store: groups, their families and the consistency index. The only mutable state
// of the gateway; every change goes through write/delete/wipe and is announced to subscribers.
import type { Metric, MetricFamily } from '../model.js';
import { ConsistencyIndex, seriesKey, type ConsistencyOptions, type Shape } from './consistency.js';
import { restorePacked, storeFamily } from './family.js';
import { groupId, groupSeriesLabels, groupShape, sanitizeFamily } from './grouping.js';
import { byteString, seriesIdText, seriesText } from '../expose/text.js';
import type { GroupRecord } from '../persist/codec.js';
import type {
  Group,
  GroupingLabels,
  MetricStore,
  ReservedFamily,
  StoreChange,
  StoredFamily,
  WriteRequest,
  WriteResult,
} from './types.js';

export const PUSH_TIME = 'push_time_seconds';
export const PUSH_FAILURE_TIME = 'push_failure_time_seconds';
const PUSH_TIME_HELP = 'Last Unix time when changing this group in the Pushgateway succeeded.';
const PUSH_FAILURE_TIME_HELP = 'Last Unix time when changing this group in the Pushgateway failed.';

class StoredGroup implements Group {
  readonly families = new Map<string, StoredFamily>();
  /** The values of push_time_seconds and push_failure_time_seconds, kept apart from their families. */
  pushTimeSeconds = 0;
  failureTimeSeconds = 0;
  constructor(
    readonly id: string,
    readonly labels: GroupingLabels,
    readonly shape: Shape,
  ) {}

  get lastPushSuccess(): boolean {
    return this.pushTimeSeconds >= this.failureTimeSeconds;
  }
}

/**
 * push_time_seconds or push_failure_time_seconds of a group, kept as nothing but the group's
 * number (two of them in every group: their own objects and text cost ~370 bytes a group).
 */
class TimeFamily implements StoredFamily {
  readonly type = 'gauge';
  readonly seriesCount = 1;
  readonly packed = undefined;
  constructor(
    private readonly group: StoredGroup,
    readonly name: typeof PUSH_TIME | typeof PUSH_FAILURE_TIME,
    readonly timestampMs: number,
  ) {}

  get help(): string {
    return this.name === PUSH_TIME ? PUSH_TIME_HELP : PUSH_FAILURE_TIME_HELP;
  }
  get family(): MetricFamily {
    const seconds = this.name === PUSH_TIME ? this.group.pushTimeSeconds : this.group.failureTimeSeconds;
    return timeFamily(this.name, this.group.labels, seconds);
  }
  get text(): string {
    const mf = this.family;
    return byteString(seriesText(mf.name, mf.type, mf.metrics[0]));
  }
}

/** Whether a family is exactly what timeFamily makes for this group (a restored one need not be). */
function isTimeFamily(mf: MetricFamily, group: StoredGroup): mf is MetricFamily & { name: typeof PUSH_TIME | typeof PUSH_FAILURE_TIME } {
  if (mf.name !== PUSH_TIME && mf.name !== PUSH_FAILURE_TIME) return false;
  const m = mf.metrics[0];
  if (mf.metrics.length !== 1 || m.value === undefined || !Number.isFinite(m.value)) return false;
  const model = timeFamily(mf.name, group.labels, m.value);
  return mf.type === model.type && mf.help === model.help && Object.keys(mf).length === Object.keys(model).length && Object.keys(m).length === 2 && seriesKey(m) === seriesKey(model.metrics[0]);
}

function timeFamily(name: string, labels: GroupingLabels, seconds: number): MetricFamily {
  return {
    name,
    help: name === PUSH_TIME ? PUSH_TIME_HELP : PUSH_FAILURE_TIME_HELP,
    type: 'gauge',
    metrics: [{ labels: groupSeriesLabels(labels), value: seconds }],
  };
}

function hasTimestamps(families: MetricFamily[]): boolean {
  return families.some((mf) => mf.metrics.some((m) => m.timestampMs !== undefined));
}

export class MemoryStore implements MetricStore {
  private readonly byId = new Map<string, StoredGroup>();
  private readonly index: ConsistencyIndex;
  private readonly listeners = new Set<(c: StoreChange) => void>();
  private series = 0;

  constructor(
    private readonly reservedFamilies: ReadonlyMap<string, ReservedFamily> = new Map(),
    options: ConsistencyOptions = {},
  ) {
    this.index = new ConsistencyIndex((id, name, m) => this.holds(id, name, m), options);
  }

  get groupCount(): number {
    return this.byId.size;
  }

  get seriesCount(): number {
    return this.series;
  }

  groups(): Iterable<Group> {
    return this.byId.values();
  }

  familyNames(): Iterable<string> {
    return this.index.families.keys();
  }

  *familyGroups(name: string): Iterable<Group> {
    const entry = this.index.families.get(name);
    if (entry === undefined) return;
    for (const id of entry.groups.keys()) {
      const g = this.byId.get(id);
      if (g !== undefined) yield g;
    }
  }

  reserved(name: string): ReservedFamily | undefined {
    return this.reservedFamilies.get(name);
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  write(req: WriteRequest): WriteResult {
    const id = groupId(req.labels);
    const seconds = req.timestampMs / 1000;
    // A group whose grouping labels are not valid UTF-8 is never created, not even to stamp its
    // failure (the reference creates it, and every scrape fails from then on).
    const mayCreate = Object.values(req.labels).every((v) => v.isWellFormed()) || this.byId.has(id);
    if (hasTimestamps(req.families)) {
      if (mayCreate) this.recordFailure(id, req.labels, req.timestampMs);
      return { ok: false, error: 'pushed metrics must not have timestamps' };
    }
    for (const mf of req.families) sanitizeFamily(mf, req.labels);
    const existing = this.byId.get(id);
    // The gateway's own push_time_seconds and push_failure_time_seconds always win over pushed
    // families of those names (the reference lets a pushed one in and then fails every scrape).
    const pushed = req.families.filter((mf) => mf.name !== PUSH_TIME && mf.name !== PUSH_FAILURE_TIME);
    pushed.push(timeFamily(PUSH_TIME, req.labels, seconds));
    if (existing?.families.has(PUSH_FAILURE_TIME) !== true) pushed.push(timeFamily(PUSH_FAILURE_TIME, req.labels, 0));
    if (req.check) {
      const kept = new Set<string>();
      if (existing !== undefined && !req.replace) for (const name of existing.families.keys()) kept.add(name);
      if (existing !== undefined && req.replace) kept.add(PUSH_FAILURE_TIME);
      const errors = this.index.check(id, pushed, kept, (n) => this.reservedFamilies.get(n));
      if (errors.length > 0) {
        if (mayCreate) this.recordFailure(id, req.labels, req.timestampMs);
        const message =
          errors.length === 1 ? errors[0] : `${errors.length} error(s) occurred:` + errors.map((e) => `\n* ${e}`).join('');
        return { ok: false, error: message };
      }
    }
    const group = existing ?? this.createGroup(id, req.labels);
    const changed = new Set<string>();
    if (req.replace) {
      for (const name of [...group.families.keys()]) {
        if (name === PUSH_TIME || name === PUSH_FAILURE_TIME) continue;
        this.removeFamily(group, name);
        changed.add(name);
      }
    }
    for (const mf of pushed) {
      this.removeFamily(group, mf.name);
      this.putFamily(group, mf, req.timestampMs);
      changed.add(mf.name);
    }
    this.emit({ groupId: id, families: [...changed] });
    return { ok: true };
  }

  delete(labels: GroupingLabels): void {
    const group = this.byId.get(groupId(labels));
    if (group === undefined) return;
    const names = [...group.families.keys()];
    for (const name of names) this.removeFamily(group, name);
    this.byId.delete(group.id);
    this.emit({ groupId: group.id, families: names });
  }

  wipe(): void {
    for (const g of [...this.byId.values()]) this.delete(g.labels);
  }

  private createGroup(id: string, labels: GroupingLabels): StoredGroup {
    const sorted: Record<string, string> = {};
    for (const name of Object.keys(labels).sort()) sorted[name] = labels[name];
    const group = new StoredGroup(id, sorted, groupShape(sorted));
    this.byId.set(id, group);
    return group;
  }

  durable(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Puts a restored group in place as it was persisted, without checks. */
  load(record: GroupRecord): void {
    const id = groupId(record.labels);
    const group = this.byId.get(id) ?? this.createGroup(id, record.labels);
    const names: string[] = [];
    for (const fr of record.families) {
      const name = 'packed' in fr ? fr.packed.name : fr.family.name;
      this.removeFamily(group, name);
      if ('packed' in fr) this.putStored(group, restorePacked(fr.packed, fr.timestampMs));
      else this.putFamily(group, fr.family, fr.timestampMs);
      names.push(name);
    }
    this.emit({ groupId: id, families: names });
  }

  /** Records a failed push to a group, as a failed write does. */
  markFailed(labels: GroupingLabels, timestampMs: number): void {
    this.recordFailure(groupId(labels), labels, timestampMs);
  }

  /** A failed push stamps push_failure_time_seconds, creating the group if needed (as the reference does). */
  private recordFailure(id: string, labels: GroupingLabels, timestampMs: number): void {
    const group = this.byId.get(id) ?? this.createGroup(id, labels);
    const changed = [PUSH_FAILURE_TIME];
    this.removeFamily(group, PUSH_FAILURE_TIME);
    this.putFamily(group, timeFamily(PUSH_FAILURE_TIME, labels, timestampMs / 1000), timestampMs);
    if (!group.families.has(PUSH_TIME)) {
      this.putFamily(group, timeFamily(PUSH_TIME, labels, 0), timestampMs);
      changed.push(PUSH_TIME);
    }
    this.emit({ groupId: id, families: changed });
  }

  private putFamily(group: StoredGroup, mf: MetricFamily, timestampMs: number): void {
    if (mf.name === PUSH_TIME) group.pushTimeSeconds = mf.metrics[0]?.value ?? 0;
    if (mf.name === PUSH_FAILURE_TIME) group.failureTimeSeconds = mf.metrics[0]?.value ?? 0;
    this.putStored(group, isTimeFamily(mf, group) ? new TimeFamily(group, mf.name, timestampMs) : storeFamily(mf, timestampMs));
  }

  private putStored(group: StoredGroup, sf: StoredFamily): void {
    group.families.set(sf.name, sf);
    this.index.add(group.id, group.shape, sf.name, sf.type);
    this.series += sf.seriesCount;
  }

  private removeFamily(group: StoredGroup, name: string): void {
    const old = group.families.get(name);
    if (old === undefined) return;
    group.families.delete(name);
    if (name === PUSH_TIME) group.pushTimeSeconds = 0;
    if (name === PUSH_FAILURE_TIME) group.failureTimeSeconds = 0;
    this.index.remove(group.id, group.shape, name);
    this.series -= old.seriesCount;
  }

  /** Whether a group stores, under this family name, a series with the labels of `m`. */
  private holds(id: string, name: string, m: Metric): boolean {
    const sf = this.byId.get(id)?.families.get(name);
    if (sf === undefined) return false;
    if (sf.text === undefined) {
      const key = seriesKey(m);
      return sf.family.metrics.some((x) => seriesKey(x) === key);
    }
    // Packed: look for the series' line, which starts a line of the rendered text.
    const line = byteString(seriesIdText(name, sf.type, m.labels));
    for (let i = sf.text.indexOf(line); i >= 0; i = sf.text.indexOf(line, i + 1)) {
      if (i === 0 || sf.text[i - 1] === '\n') return true;
    }
    return false;
  }

  private emit(change: StoreChange): void {
    for (const l of this.listeners) l(change);
  }
}
