// Assembles /metrics from byte strings (latin1 strings, one char per byte of the UTF-8 text: V8
// keeps them at a byte per char and compacts them, unlike many small Buffers). Each stored
// family's series are one "run": its lines, sorted (StoredFamily.lines()), with the sort keys of
// its first and last series. A merged family is its header and the runs of every group, ordered
// by their first series; when runs of different groups do not interleave (the usual case:
// grouping labels such as instance order them), that is all a scrape sends.
//
// Every group of a job shares the job's family names, so a push touches every family of the
// scrape. Each family therefore keeps its runs in order (a FamilyView) and a push only marks its
// group dirty there: the next scrape re-reads the runs of the groups pushed since, moves them to
// their place by binary search, and checks only their neighbours for interleaving. A scrape costs
// the bytes it sends plus the work for what changed. Where runs interleave (a label that sorts
// before the grouping labels, as `code` before `instance`), the family keeps its series merged
// and a push merges in only its group's series.
import type { Metric, MetricFamily, MetricType } from '../model.js';
import { seriesKey } from '../store/consistency.js';
import { type Group, type MetricStore, type StoredFamily } from '../store/types.js';
import { byteString } from '../lib/gostring.js';
import { headerText, isLegacyName, seriesSortKey } from '../lib/textformat.js';
import { compareSeries, familyText, renderSeries, type RenderedSeries } from './text.js';
import { encodeDelimitedHead, encodeMetricEntries, encodeProtobufDelimited, type FamilyHead } from './protobuf.js';
import type { ScrapeFormat } from './negotiate.js';
import { OPENMETRICS_EOF, openMetricsHeader, openMetricsSeries, renderOpenMetricsFamily } from './openmetrics.js';

/** Work done between two turns given to other requests while a scrape is prepared. */
const PREPARE_SLICE_MS = 4;
/** Groups a view reads between two looks at the clock. */
const CATCH_UP_BATCH = 512;
/**
 * After a push, views catch up in the background this long after it (so the pushes meanwhile
 * are read in one pass), a slice of KEEP_UP_SLICE_MS at a time: a scrape then finds them
 * nearly up to date (at 1,000 pushes a second to 10,000 groups, catching up at the scrape was a
 * third of its time).
 */
const KEEP_UP_MS = 20;
const KEEP_UP_SLICE_MS = 2;

interface Run {
  readonly groupId: string;
  /** Replaced by a later push's family whose lines, type and HELP are the same (the run stays as it is). */
  sf: StoredFamily;
  /** Byte string of the series' lines. */
  readonly text: string;
  /** Sort keys (seriesSortKey) of the first and last series; '' for an empty run. */
  readonly first: string;
  readonly last: string;
  /** Where in `text` the lines of the first and last series' keys start. */
  readonly firstAt: number;
  readonly lastAt: number;
  /** Its index in the view's `ordered` when last placed (a hint: checked before use). */
  at: number;
  /** Replaced by a newer run of its group, or its group's family gone: its series leave a merge. */
  superseded: boolean;
}

/** seriesSortKey of the series whose identifying line starts at `at` (escapes undone). */
function sortKeyOfLine(text: string, at: number): string {
  const raw = text.slice(at, text.indexOf('\n', at));
  const line = /[^\x00-\x7f]/.test(raw) ? Buffer.from(raw, 'latin1').toString('utf8') : raw;
  const open = line.indexOf('{');
  const space = line.indexOf(' ');
  if (open < 0 || (space >= 0 && space < open)) return String.fromCharCode(0);
  // Joined, not added up: a key kept by a run is then one flat string, not a chain of a dozen
  // (each a heap object that every full collection marks).
  const key: string[] = [''];
  let count = 0;
  let i = open + 1;
  while (line[i] !== '}') {
    i = line.indexOf('"', i) + 1;
    let end = line.indexOf('"', i);
    const escape = line.indexOf('\\', i);
    if (escape < 0 || escape > end) {
      // No escape in this value (the usual case): it is the text up to the quote.
      key.push(line.slice(i, end), '\u0000');
    } else {
      let v = '';
      for (end = i; line[end] !== '"'; end++) {
        if (line[end] === '\\') {
          end++;
          v += line[end] === 'n' ? '\n' : line[end];
        } else v += line[end];
      }
      key.push(v, '\u0000');
    }
    count++;
    i = end + 1;
    if (line[i] === ',') i++;
  }
  key[0] = String.fromCharCode(count);
  return key.join('');
}

/**
 * Whether two lines (at `i` in `a`, at `j` in `b`) are the same up to the space that ends their
 * name and labels: then their sort keys are the same.
 */
function sameKey(a: string, i: number, b: string, j: number): boolean {
  let quoted = false;
  for (; ; i++, j++) {
    const c = a.charCodeAt(i);
    if (c !== b.charCodeAt(j) || c === 0x0a) return false;
    if (quoted && c === 0x5c) {
      i++;
      j++;
      if (a.charCodeAt(i) !== b.charCodeAt(j)) return false;
    } else if (c === 0x22) quoted = !quoted;
    else if (c === 0x20 && !quoted) return true;
  }
}

/**
 * A family's run in a group, with the sort keys read back from its identifying lines (those of
 * `old`, the group's run before, where the lines start alike: a re-push of the same series, the
 * usual push). `text` is `sf.lines()`; `count` is the family's name followed by `_count`, after a
 * newline; a key read anew is shared through `keys` with the other runs of `group` (sharedKey).
 */
