// Assembles /metrics from byte strings (latin1 strings, one char per byte of the UTF-8 text: V8
// keeps them at a byte per char and compacts them, unlike many small Buffers). Each stored
// family's series are one "run": its lines, sorted, as the store packed them (or rendered once
// for a family it keeps parsed), with the sort keys of its first and last series. A merged
// family is its header and the runs of every group in order; when runs of different groups do
// not interleave (the usual case: grouping labels such as instance order them), that is all a
// re-render does. Interleaving runs are merged series by series. A scrape re-renders only the
// families written since the last one, plus the gateway's own metrics.
import type { Metric, MetricFamily, MetricType } from '../model.js';
import { seriesKey } from '../store/consistency.js';
import type { MetricStore, StoredFamily } from '../store/types.js';
import { byteString } from '../lib/gostring.js';
import { headerText, seriesSortKey } from '../lib/textformat.js';
import { compareSeries, familyText, renderSeries, type RenderedSeries } from './text.js';

/** Whether two rendered series have the same name and labels (their first lines up to the value). */
function sameSeries(a: string, b: string): boolean {
  const key = (t: string) => t.slice(0, t.lastIndexOf(' ', t.indexOf('\n')));
  return key(a) === key(b);
}

/** Sorted series joined, repeated series (possible with the check off) left out. */
function joinSeries(series: RenderedSeries[]): string {
  const parts: string[] = [];
  for (let i = 0; i < series.length; i++) {
    if (i > 0 && series[i].sort === series[i - 1].sort && sameSeries(series[i].text, series[i - 1].text)) continue;
    parts.push(series[i].text);
  }
  return parts.join('');
}

interface Run {
  /** Byte string. */
  text: string;
  first: string;
  last: string;
  /** The text is the store's own (packed) string: a part that costs nothing to keep. */
  stored: boolean;
}

function makeRun(series: RenderedSeries[]): Run {
  if (series.length === 0) return { text: '', first: '', last: '', stored: false };
  return { text: byteString(joinSeries(series)), first: series[0].sort, last: series[series.length - 1].sort, stored: false };
}

/**
 * The parts of a family: the store's strings as they are, anything rendered for the scrape
 * (push times, parsed families) joined into as few strings as possible, since each part costs a
 * copy call per scrape.
 */
function familyParts(header: string, runs: Run[]): string[] {
  const parts = [header];
  let pending: string[] = [];
  for (const r of runs) {
    if (!r.stored) {
      pending.push(r.text);
      continue;
    }
    if (pending.length > 0) parts.push(pending.join(''));
    pending = [];
    parts.push(r.text);
  }
  if (pending.length > 0) parts.push(pending.join(''));
  return parts;
}

/**
 * The run of a packed family: its text as is, with the sort keys of its first and last series
 * read back from their identifying lines (only a family's series end a line with `{…} `).
 */
function packedRun(name: string, type: MetricType, text: string): Run {
  const counted = type === 'summary' || type === 'histogram' || type === 'gaugehistogram';
  // A summary or histogram series ends with its _count line, never its first line.
  const firstLine = counted ? text.indexOf('\n' + name + '_count') + 1 : 0;
  const lastLine = text.lastIndexOf('\n', text.length - 2) + 1;
  return { text, first: sortKeyOfLine(text, firstLine), last: sortKeyOfLine(text, lastLine), stored: true };
}

/** seriesSortKey of the series whose identifying line starts at `at` (escapes undone). */
function sortKeyOfLine(text: string, at: number): string {
  const raw = text.slice(at, text.indexOf('\n', at));
  const line = /[^\x00-\x7f]/.test(raw) ? Buffer.from(raw, 'latin1').toString('utf8') : raw;
  const open = line.indexOf('{');
  const space = line.indexOf(' ');
  if (open < 0 || (space >= 0 && space < open)) return String.fromCharCode(0);
  let count = 0;
  let values = '';
  let i = open + 1;
  while (line[i] !== '}') {
    i = line.indexOf('"', i) + 1;
    let v = '';
    while (line[i] !== '"') {
      if (line[i] === '\\') {
        i++;
        v += line[i] === 'n' ? '\n' : line[i];
      } else v += line[i];
      i++;
    }
    values += v + '\u0000';
    count++;
    i++;
    if (line[i] === ',') i++;
  }
  return String.fromCharCode(count) + values;
}

export class ScrapeCache {
  private readonly runs = new WeakMap<StoredFamily, Run>();
  private readonly familyParts = new Map<string, string[]>();
  private sortedNames: string[] | null = null;

  constructor(private readonly store: MetricStore) {
    store.subscribe((change) => {
      for (const name of change.families) this.familyParts.delete(name);
      this.sortedNames = null;
    });
  }

  /**
   * Renders what a scrape needs of everything already stored (a restored store) in the
   * background: the runs of parsed families a few hundred groups per turn of the event loop,
   * then the parts of each family, so the first scrape does not pay for all of them.
   */
  warmUp(groupsPerTurn = 200): void {
    const groups = this.store.groups()[Symbol.iterator]();
    let names: string[] | undefined;
    const step = () => {
      if (names === undefined) {
        for (let i = 0; i < groupsPerTurn; i++) {
          const next = groups.next();
          if (next.done === true) {
            names = [...this.store.familyNames()];
            break;
          }
          for (const sf of next.value.families.values()) if (sf.packed === undefined) this.runOf(sf);
        }
      } else {
        // Then each family's parts, one family a turn.
        const name = names.pop();
        if (name === undefined) return;
        if (!this.familyParts.has(name)) this.familyParts.set(name, this.renderFamily(name, undefined));
      }
      setImmediate(step);
    };
    setImmediate(step);
  }

