// The consistency index: per family name, which groups hold it and with which type, and the
// shapes of their grouping keys. A push is checked against it in time proportional to the push,
// not the store (the reference re-gathers the whole store on every push). It holds nothing per
// series: a pushed series can only repeat one of another group whose grouping labels it carries
// (every stored series carries those of its group), so its labels name the few groups to ask.
import type { Metric, MetricFamily, MetricType } from '../model.js';
import { goQuote } from '../lib/goquote.js';
import { carriesType, describeMetric, typeName } from './describe.js';
import { compareSortKeys } from '../lib/textformat.js';
import { byCodeUnits, sortInPlace } from '../lib/shortsort.js';
import { groupShape } from './grouping.js';
import type { GroupingLabels, ReservedFamily } from './types.js';

/** The sorted grouping label names shared by groups of one shape. */
export type Shape = readonly string[];

export interface IndexedFamily {
  /** Group id → the type that group stores under this name. */
  readonly groups: Map<string, MetricType>;
  /** Grouping key shapes of those groups (names joined by \xff), with how many groups have each. */
  readonly shapes: Map<string, { names: Shape; groups: number }>;
  /** How many of those groups store each type: one type in all of them is the usual case. */
  readonly types: Map<MetricType, number>;
}

/** Whether the group with this id stores, under the family's name, a series with these labels. */
export type HoldsSeries = (groupId: string, name: string, m: Metric) => boolean;

/** Series identity within a family: label names and values (labels are sorted already). */
export function seriesKey(m: Metric): string {
  let k = '';
  for (const lp of m.labels) k += lp.name + '\xff' + lp.value + '\xfe';
  return k;
}

/** Id of the group of this shape whose grouping labels the series carries, if it carries them all. */
function projectedGroupId(m: Metric, names: Shape): string | undefined {
  let id = '';
  let j = 0;
  for (let i = 0; i < names.length; i++) {
    while (j < m.labels.length && m.labels[j].name < names[i]) j++;
    if (j === m.labels.length || m.labels[j].name !== names[i]) return undefined;
    id += (i === 0 ? '' : '\xff') + names[i] + '\xff' + m.labels[j].value;
  }
  return id;
}

/** Whether projectedGroupId(m, names) would be `groupId`, without building it. */
function projectsTo(m: Metric, names: Shape, groupId: string): boolean {
  let at = 0;
  let j = 0;
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    while (j < m.labels.length && m.labels[j].name < name) j++;
    if (j === m.labels.length || m.labels[j].name !== name) return false;
    const value = m.labels[j].value;
    if (i > 0 && groupId.charCodeAt(at++) !== 0xff) return false;
    if (!hasAt(groupId, name, at)) return false;
    at += name.length;
    if (groupId.charCodeAt(at++) !== 0xff) return false;
    if (!hasAt(groupId, value, at)) return false;
    at += value.length;
  }
  return at === groupId.length;
}

/** s.startsWith(part, at), which V8 runs far slower than this loop on short strings. */
function hasAt(s: string, part: string, at: number): boolean {
  if (at + part.length > s.length) return false;
  for (let i = 0; i < part.length; i++) if (s.charCodeAt(at + i) !== part.charCodeAt(i)) return false;
  return true;
}

/**
 * Shapes are interned (grouping.ts groupShape): their keys are joined once, not at every group
 * added or removed (with groups expiring and pushed again, that was a string per family each time).
 */
const shapeKeys = new WeakMap<Shape, string>();

function shapeKey(shape: Shape): string {
  let key = shapeKeys.get(shape);
  if (key === undefined) {
    key = shape.join('\xff');
    shapeKeys.set(shape, key);
  }
  return key;
}

const NONE_HELD: readonly number[] = [];

function allIn(names: Shape, grouping: GroupingLabels): boolean {
  for (let i = 0; i < names.length; i++) if (!Object.hasOwn(grouping, names[i])) return false;
  return true;
}

function countType(entry: IndexedFamily, type: MetricType, by: number): void {
  const n = (entry.types.get(type) ?? 0) + by;
  if (n === 0) entry.types.delete(type);
  else entry.types.set(type, n);
}

function addTo(entry: IndexedFamily, groupId: string, shape: Shape, type: MetricType): void {
  const before = entry.groups.get(groupId);
  if (before === type) return;
  // A group's shape never changes: re-adding it only changes the type.
  if (before === undefined) {
    const key = shapeKey(shape);
    const known = entry.shapes.get(key);
    if (known === undefined) entry.shapes.set(key, { names: shape, groups: 1 });
    else known.groups++;
  } else countType(entry, before, -1);
  countType(entry, type, 1);
  entry.groups.set(groupId, type);
}

