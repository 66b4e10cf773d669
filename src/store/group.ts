// A group as the store keeps it: its pushed families, and its push_time_seconds and
// push_failure_time_seconds as four numbers. Every group has both; kept as families they would
// cost two objects, two map entries and two index entries each (~250 bytes a group).
import type { LabelPair, MetricFamily } from '../model.js';
import type { Shape } from './consistency.js';
import type { SharedTemplate } from './repush.js';
import { groupSeriesLabels } from './grouping.js';
import { sortedLines } from './family.js';
import { PUSH_FAILURE_TIME, PUSH_TIME, isTimeName, type TimeName } from './types.js';
import type { FamilyRecord, Group, GroupingLabels, StoredFamily } from './types.js';

const PUSH_TIME_HELP = 'Last Unix time when changing this group in the Pushgateway succeeded.';
const PUSH_FAILURE_TIME_HELP = 'Last Unix time when changing this group in the Pushgateway failed.';

/** The time family of a group; `labels` the grouping labels, or the series labels another time family has. */
export function timeFamily(
  name: TimeName,
  labels: GroupingLabels | readonly LabelPair[],
  seconds: number,
): MetricFamily {
  return {
    name,
    help: name === PUSH_TIME ? PUSH_TIME_HELP : PUSH_FAILURE_TIME_HELP,
    type: 'gauge',
    metrics: [
      { labels: Array.isArray(labels) ? [...labels] : groupSeriesLabels(labels as GroupingLabels), value: seconds },
    ],
  };
}

export class StoredGroup implements Group {
  /** The pushed families: one held as is (the usual case), several in a map. */
  private single: StoredFamily | undefined;
  private several: Map<string, StoredFamily> | undefined;
  pushTimeSeconds = 0;
  /** Time of the write that set push_time_seconds (shown as its time_stamp). */
  pushTimeMs = 0;
  failureTimeSeconds = 0;
  failureTimeMs = 0;
  /** Set by a push's Pushgateway-TTL (see store/expiry.ts); undefined: the default TTL. */
  ttlMs: number | undefined = undefined;
  /** Why the last push failed, while it is the last one (kept in memory only). */
  lastFailureReason: string | undefined = undefined;
  /** Its slot in the expiry heap (deadlines.ts); -1: none. */
  deadlineSlot = -1;
  /** The template its pushes of its last shape are written through (store/repush.ts). */
  repush: SharedTemplate | undefined = undefined;
  /** shapeHash of its last text push stored by the full path; -1: none. */
  shapeHash = -1;

  constructor(
    readonly id: string,
    readonly labels: GroupingLabels,
    readonly shape: Shape,
  ) {}

  get lastPushSuccess(): boolean {
    return this.pushTimeSeconds >= this.failureTimeSeconds;
  }

  /** Every family, the two time families included (made when asked for). */
  get families(): ReadonlyMap<string, StoredFamily> {
    return new GroupFamilies(this);
  }

  pushed(name: string): StoredFamily | undefined {
    if (this.several !== undefined) return this.several.get(name);
    return this.single?.name === name ? this.single : undefined;
  }

  pushedFamilies(): StoredFamily[] {
    if (this.several !== undefined) return [...this.several.values()];
    return this.single === undefined ? [] : [this.single];
  }

  setPushed(sf: StoredFamily): void {
    if (this.several !== undefined) this.several.set(sf.name, sf);
    else if (this.single === undefined || this.single.name === sf.name) this.single = sf;
    else {
      this.several = new Map([
        [this.single.name, this.single],
        [sf.name, sf],
      ]);
      this.single = undefined;
    }
  }

  deletePushed(name: string): StoredFamily | undefined {
    if (this.several !== undefined) {
      const old = this.several.get(name);
      this.several.delete(name);
      if (this.several.size === 1) [this.single] = this.several.values();
      if (this.several.size <= 1) this.several = undefined;
      return old;
    }
    const old = this.single?.name === name ? this.single : undefined;
    if (old !== undefined) this.single = undefined;
    return old;
  }

  setTime(name: TimeName, seconds: number, timestampMs: number): void {
    if (name === PUSH_TIME) {
      this.pushTimeSeconds = seconds;
      this.pushTimeMs = timestampMs;
    } else {
      this.failureTimeSeconds = seconds;
      this.failureTimeMs = timestampMs;
    }
  }
}

/** push_time_seconds or push_failure_time_seconds of a group, as a family. */
class TimeFamily implements StoredFamily {
  constructor(
    private readonly group: StoredGroup,
    readonly name: TimeName,
  ) {}

  get type(): 'gauge' {
    return 'gauge';
  }
  get seriesCount(): number {
    return 1;
  }
  get help(): string {
    return this.name === PUSH_TIME ? PUSH_TIME_HELP : PUSH_FAILURE_TIME_HELP;
  }
  get timestampMs(): number {
    return this.name === PUSH_TIME ? this.group.pushTimeMs : this.group.failureTimeMs;
  }
  unpack(): MetricFamily {
    return timeFamily(
      this.name,
      this.group.labels,
      this.name === PUSH_TIME ? this.group.pushTimeSeconds : this.group.failureTimeSeconds,
    );
  }
  lines(): string {
    return sortedLines(this.unpack());
  }
  record(): FamilyRecord {
    return { family: this.unpack(), timestampMs: this.timestampMs };
  }
}

/** The families of a group as a map: the pushed ones, then the two time families. */
class GroupFamilies implements ReadonlyMap<string, StoredFamily> {
  constructor(private readonly group: StoredGroup) {}

  get size(): number {
    return this.group.pushedFamilies().length + 2;
  }
  get(name: string): StoredFamily | undefined {
    return isTimeName(name) ? new TimeFamily(this.group, name) : this.group.pushed(name);
  }
  has(name: string): boolean {
    return isTimeName(name) || this.group.pushed(name) !== undefined;
  }
  *entries(): MapIterator<[string, StoredFamily]> {
    for (const sf of this.group.pushedFamilies()) yield [sf.name, sf];
    yield [PUSH_TIME, new TimeFamily(this.group, PUSH_TIME)];
    yield [PUSH_FAILURE_TIME, new TimeFamily(this.group, PUSH_FAILURE_TIME)];
  }
  *keys(): MapIterator<string> {
    for (const [name] of this.entries()) yield name;
  }
  *values(): MapIterator<StoredFamily> {
    for (const [, sf] of this.entries()) yield sf;
  }
  [Symbol.iterator](): MapIterator<[string, StoredFamily]> {
    return this.entries();
  }
  forEach(fn: (value: StoredFamily, key: string, map: ReadonlyMap<string, StoredFamily>) => void): void {
    for (const [name, sf] of this.entries()) fn(sf, name, this);
  }
}