function runOf(
  groupId: string,
  sf: StoredFamily,
  text: string,
  old: Run | undefined,
  count: string,
  keys: WeakMap<Group, string>,
  group: Group,
): Run {
  if (text.length === 0)
    return { groupId, sf, text, first: '', last: '', firstAt: 0, lastAt: 0, at: -1, superseded: false };
  const counted = sf.type === 'summary' || sf.type === 'histogram' || sf.type === 'gaugehistogram';
  // A summary or histogram series ends with its _count line; only a family's series end a line with `{…} `.
  const firstAt = counted ? text.indexOf(count) + 1 : 0;
  const lastAt = text.lastIndexOf('\n', text.length - 2) + 1;
  const known = old !== undefined && old.text.length > 0;
  const first =
    known && sameKey(old.text, old.firstAt, text, firstAt)
      ? old.first
      : sharedKey(keys, group, sortKeyOfLine(text, firstAt));
  // One series (or one summary or histogram): one key for both ends, not two equal strings.
  const last =
    lastAt === firstAt
      ? first
      : known && sameKey(old.text, old.lastAt, text, lastAt)
        ? old.last
        : sharedKey(keys, group, sortKeyOfLine(text, lastAt));
  return { groupId, sf, text, first, last, firstAt, lastAt, at: -1, superseded: false };
}

/**
 * `key`, or the equal string the group's runs have already: a group's families mostly begin with
 * series of its own labels alone, so one key string serves all of them.
 */
function sharedKey(keys: WeakMap<Group, string>, group: Group, key: string): string {
  const known = keys.get(group);
  if (known === key) return known;
  keys.set(group, key);
  return key;
}

/** One series of a run: its lines, its sort key, its run and where it is in the view's merge. */
interface SeriesPiece {
  readonly sort: string;
  readonly text: string;
  readonly run: Run;
  /** Where in `text` the line of its key starts (a summary's or histogram's `_count` line). */
  readonly keyAt: number;
  /** Its index in the merged series (set by the merge that placed it). */
  at: number;
}

/**
 * Calls `each` with the bounds of every series of the run in its order (a run's lines are sorted)
 * and where its key's line starts, until `each` says stop; false when its lines are not those
 * this reads (a quoted name): a summary or histogram series ends with its `_count` line.
 */
function eachSeries(r: Run, each: (start: number, end: number, keyAt: number) => boolean): boolean {
  if (!isLegacyName(r.sf.name)) return false;
  const text = r.text;
  const counted = r.sf.type === 'summary' || r.sf.type === 'histogram' || r.sf.type === 'gaugehistogram';
  const count = r.sf.name + '_count';
  let start = 0;
  for (let at = 0; at < text.length;) {
    const end = text.indexOf('\n', at) + 1;
    if (end === 0) return false;
    const next = text.charCodeAt(at + count.length);
    if (!counted || (text.startsWith(count, at) && (next === 0x7b || next === 0x20))) {
      if (!each(start, end, at)) return false;
      start = end;
    }
    at = end;
  }
  return start === text.length;
}

/** A run's series in its order, or undefined when its lines are not those eachSeries reads. */
function piecesOf(r: Run): SeriesPiece[] | undefined {
  const out: SeriesPiece[] = [];
  const read = eachSeries(r, (start, end, at) => {
    out.push({ sort: sortKeyOfLine(r.text, at), text: r.text.slice(start, end), run: r, keyAt: at - start, at: -1 });
    return true;
  });
  return read ? out : undefined;
}

/**
 * The series of `r` in the places of `old` (its group's series in `merged`), when they are the
 * same series (a re-push with new values, the usual push: the merge's order stays as it is);
 * else undefined.
 */
function samePieces(old: readonly SeriesPiece[], r: Run, merged: readonly SeriesPiece[]): SeriesPiece[] | undefined {
  if (old.length === 0 || old[0].run.sf.type !== r.sf.type) return undefined;
  const out: SeriesPiece[] = [];
  const read = eachSeries(r, (start, end, at) => {
    const o = old[out.length];
    if (o === undefined || merged[o.at] !== o || !sameKey(o.text, o.keyAt, r.text, at)) return false;
    out.push({ sort: o.sort, text: r.text.slice(start, end), run: r, keyAt: at - start, at: o.at });
    return true;
  });
  return read && out.length === old.length ? out : undefined;
}

function bySort(a: SeriesPiece, b: SeriesPiece): number {
  return a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0;
}

/**
 * `kept` without the series of superseded runs, merged with `fresh` (sorted); undefined when two
 * series share a sort key (the store's order of groups decides those) or a run cannot be read.
 * (Superseded runs are told by a flag, not by their groups in a set: tens of thousands of lookups
 * a scrape, each a cache miss, made this merge one of the longest turns of a busy event loop.)
 */
function mergePieces(
  kept: readonly SeriesPiece[],
  fresh: Run[],
  byGroup: Map<string, SeriesPiece[]>,
): SeriesPiece[] | undefined {
  const added: SeriesPiece[] = [];
  for (const r of fresh) {
    const pieces = piecesOf(r);
    if (pieces === undefined) return undefined;
    byGroup.set(r.groupId, pieces);
    for (const p of pieces) added.push(p);
  }
  added.sort(bySort);
  const out: SeriesPiece[] = [];
  let i = 0;
  let j = 0;
  while (i < kept.length || j < added.length) {
    if (i < kept.length && kept[i].run.superseded) {
      i++;
      continue;
    }
    const p = j >= added.length || (i < kept.length && kept[i].sort < added[j].sort) ? kept[i++] : added[j++];
    if (out.length > 0 && out[out.length - 1].sort === p.sort) return undefined;
    p.at = out.length;
    out.push(p);
  }
  return out;
}