function removeFrom(entry: IndexedFamily, groupId: string, shape: Shape): void {
  const before = entry.groups.get(groupId);
  if (before === undefined) return;
  entry.groups.delete(groupId);
  countType(entry, before, -1);
  const key = shapeKey(shape);
  const known = entry.shapes.get(key);
  if (known !== undefined && --known.groups === 0) entry.shapes.delete(key);
}

function newEntry(): IndexedFamily {
  return { groups: new Map(), shapes: new Map(), types: new Map() };
}

export interface ConsistencyOptions {
  /**
   * --push.enable-utf8-names: a label name is valid when it is non-empty valid UTF-8 and does not
   * start with `__` (client_golang's checkLabelName under model.UTF8Validation, Pushgateway 1.11),
   * instead of matching [a-zA-Z_][a-zA-Z0-9_]*.
   */
  utf8Names?: boolean;
}

export class ConsistencyIndex {
  readonly families = new Map<string, IndexedFamily>();
  private readonly utf8Names: boolean;
  /**
   * At each position of a series' labels, a name found valid there before (labelProblem): kept
   * from push to push, since the series of a family, and the families of a push, mostly share them.
   */
  private readonly validNames: string[] = [];

  /** Every group, for the gauge families every group holds (push_time_seconds and its twin). */
  private readonly everyGroup: IndexedFamily = newEntry();

  /**
   * @param inEveryGroup names of gauge families that every group holds and that are not added
   *   one by one (addGroup/removeGroup stand for them)
   */
  constructor(
    private readonly holds: HoldsSeries,
    options: ConsistencyOptions = {},
    private readonly inEveryGroup: ReadonlySet<string> = new Set(),
  ) {
    this.utf8Names = options.utf8Names === true;
  }

  private entry(name: string): IndexedFamily | undefined {
    return this.inEveryGroup.has(name) ? this.everyGroup : this.families.get(name);
  }

  addGroup(groupId: string, shape: Shape): void {
    addTo(this.everyGroup, groupId, shape, 'gauge');
  }

  removeGroup(groupId: string, shape: Shape): void {
    removeFrom(this.everyGroup, groupId, shape);
  }

  add(groupId: string, shape: Shape, name: string, type: MetricType): void {
    let entry = this.families.get(name);
    if (entry === undefined) {
      entry = newEntry();
      this.families.set(name, entry);
    }
    addTo(entry, groupId, shape, type);
  }

  remove(groupId: string, shape: Shape, name: string): void {
    const entry = this.families.get(name);
    if (entry === undefined) return;
    removeFrom(entry, groupId, shape);
    if (entry.groups.size === 0) this.families.delete(name);
  }

  /** Whether a group other than `groupId` stores this series under the family's name. */
  private heldElsewhere(entry: IndexedFamily | undefined, groupId: string, name: string, m: Metric): boolean {
    if (entry === undefined) return false;
    for (const { names } of entry.shapes.values()) {
      // Most series project onto their own group: told without building its id.
      if (projectsTo(m, names, groupId)) continue;
      const other = projectedGroupId(m, names);
      if (other !== undefined && entry.groups.has(other) && this.holds(other, name, m)) return true;
    }
    return false;
  }

  /**
   * The positions, ascending, of the series of `mf` (those without a problem of their own) that a
   * group other than `groupId` stores under the family's name: heldElsewhere for each, but a shape
   * made of grouping labels only names one group for all series (each carries the grouping labels),
   * so that a push beside groups of its own shape costs nothing per series.
   */
  private heldSeries(
    entry: IndexedFamily | undefined,
    groupId: string,
    ownShape: Shape,
    grouping: GroupingLabels,
    mf: MetricFamily,
    problems: readonly number[],
  ): readonly number[] {
    if (entry === undefined) return NONE_HELD;
    let others: string[] | undefined;
    let each: Shape[] | undefined;
    for (const { names } of entry.shapes.values()) {
      // The usual case, every group of the family alike: the push's own shape names its own group.
      if (names === ownShape) continue;
      if (!allIn(names, grouping)) (each ??= []).push(names);
      else {
        let id = '';
        for (let i = 0; i < names.length; i++) id += (i === 0 ? '' : '\xff') + names[i] + '\xff' + grouping[names[i]];
        if (id !== groupId && entry.groups.has(id)) (others ??= []).push(id);
      }
    }
    if (others === undefined && each === undefined) return NONE_HELD;
    const held: number[] = [];
    let p = 0;
    for (let i = 0; i < mf.metrics.length; i++) {
      if (p < problems.length && problems[p] === i) {
        p++;
        continue;
      }
      const m = mf.metrics[i];
      let found = others !== undefined && others.some((id) => this.holds(id, mf.name, m));
      for (let s = 0; !found && each !== undefined && s < each.length; s++) {
        if (projectsTo(m, each[s], groupId)) continue;
        const other = projectedGroupId(m, each[s]);
        found = other !== undefined && entry.groups.has(other) && this.holds(other, mf.name, m);
      }
      if (found) held.push(i);
    }
    return held;
  }

