// The in-memory store: groups, their families and the consistency index. The only mutable state
// of the gateway; every change goes through write/delete/wipe and is announced to subscribers.
import type { Metric, MetricFamily } from '../model.js';
import {
  checkErrorSteps,
  ConsistencyIndex,
  seriesKey,
  type CheckError,
  type ConsistencyOptions,
} from './consistency.js';
import { packedText, parsedMetrics, preparedFamily, restorePacked, storeFamily, withLines } from './family.js';
import { groupId, shapeOf, sortedNames } from './grouping.js';
import { checkedNow, prepareNow, prepareSteps, type PreparedWrite } from './prepare.js';
import { runNow, runSliced } from './slices.js';
import { StoredGroup, timeFamily } from './group.js';
import type { StoreLimits } from './limits.js';
import { GroupExpiry, type ExpiryOptions } from './expiry.js';
import { repushLines, shapeHash, Templates, valueSpans, type SharedTemplate } from './repush.js';
import { byteString } from '../lib/gostring.js';
import { seriesIdText } from '../lib/textformat.js';
import { nowMs } from '../lib/wallclock.js';
import { isTimeName, PUSH_FAILURE_TIME, PUSH_TIME } from './types.js';
import type {
  AppliedWrite,
  ChangeRecord,
  Group,
  GroupRecord,
  GroupingLabels,
  MetricStore,
  ReservedFamily,
  StoreChange,
  StoreHealth,
  StoredFamily,
  TextBody,
  WriteRequest,
  WriteResult,
} from './types.js';

/**
 * Above this many series a write is prepared in slices (prepare.ts), letting other requests in
 * between; below, at once in its turn (the usual push of tens of series pays nothing for it).
 */
export const SLICED_WRITE_SERIES = 5000;
/** Series per step of a sliced write: a step takes well under a slice. */
const GRAIN = 512;

/** How large writes are sliced; tests make every step a slice. */
export interface Slicing {
  /** Writes of more series than this are prepared in slices. */
  series?: number;
  /** Series per step. */
  grain?: number;
  /** Milliseconds of steps per slice. */
  sliceMs?: number;
}

function seriesIn(families: readonly MetricFamily[]): number {
  let n = 0;
  for (const mf of families) n += mf.metrics.length;
  return n;
}