/**
 * A format that shows a family as a head and an entry per metric (protobuf, OpenMetrics), so a
 * scrape can be assembled from entries kept per group. Byte strings, like the text scrape's.
 */
interface PieceFormat {
  /** The metrics' entries, in the order given. */
  entries(head: FamilyHead, metrics: readonly Metric[]): string;
  /** What comes before entries of `entriesLength` bytes in a family without a unit. */
  head(head: FamilyHead, entriesLength: number): string;
  /** A whole family. */
  family(mf: MetricFamily): string | Uint8Array;
}

const PROTOBUF: PieceFormat = {
  entries: encodeMetricEntries,
  head: encodeDelimitedHead,
  family: (mf) => encodeProtobufDelimited([mf]),
};

const OPENMETRICS: PieceFormat = {
  entries: (head, metrics) => {
    let s = '';
    for (const m of metrics) s += openMetricsSeries({ ...head, metrics: [] }, m);
    return byteString(s);
  },
  head: (head) => byteString(openMetricsHeader({ ...head, metrics: [] })),
  family: (mf) => byteString(renderOpenMetricsFamily(mf)),
};

/**
 * A run's metrics as a format's entries, sorted and with repeated series left out as merged()
 * sorts them, with the sort keys of the first and last. Runs of a family whose runs interleave
 * also keep each metric's entry and sort key, to be merged series by series.
 */
interface PieceRun {
  readonly entries: string;
  /** '' without metrics. */
  readonly first: string;
  readonly last: string;
  readonly unit: string | undefined;
  readonly keys: string[] | undefined;
  readonly pieces: string[] | undefined;
}

function pieceRunOf(format: PieceFormat, sf: StoredFamily, split: boolean): PieceRun {
  const mf = sf.unpack();
  const all = mf.metrics.map((m) => ({ sort: seriesSortKey(m.labels), id: seriesKey(m), m }));
  all.sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0));
  const keyed = all.filter((k, i) => i === 0 || k.id !== all[i - 1].id || k.sort !== all[i - 1].sort);
  const first = keyed.length === 0 ? '' : keyed[0].sort;
  const last = keyed.length === 0 ? '' : keyed[keyed.length - 1].sort;
  const head = { name: sf.name, type: sf.type };
  if (!split) {
    const entries = format.entries(
      head,
      keyed.map((k) => k.m),
    );
    return { entries, first, last, unit: mf.unit, keys: undefined, pieces: undefined };
  }
  const pieces = keyed.map((k) => format.entries(head, [k.m]));
  const keys = keyed.map((k) => k.sort);
  return { entries: pieces.join(''), first, last, unit: mf.unit, keys, pieces };
}

/** A family's entries per run in one format, and its parts as the last scrape in the format sent them. */
interface PieceCache {
  readonly runs: WeakMap<Run, PieceRun>;
  cached: Array<string | Uint8Array> | undefined;
}

/** Order of runs: by first series, then group (two groups' runs never share a series with the check on). */
function before(a: Run, b: Run): boolean {
  return a.first < b.first || (a.first === b.first && a.groupId < b.groupId);
}

/** Sorted series joined, repeated series (possible with the check off) left out. */
function joinSeries(series: RenderedSeries[]): string {
  const id = (t: string) => t.slice(0, t.lastIndexOf(' ', t.indexOf('\n')));
  let out = '';
  for (let i = 0; i < series.length; i++) {
    if (i > 0 && series[i].sort === series[i - 1].sort && id(series[i].text) === id(series[i - 1].text)) continue;
    out += series[i].text;
  }
  return out;
}

/**
 * One family name across groups: its runs in scrape order, kept up to date from the groups that
 * changed. `parts()` is the header and the texts, or a merge when runs interleave or groups
 * disagree on the type (possible only with the consistency check off).
 */
class FamilyView {
  private readonly byGroup = new Map<string, Run>();
  /** Non-empty runs in scrape order. */
  private readonly ordered: Run[] = [];
  /** Adjacent pairs of `ordered` whose series interleave. */
  private overlaps = 0;
  private dirty = new Set<string>();
  /** The group with the lowest grouping key decides HELP and type, as the reference's first group would. */
  private lead: Run | undefined;
  private leadStale = false;
  private cached: string[] | undefined;
  /** Runs of `ordered` per type: whether all show under the family's type, without reading each run. */
  private readonly types = new Map<MetricType, number>();
  /**
   * The parts last built, from the runs in order or (while they interleave) from the merged
   * series, and the positions of runs replaced in place since (undefined once a run came, went or
   * moved): a re-push changes one slot of a copy, not 50,000.
   */
  private built: string[] | undefined;
  private builtFrom: 'runs' | 'series' | undefined;
  private patched: number[] | undefined;
  /** The build number of `built` (see FamilyParts.build), and how it differs from the build before. */
  private stamp: { build: number; since: PartsDelta | undefined } = { build: 0, since: undefined };
  /**
   * The array built before `built` and where the two differ: the next build brings it up to date
   * and uses it again, unless a scrape still sends it (a copy of 50,000 slots per scrape after a
   * push was most of that scrape's garbage).
   */
  private spare: { parts: string[]; stale: readonly number[] } | undefined;
  /**
   * While runs interleave: every run's series in scrape order, kept up to date from the changed
   * groups as `ordered` is, so a push costs a merge of its series, not a render of every group.
   */
  private series: SeriesPiece[] | undefined;
  /** Each group's series in `series`, and the positions in it replaced in place since the parts were built from it (as `patched`). */
  private readonly seriesOf = new Map<string, SeriesPiece[]>();
  private seriesPatched: number[] | undefined;
  /**
   * The groups whose runs changed since `series` was merged, with their runs now (undefined: none):
   * merged in once, when a scrape asks, not at every batch a scrape's catching up reads (each a
   * pass over all the family's series: 6–25 ms at 10,000 groups, a dozen times a scrape).
   */
  private readonly unmerged = new Map<string, Run | undefined>();
  /** Runs' entries per format, made when a scrape in the format first shows the run (a run is remade when re-read). */
  private readonly formats = new Map<PieceFormat, PieceCache>();