  /** The type another group than `groupId` stores under `name`, if any. */
  typeElsewhere(name: string, groupId: string): MetricType | undefined {
    const entry = this.entry(name);
    if (entry === undefined) return undefined;
    if (entry.types.size === 1) {
      // Two groups or more: one of them is another, without looking the group up (a miss in a map
      // of every group holding the family, for each family of every push).
      const size = entry.groups.size;
      const other = size > 1 || (size === 1 && !entry.groups.has(groupId));
      return other ? entry.types.keys().next().value : undefined;
    }
    for (const [id, type] of entry.groups) if (id !== groupId) return type;
    return undefined;
  }

  /**
   * What the series of `mf` are by themselves, for the family's own type: the part of the check
   * that does not look at the store, so that it can be done in steps of `grain` series before the
   * write's turn. `order` is the scrape order of the series (compact.ts seriesOrderSteps): a
   * repeated series sorts next to the one it repeats.
   */
  *verdictSteps(mf: MetricFamily, order: ArrayLike<number>, grain: number): Generator<void, PushVerdicts> {
    const n = mf.metrics.length;
    if (n <= grain) return this.verdicts(mf, order);
    const found = new Found(n);
    for (let from = 0; from < n; from += grain) {
      if (from > 0) yield;
      this.ownProblems(mf, from, Math.min(n, from + grain), found);
    }
    let step = 0;
    for (let k = 1; k < n;) {
      const next = repeatsAt(mf.metrics, order, k, found);
      step += next - k;
      k = next;
      if (step >= grain) {
        step = 0;
        yield;
      }
    }
    return found.verdicts(mf.type);
  }

  /** verdictSteps at once, without a generator (the families of a small push). */
  verdicts(mf: MetricFamily, order: ArrayLike<number>): PushVerdicts {
    const n = mf.metrics.length;
    const found = new Found(n);
    this.ownProblems(mf, 0, n, found);
    for (let k = 1; k < n; k = repeatsAt(mf.metrics, order, k, found));
    return found.verdicts(mf.type);
  }

  /** The type and label problems of the series `from` to `to` (excluded). */
  private ownProblems(mf: MetricFamily, from: number, to: number, found: Found): void {
    for (let i = from; i < to; i++) {
      const m = mf.metrics[i];
      if (!carriesType(m, mf.type, mf.type)) found.flag(i, NOT_OF_TYPE);
      else {
        const labelError = labelProblem(m, this.utf8Names, this.validNames);
        if (labelError !== undefined) found.flag(i, BAD_LABELS, labelError);
      }
    }
  }

  /**
   * The reference's verdicts (client_golang's Gatherers) for writing `pushed` into group
   * `groupId` of grouping labels `grouping`, which after the write still holds `kept` from before.
   * Each family comes with what its series are by themselves (verdictSteps); only what depends on
   * the store is looked at here. Returns the errors, in the reference's order (checkErrorText
   * words them); where its verdict depends on Go's map order, the stored state wins.
   */
  check(
    groupId: string,
    grouping: GroupingLabels,
    pushed: readonly CheckedFamily[],
    kept: ReadonlySet<string>,
    reserved: (name: string) => ReservedFamily | undefined,
  ): CheckError[] {
    const errors: CheckError[] = [];
    const ownShape = groupShape(grouping);
    const pushedNames = new Set(pushed.map((f) => f.mf.name));
    const seenNew = new Set<string>();
    const present = (name: string): MetricType | undefined =>
      reserved(name)?.type ??
      this.typeElsewhere(name, groupId) ??
      (kept.has(name) && !pushedNames.has(name) ? this.entry(name)?.groups.get(groupId) : undefined) ??
      (seenNew.has(name) ? pushed.find((f) => f.mf.name === name)?.mf.type : undefined);

    for (const { mf, verdicts } of byName(pushed)) {
      const own = reserved(mf.name);
      // Families the gateway had at start-up get their HELP forced; others must match it.
      if (own !== undefined && !own.forceHelp && (mf.help ?? '') !== own.help) {
        errors.push(
          `gathered metric family ${mf.name} has help ${goQuote(mf.help ?? '')} but should have ${goQuote(own.help)}`,
        );
        continue;
      }
      if (own !== undefined && own.type !== mf.type) {
        errors.push(
          `gathered metric family ${mf.name} has type ${typeName(mf.type)} but should have ${typeName(own.type)}`,
        );
        continue;
      }
      const elsewhere = own?.type ?? this.typeElsewhere(mf.name, groupId);
      if (elsewhere === undefined) {
        const collision = suffixCollision(mf, present);
        if (collision !== undefined) {
          errors.push(collision);
          continue;
        }
      }
      seenNew.add(mf.name);
      const expected = elsewhere ?? mf.type;
      const entry = this.entry(mf.name);
      if (expected !== mf.type) {
        this.seriesErrors(mf, expected, entry, groupId, errors);
        continue;
      }
      const { problems, messages } = verdicts;
      const held = this.heldSeries(entry, groupId, ownShape, grouping, mf, problems);
      // Both ascending, and apart: merged in push order.
      for (let p = 0, h = 0; p < problems.length || h < held.length;) {
        if (h === held.length || (p < problems.length && problems[p] < held[h])) {
          errors.push({ mf, m: mf.metrics[problems[p]], what: messages[p] });
          p++;
        } else errors.push({ mf, m: mf.metrics[held[h++]], what: REPEATED_TEXT });
      }
    }
    return errors;
  }