  private runOf(sf: StoredFamily): Run {
    if (sf.packed !== undefined) return packedRun(sf.name, sf.type, sf.packed.text);
    let r = this.runs.get(sf);
    if (r === undefined) {
      r = makeRun(renderSeries(sf.family));
      this.runs.set(sf, r);
    }
    return r;
  }

  /**
   * The merged family across groups (and the gateway's own family of that name), as byte parts.
   * Groups disagreeing on HELP or type (possible only with the consistency check off): the group
   * with the lowest grouping key decides, series of another type and repeated series are left out,
   * so the scrape stays valid (the reference answers 500 instead).
   */
  private renderFamily(name: string, own: MetricFamily | undefined): string[] {
    const { type, help, stored } = this.lead(name, own);
    const runs = stored.map((sf) => this.runOf(sf));
    if (own !== undefined) runs.push(makeRun(renderSeries(own)));
    const filled = runs.filter((r) => r.text.length > 0);
    filled.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    const header = byteString(headerText(name, help, type));
    if (filled.every((r, i) => i === 0 || filled[i - 1].last < r.first)) return familyParts(header, filled);
    // Runs interleave: merge series by series.
    const series: RenderedSeries[] = [];
    for (const sf of stored) for (const s of renderSeries(sf.family)) series.push(s);
    if (own !== undefined) for (const s of renderSeries(own)) series.push(s);
    series.sort(compareSeries);
    return [header, byteString(joinSeries(series))];
  }

  /** The type and help a merged family shows, and the stored families of that type. */
  private lead(name: string, own: MetricFamily | undefined): { type: MetricType; help: string | undefined; stored: StoredFamily[] } {
    let lead: StoredFamily | undefined;
    let leadId = '';
    const stored: Array<StoredFamily> = [];
    for (const g of this.store.familyGroups(name)) {
      const sf = g.families.get(name);
      if (sf === undefined) continue;
      stored.push(sf);
      if (lead === undefined || g.id < leadId) {
        lead = sf;
        leadId = g.id;
      }
    }
    const type: MetricType = own?.type ?? lead?.type ?? 'untyped';
    const reserved = this.store.reserved(name);
    const help = own !== undefined || reserved?.forceHelp === true ? (own?.help ?? reserved?.help) : lead?.help;
    return { type, help, stored: stored.filter((sf) => sf.type === type) };
  }

  /** All families merged as for a text scrape, as metric families (for the protobuf format). */
  families(own: MetricFamily[]): MetricFamily[] {
    const ownByName = new Map(own.map((mf) => [mf.name, mf]));
    const names = [...new Set([...this.store.familyNames(), ...ownByName.keys()])].sort();
    return names.map((name) => {
      const mine = ownByName.get(name);
      const { type, help, stored } = this.lead(name, mine);
      const keyed: Array<{ sort: string; id: string; m: Metric }> = [];
      const decoded = stored.map((sf) => sf.family);
      for (const mf of [...decoded, ...(mine ? [mine] : [])]) {
        for (const m of mf.metrics) keyed.push({ sort: seriesSortKey(m.labels), id: seriesKey(m), m });
      }
      keyed.sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0));
      const metrics = keyed.filter((k, i) => i === 0 || k.id !== keyed[i - 1].id || k.sort !== keyed[i - 1].sort).map((k) => k.m);
      const unit = decoded.find((mf) => mf.unit !== undefined)?.unit;
      const mf: MetricFamily = help === undefined ? { name, type, metrics } : { name, help, type, metrics };
      if (unit !== undefined) mf.unit = unit;
      return mf;
    });
  }

  /** The scrape body, families sorted by name as the reference sorts them. */
  render(own: MetricFamily[]): Buffer {
    const parts = this.parts(own);
    let length = 0;
    for (const p of parts) length += p.length;
    const body = Buffer.allocUnsafe(length);
    let at = 0;
    for (const p of parts) at += body.write(p, at, 'latin1');
    return body;
  }

  private parts(own: MetricFamily[]): string[] {
    if (this.sortedNames === null) this.sortedNames = [...this.store.familyNames()].sort();
    const ownByName = new Map(own.map((mf) => [mf.name, mf]));
    const names = this.sortedNames;
    const ownNames = own.map((mf) => mf.name).sort();
    const parts: string[] = [];
    let i = 0;
    let j = 0;
    while (i < names.length || j < ownNames.length) {
      const a = names[i];
      const b = ownNames[j];
      if (b === undefined || (a !== undefined && a < b)) {
        let cached = this.familyParts.get(a);
        if (cached === undefined) {
          cached = this.renderFamily(a, undefined);
          this.familyParts.set(a, cached);
        }
        for (const p of cached) parts.push(p);
        i++;
      } else if (a !== b) {
        // A family of the gateway's own that nothing pushed shares: its text as is.
        parts.push(byteString(familyText(ownByName.get(b)!)));
        j++;
      } else {
        for (const p of this.renderFamily(b, ownByName.get(b))) parts.push(p);
        i++;
        j++;
      }
    }
    return parts;
  }

}