  /** What a summary's or histogram's `_count` line starts with, after the newline before it. */
  private readonly count: string;

  constructor(
    readonly name: string,
    private readonly store: MetricStore,
    groups: Iterable<Group>,
    private readonly keys: WeakMap<Group, string>,
  ) {
    this.count = '\n' + name + '_count';
    // Read by catchUp(), as groups changed since are: a large store's first scrape can take turns.
    for (const g of groups) if (g.families.has(name)) this.dirty.add(g.id);
  }

  /** Whether no group holds the family any more (after bringing it up to date). */
  gone(): boolean {
    this.update();
    return this.byGroup.size === 0;
  }

  touch(groupId: string): void {
    this.dirty.add(groupId);
    this.cached = undefined;
    for (const f of this.formats.values()) f.cached = undefined;
  }

  /** Whether ordered[i] and ordered[i + 1] interleave. */
  private interleave(i: number): boolean {
    return this.ordered[i].last >= this.ordered[i + 1].first;
  }

  /** Changes `overlaps` by `sign` for the pairs around position i (i - 1/i and i/i + 1). */
  private countAround(i: number, sign: 1 | -1): void {
    if (i > 0 && i < this.ordered.length && this.interleave(i - 1)) this.overlaps += sign;
    if (i + 1 < this.ordered.length && this.interleave(i)) this.overlaps += sign;
  }

  private position(r: Run): number {
    if (this.ordered[r.at] === r) return r.at;
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.ordered[mid], r)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private remove(r: Run): void {
    if (r.text.length === 0) return;
    const i = this.position(r);
    this.countAround(i, -1);
    this.ordered.splice(i, 1);
    if (i > 0 && i < this.ordered.length && this.interleave(i - 1)) this.overlaps++;
    this.countType(r, -1);
    this.patched = undefined;
  }

  private insert(r: Run): void {
    if (r.text.length === 0) return;
    const i = this.position(r);
    if (i > 0 && i < this.ordered.length && this.interleave(i - 1)) this.overlaps--;
    this.ordered.splice(i, 0, r);
    r.at = i;
    this.countAround(i, 1);
    this.countType(r, 1);
    this.patched = undefined;
  }

  private countType(r: Run, sign: 1 | -1): void {
    this.types.set(r.sf.type, (this.types.get(r.sf.type) ?? 0) + sign);
  }

  private update(): void {
    this.catchUp(Infinity);
  }

  /**
   * Reads the runs of the groups changed since the last scrape, a batch at a time until
   * `deadline` (a performance.now() time) has passed; true once none is left.
   */
  catchUp(deadline: number): boolean {
    while (this.dirty.size > 0) {
      let batch = this.dirty;
      if (deadline === Infinity) this.dirty = new Set();
      else {
        batch = new Set();
        for (const id of this.dirty) {
          batch.add(id);
          this.dirty.delete(id);
          if (batch.size === CATCH_UP_BATCH) break;
        }
      }
      this.read(batch);
      if (performance.now() > deadline) return this.dirty.size === 0;
    }
    return true;
  }

  /**
   * Brings the runs of these groups into place: a few one by one (binary search, neighbours
   * checked), many in one merge of the sorted new runs into the rest.
   */
  private read(dirty: Set<string>): void {
    // Runs that moved (or came or went), and runs put in their old run's place.
    const gone: Run[] = [];
    const fresh: Run[] = [];
    const renewed: Run[] = [];
    for (const id of dirty) {
      const old = this.byGroup.get(id);
      const group = this.store.group(id);
      const sf = group?.families.get(this.name);
      // Unchanged family (a push time is a new object on every read, so it is always re-read).
      if (old !== undefined && old.sf === sf) continue;
      const text = sf?.lines();
      if (
        old !== undefined &&
        sf !== undefined &&
        text === old.text &&
        sf.type === old.sf.type &&
        sf.help === old.sf.help
      ) {
        // The same lines again (a family whose values did not change, push_failure_time_seconds):
        // its part stays the very string it was, so nothing made of it is made again.
        old.sf = sf;
        for (const f of this.formats.values()) f.runs.delete(old);
        continue;
      }
      if (old !== undefined) old.superseded = true;
      if (sf === undefined) {
        if (old !== undefined) {
          this.byGroup.delete(id);
          gone.push(old);
          if (this.lead === old) this.leadStale = true;
        }
        continue;
      }
      const r = runOf(id, sf, text!, old, this.count, this.keys, group!);
      // Set over the old run, not deleted and added: a map of 10,000 groups whose entries move to
      // its end at every push fills with holes and is rebuilt every few thousand pushes.
      this.byGroup.set(id, r);
      if (old !== undefined && this.lead === old) this.lead = r;
      else if (this.lead === undefined || id < this.lead.groupId) this.lead = r;
      if (old === undefined) fresh.push(r);
      else if (!this.replace(old, r)) {
        gone.push(old);
        fresh.push(r);
      } else renewed.push(r);
    }
    if (gone.length + fresh.length <= 16) {
      for (const r of gone) this.remove(r);
      for (const r of fresh) this.insert(r);
    } else this.merge(gone, fresh);
    if (this.overlaps === 0) {
      this.series = undefined;
      this.unmerged.clear();
      this.seriesOf.clear();
    } else if (this.series !== undefined) {
      for (const r of gone) this.unmerged.set(r.groupId, undefined);
      for (const r of fresh) this.unmerged.set(r.groupId, r);
      for (const r of renewed) this.unmerged.set(r.groupId, r);
    }
    if (this.leadStale) {
      this.leadStale = false;
      this.lead = undefined;
      for (const r of this.byGroup.values())
        if (this.lead === undefined || r.groupId < this.lead.groupId) this.lead = r;
    }
  }