  /** The check of each series against a type other than its family's (another group's): the rare case. */
  private seriesErrors(
    mf: MetricFamily,
    expected: MetricType,
    entry: IndexedFamily | undefined,
    groupId: string,
    errors: CheckError[],
  ): void {
    const inPush = new Set<string>();
    for (const m of mf.metrics) {
      if (!carriesType(m, mf.type, expected)) {
        errors.push({ mf, m, what: `is not a ${typeName(expected)}` });
        continue;
      }
      const labelError = labelProblem(m, this.utf8Names, this.validNames);
      if (labelError !== undefined) {
        errors.push({ mf, m, what: labelError });
        continue;
      }
      const key = seriesKey(m);
      if (inPush.has(key) || this.heldElsewhere(entry, groupId, mf.name, m)) {
        errors.push({ mf, m, what: REPEATED_TEXT });
        continue;
      }
      inPush.add(key);
    }
  }
}

const NOT_OF_TYPE = 1;
const BAD_LABELS = 2;
const REPEATED = 3;
const REPEATED_TEXT = 'was collected before with the same name and label values';

/** The family names of the last push checked, and their positions sorted by name. */
let lastNames: string[] = [];
let lastSorted: number[] = [];

/**
 * The families sorted by name. A job's pushes carry the same names in the same order, push after
 * push: their order is remembered, and the names only compared for equality (sorting two dozen
 * names sharing a prefix was a tenth of a small push's check).
 */
function byName(pushed: readonly CheckedFamily[]): CheckedFamily[] {
  const n = pushed.length;
  let same = n === lastNames.length;
  for (let i = 0; same && i < n; i++) same = pushed[i].mf.name === lastNames[i];
  if (!same) {
    lastNames = pushed.map((f) => f.mf.name);
    lastSorted = lastNames.map((_, i) => i);
    sortInPlace(lastSorted, (a, b) => byCodeUnits(lastNames[a], lastNames[b]) || a - b);
  }
  const out = new Array<CheckedFamily>(n);
  for (let k = 0; k < n; k++) out[k] = pushed[lastSorted[k]];
  return out;
}

/** The verdicts of a family without problems, shared (never changed). */
export const NO_PROBLEMS: PushVerdicts = { problems: [], messages: [] };

/** The problems verdictSteps finds in the series of a family, by position. */
class Found {
  private flags: Uint8Array | undefined;
  private labelErrors: Map<number, string> | undefined;

  constructor(private readonly n: number) {}

  flag(i: number, what: number, labelError?: string): void {
    (this.flags ??= new Uint8Array(this.n))[i] = what;
    if (labelError !== undefined) (this.labelErrors ??= new Map()).set(i, labelError);
  }

  has(i: number): boolean {
    return this.flags !== undefined && this.flags[i] !== 0;
  }

  verdicts(type: MetricType): PushVerdicts {
    const flags = this.flags;
    if (flags === undefined) return NO_PROBLEMS;
    const verdicts: PushVerdicts = { problems: [], messages: [] };
    const notOfType = `is not a ${typeName(type)}`;
    for (let i = 0; i < this.n; i++) {
      if (flags[i] === 0) continue;
      verdicts.problems.push(i);
      verdicts.messages.push(
        flags[i] === NOT_OF_TYPE ? notOfType : flags[i] === BAD_LABELS ? this.labelErrors!.get(i)! : REPEATED_TEXT,
      );
    }
    return verdicts;
  }
}