/** The task's result as a promise, a throw as a rejection. */
function settle<T>(task: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(task());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** A commit's verdict, its check errors worded. */
function worded(result: WriteResult | CheckError[]): WriteResult {
  return Array.isArray(result) ? { ok: false, error: runNow(checkErrorSteps(result, Infinity)) } : result;
}

/**
 * The record of a write made through a template: its families (as they were stored) are built
 * only if a subscriber reads them (the write-ahead log does; the scrape cache does not).
 */
function repushedWrite(req: WriteRequest, timestampMs: number, stored: readonly StoredFamily[]): AppliedWrite {
  let families: MetricFamily[] | undefined;
  return {
    labels: req.labels,
    get families(): MetricFamily[] {
      return (families ??= stored.map((sf) => sf.unpack()));
    },
    replace: req.replace,
    check: req.check,
    timestampMs,
    ttlMs: req.ttlMs,
  };
}

export class MemoryStore implements MetricStore {
  private readonly byId = new Map<string, StoredGroup>();
  private readonly index: ConsistencyIndex;
  private readonly listeners = new Set<(c: StoreChange) => void>();
  private series = 0;
  private changes = 0;
  private readonly slicedSeries: number;
  private readonly grain: number;
  private readonly sliceMs: number;
  /** Per group, the last pending write or delete: the next one of the group waits for it. */
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly templates = new Templates();
  readonly expiry: GroupExpiry;

  constructor(
    private readonly reservedFamilies: ReadonlyMap<string, ReservedFamily> = new Map(),
    options: ConsistencyOptions = {},
    private readonly limits?: StoreLimits,
    expiryOptions: ExpiryOptions = {},
    slicing: Slicing = {},
  ) {
    this.expiry = new GroupExpiry(expiryOptions, expiryOptions.remove ?? ((ids) => this.expireDue(ids)));
    this.slicedSeries = slicing.series ?? SLICED_WRITE_SERIES;
    this.grain = slicing.grain ?? GRAIN;
    this.sliceMs = slicing.sliceMs ?? 10;
    this.index = new ConsistencyIndex(
      (id, name, m) => this.holds(id, name, m),
      options,
      new Set([PUSH_TIME, PUSH_FAILURE_TIME]),
    );
  }

  get groupCount(): number {
    return this.byId.size;
  }

  get seriesCount(): number {
    return this.series + 2 * this.byId.size; // with push_time_seconds and push_failure_time_seconds
  }

  groups(): Iterable<Group> {
    return this.byId.values();
  }

  group(id: string): Group | undefined {
    return this.byId.get(id);
  }

  *familyNames(): Iterable<string> {
    yield* this.index.families.keys();
    if (this.byId.size > 0) yield* [PUSH_TIME, PUSH_FAILURE_TIME];
  }

  *familyGroups(name: string): Iterable<Group> {
    if (isTimeName(name)) {
      yield* this.byId.values();
      return;
    }
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

  get version(): number {
    return this.changes;
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  health(): StoreHealth {
    return { healthy: true, ready: true };
  }

  write(req: WriteRequest): Promise<WriteResult> {
    const { families } = req;
    const id = groupId(req.labels);
    if (req.ttlMs !== undefined) this.expiry.active = true;
    // A write applied at once needs no place in the group's order; one that waits for its body or
    // is prepared in slices does: the group's next write waits for it.
    const now = Array.isArray(families) && seriesIn(families) <= this.slicedSeries;
    return this.inOrder(id, now, async () => {
      const given = Array.isArray(families) ? families : await families;
      const body = Array.isArray(given) ? undefined : given;
      if (body !== undefined) {
        const repushed = this.repush(id, req, body);
        if (repushed !== undefined) return this.settled(id, repushed);
      }
      const resolved = body === undefined ? (given as MetricFamily[]) : await body.parse();
      const large = seriesIn(resolved) > this.slicedSeries;
      const prepared = large
        ? await runSliced(
            prepareSteps(resolved, req.labels, req.check ? this.index : undefined, this.grain),
            this.sliceMs,
          )
        : undefined;
      const timestampMs = req.timestampMs ?? nowMs();
      // A push that finds its group past its deadline comes after the group's expiry, as after a DELETE.
      if (this.expiry.active) this.expireIfDue(id, timestampMs);
      // Judged here and not in apply(): a replay repeats what was accepted, whatever the limits.
      const refusal = this.limits?.admit(this.byId.get(id), resolved, req.replace, this);
      if (refusal !== undefined) return refusal;
      const write: AppliedWrite = {
        labels: req.labels,
        families: resolved,
        replace: req.replace,
        check: req.check,
        timestampMs,
        ttlMs: req.ttlMs,
      };
      let result: WriteResult;
      if (prepared === undefined) {
        const small = prepareNow(resolved, req.labels, req.check ? this.index : undefined);
        result = worded(this.commit(write, small));
        if (body !== undefined && result.ok) this.learn(id, req, body, small);
      } else {
        const committed = this.commit(write, prepared);
        result = Array.isArray(committed)
          ? { ok: false, error: await runSliced(checkErrorSteps(committed, this.grain), this.sliceMs) }
          : committed;
      }
      return this.settled(id, result);
    });
  }

  /** A write's verdict, noted on its group. */
  private settled(id: string, result: WriteResult): WriteResult {
    const group = this.byId.get(id);
    if (group !== undefined && (result.ok || result.refused === undefined))
      group.lastFailureReason = result.ok ? undefined : result.error;
    if (this.expiry.active) this.expiry.track(group, true);
    return result;
  }

  /**
   * Writes a text push through its group's template when it fits (store/repush.ts): what the
   * full path would store, without it. Undefined when it does not fit; nothing changed then.
   * Nothing to check: the group holds what the template's push stored, and every write to
   * another group since was checked against that; the limits pass a write adding no series.
   */
  private repush(id: string, req: WriteRequest, body: TextBody): WriteResult | undefined {
    const timestampMs = req.timestampMs ?? nowMs();
    if (this.expiry.active) this.expireIfDue(id, timestampMs);
    const group = this.byId.get(id);
    const template = group?.repush;
    if (group === undefined || template === undefined || template.replace !== req.replace) return undefined;
    const current: string[] = [];
    for (const f of template.families) {
      const sf = group.pushed(f.name);
      const text = sf === undefined ? undefined : packedText(sf);
      if (text === undefined) return undefined;
      current.push(text);
    }
    const texts = repushLines(template, body.text.toString('latin1'), current);
    if (texts === undefined) return undefined;
    const names: string[] = [PUSH_TIME];
    const stored: StoredFamily[] = [];
    for (let f = 0; f < texts.length; f++) {
      const sf = withLines(group.pushed(template.families[f].name)!, texts[f], timestampMs);
      group.setPushed(sf);
      stored.push(sf);
      names.push(sf.name);
    }
    group.setTime(PUSH_TIME, timestampMs / 1000, timestampMs);
    if (req.ttlMs !== undefined) group.ttlMs = req.ttlMs;
    this.emit(id, names, { write: repushedWrite(req, timestampMs, stored), ok: true });
    return { ok: true };
  }

  /**
   * After a text push stored by the full path: the group gets the template of its shape, if one
   * fits or can be made (store/repush.ts).
   */
  private learn(id: string, req: WriteRequest, body: TextBody, prepared: PreparedWrite): void {
    const group = this.byId.get(id);
    if (group === undefined) return;
    const src = body.text.toString('latin1');
    const spans = valueSpans(src);
    const hash = shapeHash(src, spans);
    let fit;
    try {
      const { labels, replace } = req;
      fit = this.templates.fit(
        src,
        spans,
        hash,
        labels,
        group.shape,
        prepared.families,
        replace,
        hash === group.shapeHash,
      );
    } catch {
      // The write is applied already: a template that cannot be made only leaves the full path.
    }
    if (fit !== undefined) this.setRepush(group, fit);
    group.shapeHash = hash;
  }

  /** Sets (or clears) the group's template, counting its users. */
  private setRepush(group: StoredGroup, template: SharedTemplate | undefined): void {
    if (template !== undefined) this.templates.use(template);
    if (group.repush !== undefined) this.templates.release(group.repush);
    group.repush = template;
  }

  delete(labels: GroupingLabels): Promise<void> {
    return this.inOrder(groupId(labels), true, () => this.remove(labels));
  }

  wipe(): Promise<void> {
    for (const g of [...this.byId.values()]) this.removeGroup(g);
    return Promise.resolve();
  }

  expireOverdue(): Promise<number> {
    const before = this.expiry.expired;
    this.expiry.start(nowMs());
    // Every removal started now is applied by the time pending writes of its group are.
    return Promise.all([...this.tails.values()].map((p) => p.catch(() => undefined))).then(
      () => this.expiry.expired - before,
    );
  }

  /** Removes, each in its group's order, the groups of `ids` that are still due when their turn comes. */
  private expireDue(ids: string[]): void {
    const now = nowMs();
    for (const id of ids) {
      // Nothing pending for the group (the usual case): removed now, without a promise per group.
      if (!this.tails.has(id)) this.expireOrTrack(id, now);
      else this.inOrder(id, true, () => this.expireOrTrack(id, nowMs())).catch(() => undefined);
    }
  }

  private expireOrTrack(id: string, now: number): void {
    // A write that came first (its body was arriving) may have moved the deadline on.
    if (!this.expireIfDue(id, now)) this.expiry.track(this.byId.get(id), false);
  }

  /** Removes the group if it is past its deadline at this time; whether it did. */
  private expireIfDue(id: string, timestampMs: number): boolean {
    const group = this.byId.get(id);
    if (group === undefined || !this.expiry.due(group, timestampMs)) return false;
    this.removeGroup(group);
    this.expiry.expired++;
    return true;
  }

  /**
   * Runs `task` after every earlier write or delete of the group; at once when none is pending
   * and the task needs nothing to arrive (`ready`), so a plain write costs no extra turns.
   */
  private inOrder<T>(id: string, ready: boolean, task: () => T | Promise<T>): Promise<T> {
    const prev = this.tails.get(id);
    if (prev === undefined && ready) return settle(task);
    // Nothing pending: started now, its promise taken as it is (no wrapper, no extra turns).
    const next = prev === undefined ? settle(task) : prev.then(task, task);
    this.tails.set(id, next);
    const clear = () => {
      if (this.tails.get(id) === next) this.tails.delete(id);
    };
    next.then(clear, clear);
    return next;
  }

  /**
   * The verdict of a write against the store as it is now, without applying it or stamping a
   * failure: a replica store commits `record` (what `write` would announce) to its shared backend
   * first and applies it with `applyCommitted` once that took it. No record when the write changes
   * nothing: refused by the limits, or failed for a group that may not be created.
   */
  judge(write: AppliedWrite): { result: WriteResult; record?: ChangeRecord } {
    const id = groupId(write.labels);
    const refusal = this.limits?.admit(this.byId.get(id), write.families, write.replace, this);
    if (refusal !== undefined) return { result: refusal };
    const prepared = prepareNow(write.families, write.labels, write.check ? this.index : undefined);
    const verdict = this.verdict(write, prepared);
    if (verdict === undefined) {
      return {
        result: { ok: true },
        record: { write: { ...write, families: prepared.families.map((pf) => pf.mf) }, ok: true },
      };
    }
    const error = typeof verdict === 'string' ? verdict : runNow(checkErrorSteps(verdict, Infinity));
    const result: WriteResult = { ok: false, error };
    return this.mayCreate(id, write.labels)
      ? { result, record: { write: { ...write, families: [] }, ok: false } }
      : { result };
  }

  /** Replays a change committed elsewhere (see `judge`); `error`: why its write failed. */
  applyCommitted(record: ChangeRecord, error?: string): void {
    this.replay(record);
    if (!('write' in record)) return;
    const group = this.byId.get(groupId(record.write.labels));
    if (group !== undefined) group.lastFailureReason = record.ok ? undefined : error;
  }

  /**
   * Who holds a family of this name: the grouping-key shapes (sorted label names joined by \xff)
   * of those groups, how many groups, and how many of them store each type.
   */
  familyHolders(name: string): { shapes: Iterable<string>; groups: number; types: ReadonlyMap<string, number> } {
    const entry = this.index.families.get(name);
    return entry === undefined
      ? { shapes: [], groups: 0, types: new Map() }
      : { shapes: entry.shapes.keys(), groups: entry.groups.size, types: entry.types };
  }

  /** The group if it is past its deadline at this time. */
  dueGroup(id: string, nowMs: number): Group | undefined {
    const group = this.byId.get(id);
    return group !== undefined && this.expiry.due(group, nowMs) ? group : undefined;
  }

  /** Prepares and commits a write at once (replays). */
  private apply(req: AppliedWrite): WriteResult {
    return worded(this.commit(req, prepareNow(req.families, req.labels, req.check ? this.index : undefined)));
  }

  /**
   * A group whose grouping labels are not valid UTF-8 is never created, not even to stamp its
   * failure (the reference creates it, and every scrape fails from then on).
   */
  private mayCreate(id: string, labels: GroupingLabels): boolean {
    return this.byId.has(id) || Object.values(labels).every((v) => v.isWellFormed());
  }

  /** Why a prepared write fails against what the store holds (unworded), or undefined when it passes. */
  private verdict(req: AppliedWrite, prepared: PreparedWrite): string | CheckError[] | undefined {
    if (prepared.timestamps) return 'pushed metrics must not have timestamps';
    if (!req.check) return undefined;
    const id = groupId(req.labels);
    const existing = this.byId.get(id);
    // The time families the write sets are checked with the pushed ones, as the reference does.
    const pushTime = checkedNow(timeFamily(PUSH_TIME, req.labels, req.timestampMs / 1000), this.index);
    const checked = [...prepared.families, pushTime];
    if (existing === undefined) {
      // Same labels, same type: what its one series is by itself is push_time_seconds' verdict.
      const mf = timeFamily(PUSH_FAILURE_TIME, pushTime.mf.metrics[0].labels, 0);
      checked.push({ mf, verdicts: pushTime.verdicts });
    }
    const kept = new Set<string>();
    if (existing !== undefined) kept.add(PUSH_FAILURE_TIME);
    if (existing !== undefined && !req.replace) for (const sf of existing.pushedFamilies()) kept.add(sf.name);
    const errors = this.index.check(id, req.labels, checked, kept, (n) => this.reservedFamilies.get(n));
    return errors.length > 0 ? errors : undefined;
  }

  /**
   * Checks a prepared write against what the store holds and applies it, in one turn; the errors
   * of a failed check come back unworded (the failure is stamped already).
   */
  private commit(req: AppliedWrite, prepared: PreparedWrite): WriteResult | CheckError[] {
    const id = groupId(req.labels);
    const seconds = req.timestampMs / 1000;
    const verdict = this.verdict(req, prepared);
    if (verdict !== undefined) {
      if (this.mayCreate(id, req.labels)) this.recordFailure(id, req);
      return typeof verdict === 'string' ? { ok: false, error: verdict } : verdict;
    }
    const existing = this.byId.get(id);
    const pushed = prepared.families;
    const group = existing ?? this.createGroup(id, req.labels, req.timestampMs);
    // Its families change otherwise than its template writes them: the caller may make another.
    this.setRepush(group, undefined);
    const changed = new Set<string>([PUSH_TIME]);
    if (existing === undefined) changed.add(PUSH_FAILURE_TIME);
    if (req.replace) {
      const names = new Set(pushed.map((pf) => pf.mf.name));
      for (const sf of group.pushedFamilies()) {
        if (names.has(sf.name)) continue;
        this.removeFamily(group, sf.name);
        changed.add(sf.name);
      }
    }
    for (const pf of pushed) {
      this.putStored(group, preparedFamily(pf.mf, pf.packed, req.timestampMs));
      changed.add(pf.mf.name);
    }
    group.setTime(PUSH_TIME, seconds, req.timestampMs);
    if (req.ttlMs !== undefined) group.ttlMs = req.ttlMs;
    this.emit(id, [...changed], { write: { ...req, families: pushed.map((pf) => pf.mf) }, ok: true });
    return { ok: true };
  }

  private remove(labels: GroupingLabels): void {
    const group = this.byId.get(groupId(labels));
    if (group !== undefined) this.removeGroup(group);
  }

  /** Removes a group as a DELETE does; as cheap as a replace, for groups that expire between their pushes. */
  private removeGroup(group: StoredGroup): void {
    const pushed = group.pushedFamilies();
    const names: string[] = [];
    for (const sf of pushed) {
      names.push(sf.name);
      this.removeFamily(group, sf.name);
    }
    names.push(PUSH_TIME, PUSH_FAILURE_TIME);
    this.setRepush(group, undefined);
    this.byId.delete(group.id);
    this.index.removeGroup(group.id, group.shape);
    if (this.expiry.active) this.expiry.untrack(group);
    this.emit(group.id, names, { delete: group.labels });
  }

  /** A new group, both its push times 0, stamped with the time of the write that creates it. */
  private createGroup(id: string, labels: GroupingLabels, timestampMs: number): StoredGroup {
    const names = sortedNames(labels);
    const sorted: Record<string, string> = {};
    for (const name of names) sorted[name] = labels[name];
    const group = new StoredGroup(id, sorted, shapeOf(names));
    group.setTime(PUSH_TIME, 0, timestampMs);
    group.setTime(PUSH_FAILURE_TIME, 0, timestampMs);
    this.byId.set(id, group);
    this.index.addGroup(id, group.shape);
    return group;
  }

  close(): Promise<void> {
    this.expiry.close();
    return Promise.resolve();
  }

  restore(record: GroupRecord): void {
    const id = groupId(record.labels);
    const group = this.byId.get(id) ?? this.createGroup(id, record.labels, 0);
    this.setRepush(group, undefined);
    group.ttlMs = record.ttlMs;
    if (record.ttlMs !== undefined) this.expiry.active = true;
    const names: string[] = [PUSH_TIME, PUSH_FAILURE_TIME];
    for (const fr of record.families) {
      const sf = 'packed' in fr ? restorePacked(fr.packed, fr.timestampMs) : undefined;
      const name = sf?.name ?? ('family' in fr ? fr.family.name : '');
      if (isTimeName(name)) {
        // Only the value of a persisted time family counts; the gateway makes the rest.
        const mf = sf?.unpack() ?? ('family' in fr ? fr.family : undefined);
        group.setTime(name, mf?.metrics[0]?.value ?? 0, fr.timestampMs);
        continue;
      }
      this.removeFamily(group, name);
      if (sf !== undefined) this.putStored(group, sf);
      else if ('family' in fr) this.putFamily(group, fr.family, fr.timestampMs);
      names.push(name);
    }
    if (this.expiry.active) this.expiry.track(group, false);
    this.emit(id, names, undefined);
  }

  replay(record: ChangeRecord): void {
    if ('write' in record) {
      const w = record.write;
      const id = groupId(w.labels);
      if (w.ttlMs !== undefined) this.expiry.active = true;
      if (record.ok) this.apply({ ...w, check: false });
      else this.recordFailure(id, w);
      if (this.expiry.active) this.expiry.track(this.byId.get(id), false);
    } else if ('delete' in record) this.remove(record.delete);
    else if (record.wipe === true) void this.wipe();
    else throw new Error(`unknown change record ${JSON.stringify(record)}`);
  }

  /** A failed push stamps push_failure_time_seconds, creating the group if needed (as the reference does). */
  private recordFailure(id: string, req: AppliedWrite): void {
    const existing = this.byId.get(id);
    const group = existing ?? this.createGroup(id, req.labels, req.timestampMs);
    group.setTime(PUSH_FAILURE_TIME, req.timestampMs / 1000, req.timestampMs);
    const names = existing === undefined ? [PUSH_FAILURE_TIME, PUSH_TIME] : [PUSH_FAILURE_TIME];
    this.emit(id, names, { write: { ...req, families: [] }, ok: false });
  }

  private putFamily(group: StoredGroup, mf: MetricFamily, timestampMs: number): void {
    this.putStored(group, storeFamily(mf, timestampMs));
  }

  /** Stores `sf`, in place of the group's family of that name if any (kept in the index, its type set anew). */
  private putStored(group: StoredGroup, sf: StoredFamily): void {
    const old = group.pushed(sf.name);
    if (old !== undefined) this.series -= old.seriesCount;
    group.setPushed(sf);
    // The index holds the group under this name with the type it stored: already so when that is unchanged.
    if (old === undefined || old.type !== sf.type) this.index.add(group.id, group.shape, sf.name, sf.type);
    this.series += sf.seriesCount;
  }

  private removeFamily(group: StoredGroup, name: string): void {
    const old = group.deletePushed(name);
    if (old === undefined) return;
    this.index.remove(group.id, group.shape, name);
    this.series -= old.seriesCount;
  }

  /** Whether a group stores, under this family name, a series with the labels of `m`. */
  private holds(id: string, name: string, m: Metric): boolean {
    const sf = this.byId.get(id)?.families.get(name);
    if (sf === undefined) return false;
    const text = packedText(sf);
    if (text === undefined) {
      const key = seriesKey(m);
      return (parsedMetrics(sf) ?? sf.unpack().metrics).some((x) => seriesKey(x) === key);
    }
    // Packed: look for the series' line, which starts a line of the rendered text.
    const line = byteString(seriesIdText(name, sf.type, m.labels));
    for (let i = text.indexOf(line); i >= 0; i = text.indexOf(line, i + 1)) {
      if (i === 0 || text[i - 1] === '\n') return true;
    }
    return false;
  }

  private emit(groupId: string, families: readonly string[], record: ChangeRecord | undefined): void {
    const change: StoreChange = { version: ++this.changes, groupId, families, record };
    for (const l of this.listeners) l(change);
  }
}