  /**
   * Puts a group's new run where its old one was, when both begin and end with the same series
   * (a re-push of the same series with new values, the usual push): order and overlaps stay.
   */
  private replace(old: Run, r: Run): boolean {
    if (old.text.length === 0 || r.first !== old.first || r.last !== old.last) return false;
    const i = this.position(old);
    if (this.ordered[i] !== old) return false;
    this.ordered[i] = r;
    r.at = i;
    if (old.sf.type !== r.sf.type) {
      this.countType(old, -1);
      this.countType(r, 1);
    }
    // Past half, building anew costs less than patching (and the list stays short while the fast
    // path is not taken). Not sooner: a build without the list tells a gzip scrape nothing of
    // what changed, and it reads every part of the family again (at 1,000 pushes a second to
    // 10,000 groups, a scrape a second apart found an eighth changed often enough).
    if (this.patched !== undefined && this.patched.push(i) > this.ordered.length / 2) this.patched = undefined;
    return true;
  }

  private merge(gone: Run[], fresh: Run[]): void {
    const removed = new Set(gone);
    const kept = this.ordered.filter((r) => !removed.has(r));
    const added = fresh.filter((r) => r.text.length > 0).sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    this.ordered.length = 0;
    let i = 0;
    let j = 0;
    while (i < kept.length || j < added.length) {
      if (j >= added.length || (i < kept.length && before(kept[i], added[j]))) this.ordered.push(kept[i++]);
      else this.ordered.push(added[j++]);
    }
    this.overlaps = 0;
    for (let k = 0; k < this.ordered.length; k++) {
      this.ordered[k].at = k;
      if (k > 0 && this.interleave(k - 1)) this.overlaps++;
    }
    this.types.clear();
    for (const r of this.ordered) this.countType(r, 1);
    this.patched = undefined;
  }

  /** The runs in the store's order of groups: of repeated series (check off), the first group's is shown. */
  private *inStoreOrder(): Iterable<Run> {
    for (const g of this.store.familyGroups(this.name)) {
      const r = this.byGroup.get(g.id);
      if (r !== undefined) yield r;
    }
  }

  /** The type and HELP shown, with the gateway's own family of this name when it has one. */
  private header(own: MetricFamily | undefined): { type: MetricType; help: string | undefined } {
    const type: MetricType = own?.type ?? this.lead?.sf.type ?? 'untyped';
    const reserved = this.store.reserved(this.name);
    const help = own !== undefined || reserved?.forceHelp === true ? (own?.help ?? reserved?.help) : this.lead?.sf.help;
    return { type, help };
  }

  /**
   * The runs' series merged (kept from scrape to scrape), or undefined when the full merge must
   * decide. A group re-pushed with the same series takes its series' places; only groups whose
   * series came, went or changed are merged in (a merge is a pass over every series of the
   * family: a tenth of a busy fleet's scrape for one family of three series per group).
   */
  private interleaved(): SeriesPiece[] | undefined {
    let series = this.series;
    if (series !== undefined && this.unmerged.size > 0) {
      const fresh: Run[] = [];
      let left = false;
      for (const [id, r] of this.unmerged) {
        const old = this.seriesOf.get(id);
        const same = r === undefined || old === undefined ? undefined : samePieces(old, r, series);
        if (same !== undefined) {
          for (const p of same) {
            series[p.at] = p;
            this.seriesPatched?.push(p.at);
          }
          this.seriesOf.set(id, same);
          continue;
        }
        // Its series leave the merge (its run then is superseded), its run now comes in.
        if (old !== undefined) {
          left = true;
          this.seriesOf.delete(id);
        }
        if (r !== undefined) fresh.push(r);
      }
      if (left || fresh.length > 0) {
        series = mergePieces(series, fresh, this.seriesOf);
        this.seriesPatched = undefined;
      }
    }
    this.unmerged.clear();
    if (series === undefined) {
      this.seriesOf.clear();
      series = mergePieces([], this.ordered, this.seriesOf);
      if (series === undefined) this.seriesOf.clear();
      this.seriesPatched = undefined;
    }
    this.series = series;
    return series;
  }