/**
 * Marks the repeats among the series in scrape order from position k - 1 on, if the series at k
 * has the sort key of the one before: a series repeated in the push sorts among those of its sort
 * key, the first in push order is kept and the later ones are errors (a series with a problem of
 * its own is never either). Returns where to look next.
 */
function repeatsAt(metrics: readonly Metric[], order: ArrayLike<number>, k: number, found: Found): number {
  if (compareSortKeys(metrics[order[k - 1]].labels, metrics[order[k]].labels) !== 0) return k + 1;
  const n = metrics.length;
  let end = k + 1;
  while (end < n && compareSortKeys(metrics[order[k]].labels, metrics[order[end]].labels) === 0) end++;
  const seen = new Set<string>();
  for (let q = k - 1; q < end; q++) {
    const i = order[q];
    if (found.has(i)) continue;
    const key = seriesKey(metrics[i]);
    if (seen.has(key)) found.flag(i, REPEATED);
    else seen.add(key);
  }
  return end;
}

/** The series of a push with a problem of their own (see ConsistencyIndex.verdictSteps), in push order. */
export interface PushVerdicts {
  readonly problems: number[];
  /** For each, what is wrong, in the words that follow its description. */
  readonly messages: string[];
}

/** A pushed family as the check takes it. */
export interface CheckedFamily {
  readonly mf: MetricFamily;
  readonly verdicts: PushVerdicts;
}

/** An error of the check: a sentence, or a series and what is wrong with it (described when worded). */
export type CheckError = string | { readonly mf: MetricFamily; readonly m: Metric; readonly what: string };

/**
 * The errors as the reference words them: one alone, several counted and listed. Steps of
 * `grain` errors: describing a series costs more than checking it.
 */
export function* checkErrorSteps(errors: readonly CheckError[], grain: number): Generator<void, string> {
  const word = (e: CheckError): string =>
    typeof e === 'string' ? e : `collected metric "${e.mf.name}" { ${describeMetric(e.mf.type, e.m)}} ${e.what}`;
  if (errors.length === 1) return word(errors[0]);
  let text = `${errors.length} error(s) occurred:`;
  for (let k = 0; k < errors.length; k++) {
    text += `\n* ${word(errors[k])}`;
    if ((k + 1) % grain === 0) yield;
  }
  return text;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * client_golang's label checks, on labels sorted by name. `valid` holds, at each position, a name
 * found valid there before (the series of a family mostly share their label names): it is not
 * checked again.
 */
function labelProblem(m: Metric, utf8Names: boolean, valid: string[]): string | undefined {
  let previous = '';
  for (let j = 0; j < m.labels.length; j++) {
    const lp = m.labels[j];
    if (lp.name === previous) return `has two or more labels with the same name: ${lp.name}`;
    if (lp.name !== valid[j]) {
      const ok = utf8Names ? lp.name !== '' && lp.name.isWellFormed() : LABEL_NAME.test(lp.name);
      if (!ok || lp.name.startsWith('__')) return `has a label with an invalid name: ${lp.name}`;
      valid[j] = lp.name;
    }
    if (m.summary !== undefined && lp.name === 'quantile') return 'must not have an explicit "quantile" label';
    if (!lp.value.isWellFormed())
      return `has a label named ${goQuote(lp.name)} whose value is not utf8: ${goQuote(lp.value)}`;
    previous = lp.name;
  }
  return undefined;
}

/** client_golang's check of names that collide with the `_count`/`_sum`/`_bucket` of another family. */
function suffixCollision(mf: MetricFamily, present: (name: string) => MetricType | undefined): string | undefined {
  const name = mf.name;
  for (const suffix of ['_count', '_sum', '_bucket']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const baseType = present(base);
    if (baseType === 'summary' && suffix !== '_bucket') {
      return `collected metric named "${name}" collides with previously collected summary named "${base}"`;
    }
    if (baseType === 'histogram') {
      return `collected metric named "${name}" collides with previously collected histogram named "${base}"`;
    }
  }
  if (mf.type === 'summary' || mf.type === 'histogram') {
    for (const suffix of ['_count', '_sum']) {
      if (present(name + suffix) !== undefined) {
        return `collected histogram or summary named "${name}" collides with previously collected metric named "${name + suffix}"`;
      }
    }
  }
  if (mf.type === 'histogram' && present(name + '_bucket') !== undefined) {
    return `collected histogram named "${name}" collides with previously collected metric named "${name}_bucket"`;
  }
  return undefined;
}