  /** The family's scrape text as byte-string parts; `own` is the gateway's own family of the name. */
  parts(own: MetricFamily | undefined): string[] {
    this.update();
    if (own === undefined && this.cached !== undefined) return this.cached;
    const { type, help } = this.header(own);
    const head = byteString(headerText(this.name, help, type));
    let parts: string[];
    const uniform = (this.types.get(type) ?? 0) === this.ordered.length;
    const series = own === undefined && this.overlaps > 0 && uniform ? this.interleaved() : undefined;
    if (own === undefined && this.overlaps === 0 && uniform) {
      parts = this.build(head, 'runs', this.ordered, this.patched);
      this.patched = [];
    } else if (series !== undefined) {
      parts = this.build(head, 'series', series, this.seriesPatched);
      this.seriesPatched = [];
    } else {
      // Interleaving runs, another type in some group, or the gateway's own series: merged series by series.
      const series: RenderedSeries[] = [];
      for (const r of this.inStoreOrder())
        if (r.sf.type === type) for (const s of renderSeries(r.sf.unpack())) series.push(s);
      if (own !== undefined) for (const s of renderSeries(own)) series.push(s);
      series.sort(compareSeries);
      parts = [head, byteString(joinSeries(series))];
    }
    if (own === undefined) this.cached = parts;
    return parts;
  }

  /**
   * The head and the texts of `from` (runs or merged series) as parts: the last build's array
   * with the slots at `changed` replaced, when it was built from them and `changed` is known.
   */
  private build(
    head: string,
    from: 'runs' | 'series',
    texts: ReadonlyArray<{ readonly text: string }>,
    changed: readonly number[] | undefined,
  ): string[] {
    const base = this.builtFrom === from && changed !== undefined ? this.built : undefined;
    if (base !== undefined && changed!.length === 0 && base[0] === head) {
      // Every group pushed since gave the same lines: the same array and build, so a sender keeps all it made of it.
      return base;
    }
    let parts: string[];
    const spare = this.spare;
    if (base !== undefined) {
      if (spare !== undefined && spare.parts.length === base.length && !sending.has(spare.parts)) {
        parts = spare.parts;
        for (const i of spare.stale) parts[i] = base[i];
      } else parts = base.slice();
      for (const i of changed!) parts[i + 1] = texts[i].text;
    } else {
      parts = new Array<string>(texts.length + 1);
      for (let i = 0; i < texts.length; i++) parts[i + 1] = texts[i].text;
    }
    // The same head string as before when its text is: a sender compares parts by identity.
    parts[0] = base?.[0] === head ? base[0] : head;
    const build = ++builds;
    if (base !== undefined) {
      const delta = changed!.map((i) => i + 1);
      if (parts[0] !== base[0]) delta.push(0);
      this.stamp = { build, since: { base: this.stamp.build, changed: delta } };
      this.spare = { parts: base, stale: delta };
    } else {
      this.stamp = { build, since: undefined };
      this.spare = undefined;
    }
    this.built = parts;
    this.builtFrom = from;
    return parts;
  }

  /** The build of `parts` (the array `parts()` last gave) and how it differs from the build before, when known. */
  stampOf(parts: ReadonlyArray<string>): { build?: number; since?: PartsDelta } {
    return this.built === parts ? this.stamp : {};
  }

  private pieceRun(format: PieceFormat, cache: PieceCache, r: Run, split = false): PieceRun {
    let p = cache.runs.get(r);
    if (p === undefined || (split && p.pieces === undefined)) {
      p = pieceRunOf(format, r.sf, split);
      cache.runs.set(r, p);
    }
    return p;
  }

  /**
   * The metric entries of every group's run of the type, merged by sort key; undefined when a run
   * carries a unit or two series share a sort key (the merge's order and repeats decide those).
   */
  private mergedEntries(format: PieceFormat, cache: PieceCache, type: MetricType): string[] | undefined {
    const keys: string[] = [];
    const pieces: string[] = [];
    for (const r of this.byGroup.values()) {
      if (r.sf.type !== type) continue;
      const p = this.pieceRun(format, cache, r, true);
      if (p.unit !== undefined) return undefined;
      for (let k = 0; k < p.keys!.length; k++) {
        keys.push(p.keys![k]);
        pieces.push(p.pieces![k]);
      }
    }
    const order = Array.from(keys.keys()).sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0));
    for (let i = 1; i < order.length; i++) if (keys[order[i]] === keys[order[i - 1]]) return undefined;
    return order.map((i) => pieces[i]);
  }

  /**
   * The family in a format, as `format.family(this.merged(undefined))` gives it: its head and the runs' entries in scrape order where the runs do not interleave,
   * agree on the type and carry no unit; else the runs' metric entries merged (mergedEntries), or
   * failing that the merge encoded.
   */
  formatParts(format: PieceFormat): Array<string | Uint8Array> {
    this.update();
    let cache = this.formats.get(format);
    if (cache === undefined) {
      cache = { runs: new WeakMap(), cached: undefined };
      this.formats.set(format, cache);
    }
    if (cache.cached !== undefined) return cache.cached;
    const { type, help } = this.header(undefined);
    // Text and protobuf agree on every run's first and last series, so on the runs' order, unless a
    // series has no text lines (possible only for a family kept parsed): then the merge decides.
    let fast = this.overlaps === 0;
    const parts: Array<string | Uint8Array> = [''];
    let length = 0;
    for (let i = 0; fast && i < this.ordered.length; i++) {
      const r = this.ordered[i];
      const p = this.pieceRun(format, cache, r);
      fast = r.sf.type === type && p.unit === undefined && p.first === r.first && p.last === r.last;
      parts.push(p.entries);
      length += p.entries.length;
    }
    if (fast && this.ordered.length !== this.byGroup.size) {
      // Groups with no text lines of the family show nothing in text, and must not in protobuf either.
      for (const r of this.byGroup.values()) {
        if (r.text.length > 0 || r.sf.type !== type) continue;
        const p = this.pieceRun(format, cache, r);
        if (p.first !== '' || p.unit !== undefined) fast = false;
      }
    }
    const head = help === undefined ? { name: this.name, type } : { name: this.name, help, type };
    if (fast) {
      parts[0] = format.head(head, length);
      cache.cached = parts;
      return parts;
    }
    // Interleaving runs or another type in some group: the kept entries merged, not encoded again.
    const merged = this.mergedEntries(format, cache, type);
    if (merged === undefined) cache.cached = [format.family(this.merged(undefined))];
    else {
      length = 0;
      for (const e of merged) length += e.length;
      cache.cached = [format.head(head, length), ...merged];
    }
    return cache.cached;
  }

  /** The family merged as for a text scrape, as a metric family (for the protobuf and OpenMetrics formats). */
  merged(own: MetricFamily | undefined): MetricFamily {
    this.update();
    const { type, help } = this.header(own);
    const keyed: Array<{ sort: string; id: string; m: Metric }> = [];
    const decoded: MetricFamily[] = [];
    for (const r of this.inStoreOrder()) if (r.sf.type === type) decoded.push(r.sf.unpack());
    for (const mf of own === undefined ? decoded : [...decoded, own]) {
      for (const m of mf.metrics) keyed.push({ sort: seriesSortKey(m.labels), id: seriesKey(m), m });
    }
    keyed.sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0));
    const metrics = keyed
      .filter((k, i) => i === 0 || k.id !== keyed[i - 1].id || k.sort !== keyed[i - 1].sort)
      .map((k) => k.m);
    const unit = decoded.find((mf) => mf.unit !== undefined)?.unit;
    const mf: MetricFamily =
      help === undefined ? { name: this.name, type, metrics } : { name: this.name, help, type, metrics };
    if (unit !== undefined) mf.unit = unit;
    return mf;
  }
}

/** Parts equal to `base` (an array of the same length) but at the positions `changed`. */
export interface PartsDelta {
  /** The build of the parts these differ from. */
  readonly base: number;
  readonly changed: ReadonlyArray<number>;
}

/**
 * One family of a scrape as its parts in order. A family's text parts carry a build number that
 * changes whenever they do (the array itself is used again for a later build once no scrape
 * sends it), and how they differ from the build before, when known.
 */
export interface FamilyParts {
  readonly name: string;
  readonly parts: ReadonlyArray<string | Uint8Array>;
  readonly build?: number;
  readonly since?: PartsDelta;
}

/** Builds of parts arrays so far, for their build numbers. */
let builds = 0;

/** Parts arrays a scrape is sending, with how many scrapes send each. */
const sending = new WeakMap<object, number>();

export class ScrapeCache {
  private readonly views = new Map<string, FamilyView>();
  private sortedNames: string[] | null = null;
  private readonly unsubscribe: () => void;
  private closed = false;
  /** Views with groups changed since they caught up, and the timer that will read them. */
  private readonly behind = new Set<FamilyView>();
  private keeping: NodeJS.Timeout | undefined;
  /** The sort key a group's runs last had, shared by its families' runs (see FamilyView.read). */
  private readonly keys = new WeakMap<Group, string>();

  constructor(private readonly store: MetricStore) {
    this.unsubscribe = store.subscribe((change) => {
      for (const name of change.families) {
        const view = this.views.get(name);
        if (view !== undefined) {
          view.touch(change.groupId);
          this.behind.add(view);
        } else this.sortedNames = null;
      }
      if (this.behind.size > 0) this.keepUp(KEEP_UP_MS);
    });
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    clearTimeout(this.keeping);
  }

  private keepUp(delay: number): void {
    if (this.keeping !== undefined || this.closed) return;
    this.keeping = setTimeout(() => {
      this.keeping = undefined;
      const deadline = performance.now() + KEEP_UP_SLICE_MS;
      try {
        for (const view of this.behind) {
          if (!view.catchUp(deadline)) break;
          this.behind.delete(view);
          if (performance.now() > deadline) break;
        }
      } catch {
        // Left to the next scrape, which answers with the error (out of a request, it would end the process).
        this.behind.clear();
        return;
      }
      if (this.behind.size > 0) this.keepUp(0);
    }, delay).unref();
  }

  private view(name: string): FamilyView {
    let v = this.views.get(name);
    if (v === undefined) {
      v = new FamilyView(name, this.store, this.store.familyGroups(name), this.keys);
      this.views.set(name, v);
    }
    return v;
  }

  /** Names of the stored families, sorted; views of families no group holds any more are dropped. */
  private names(): string[] {
    if (this.sortedNames !== null) return this.sortedNames;
    const names = [...this.store.familyNames()].sort();
    const live = new Set(names);
    for (const [name, view] of this.views)
      if (!live.has(name)) {
        this.views.delete(name);
        this.behind.delete(view);
      }
    this.sortedNames = names;
    return names;
  }

  /**
   * Builds the views of everything already stored (a restored store) in the background, one
   * family a turn of the event loop, so the first scrape does not pay for all of them.
   */
  warmUp(): void {
    let names: string[] | undefined;
    const step = () => {
      if (this.closed) return;
      names ??= [...this.store.familyNames()];
      const name = names.pop();
      if (name === undefined) return;
      this.view(name).parts(undefined);
      setImmediate(step);
    };
    setImmediate(step);
  }

  /**
   * Brings every family's parts in `format` up to date, yielding to other requests every few
   * milliseconds (after many pushes, or at the first scrape of a large store, that is seconds of
   * work), so that the scrape that follows only assembles them. False when `gone()` says the
   * scraper left meanwhile.
   */
  async prepare(format: ScrapeFormat, gone: () => boolean): Promise<boolean> {
    let slice = performance.now();
    for (const name of this.names()) {
      if (performance.now() - slice > PREPARE_SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
      if (gone() || this.closed) return false;
      const view = this.view(name);
      while (!view.catchUp(slice + PREPARE_SLICE_MS)) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (gone() || this.closed) return false;
        slice = performance.now();
      }
      if (format === 'text') view.parts(undefined);
      else view.formatParts(format === 'protobuf' ? PROTOBUF : OPENMETRICS);
    }
    return true;
  }

  /** All families merged as for a text scrape, as metric families (for the protobuf and OpenMetrics formats). */
  families(own: MetricFamily[]): MetricFamily[] {
    const out: MetricFamily[] = [];
    for (const [view, mine] of this.walk(own)) out.push(view === undefined ? mine! : view.merged(mine));
    return out;
  }

  /**
   * Every family of the scrape in name order, as the reference sorts them: the stored family's
   * view, the gateway's own family of that name, or both. Families whose last group went since
   * the names were sorted are left out (and the names sorted again next time).
   */
  private *walk(own: MetricFamily[]): Iterable<[FamilyView | undefined, MetricFamily | undefined]> {
    const names = this.names();
    const ownByName = new Map(own.map((mf) => [mf.name, mf]));
    const ownNames = own.map((mf) => mf.name).sort();
    let i = 0;
    let j = 0;
    while (i < names.length || j < ownNames.length) {
      const a = names[i];
      const b = ownNames[j];
      if (a !== undefined && this.view(a).gone()) {
        this.views.delete(a);
        this.sortedNames = null;
        i++;
      } else if (b === undefined || (a !== undefined && a < b)) {
        yield [this.view(a), undefined];
        i++;
      } else {
        yield [a === b ? this.view(b) : undefined, ownByName.get(b)];
        if (a === b) i++;
        j++;
      }
    }
  }

  /**
   * The scrape in `format` as each family's parts (byte strings or bytes). A family no push
   * changed gives the same array as at the last scrape: a sender may key what it made of the
   * parts (their compressed form) on it. The parts are the store's own strings or kept renders:
   * sending them costs no copy of the whole body.
   */
  familyParts(format: ScrapeFormat, own: MetricFamily[]): FamilyParts[] {
    const out: FamilyParts[] = [];
    const pieces = format === 'protobuf' ? PROTOBUF : OPENMETRICS;
    for (const [view, mine] of this.walk(own)) {
      const name = (view?.name ?? mine?.name)!;
      // A family of the gateway's own that nothing pushed shares: its text as is.
      if (format === 'text' && view === undefined) out.push({ name, parts: [byteString(familyText(mine!))] });
      else if (format === 'text') {
        const parts = view!.parts(mine);
        out.push({ name, parts, ...view!.stampOf(parts) });
      } else if (mine === undefined) out.push({ name, parts: view!.formatParts(pieces) });
      // The gateway's own family, alone or merged with pushed ones of its name (a few series).
      else out.push({ name, parts: [pieces.family(view === undefined ? mine : view.merged(mine))] });
    }
    if (format === 'openmetrics') out.push({ name: '', parts: [OPENMETRICS_EOF] });
    return out;
  }

  /**
   * Marks the parts of a scrape as being sent until the returned function is called: a family's
   * parts array is not used again for a later build meanwhile.
   */
  hold(families: ReadonlyArray<{ readonly parts: object }>): () => void {
    for (const f of families) sending.set(f.parts, (sending.get(f.parts) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const f of families) {
        const n = sending.get(f.parts)! - 1;
        if (n === 0) sending.delete(f.parts);
        else sending.set(f.parts, n);
      }
    };
  }

  /** The text scrape as byte-string parts. */
  parts(own: MetricFamily[]): string[] {
    return this.familyParts('text', own).flatMap((f) => f.parts) as string[];
  }

  /** The protobuf scrape: what `encodeProtobufDelimited(this.families(own))` gives, without encoding again what no push changed. */
  protobufParts(own: MetricFamily[]): Array<string | Uint8Array> {
    return this.familyParts('protobuf', own).flatMap((f) => f.parts);
  }

  /** The OpenMetrics scrape as byte strings: `renderOpenMetrics(this.families(own))` as UTF-8. */
  openMetricsParts(own: MetricFamily[]): Array<string | Uint8Array> {
    return this.familyParts('openmetrics', own).flatMap((f) => f.parts);
  }

  /** The scrape body in one buffer (tests, small scrapes); the server streams `parts()` instead. */
  render(own: MetricFamily[]): Buffer {
    const parts = this.parts(own);
    let length = 0;
    for (const p of parts) length += p.length;
    const body = Buffer.allocUnsafe(length);
    let at = 0;
    for (const p of parts) at += body.write(p, at, 'latin1');
    return body;
  }
}
