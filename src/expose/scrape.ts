// Assembles /metrics from cached text. Each stored family's series are rendered once, when the
// family is stored; each merged family's text is kept until a write touches that name. A scrape
// only re-renders what changed since the last one, plus the gateway's own metrics.
import type { Metric, MetricFamily, MetricType } from '../model.js';
import { seriesKey } from '../store/consistency.js';
import type { MetricStore, StoredFamily } from '../store/types.js';
import { compareSeries, headerText, renderSeries, seriesSortKey, type RenderedSeries } from './text.js';

/** Whether two rendered series have the same name and labels (their first lines up to the value). */
function sameSeries(a: string, b: string): boolean {
  const key = (t: string) => t.slice(0, t.lastIndexOf(' ', t.indexOf('\n')));
  return key(a) === key(b);
}

export class ScrapeCache {
  private readonly rendered = new WeakMap<StoredFamily, RenderedSeries[]>();
  private readonly familyText = new Map<string, string>();
  private sortedNames: string[] | null = null;

  constructor(private readonly store: MetricStore) {
    store.subscribe((change) => {
      for (const name of change.families) this.familyText.delete(name);
      this.sortedNames = null;
    });
  }

  private seriesOf(sf: StoredFamily): RenderedSeries[] {
    let r = this.rendered.get(sf);
    if (r === undefined) {
      r = renderSeries(sf.family);
      this.rendered.set(sf, r);
    }
    return r;
  }

  /**
   * The merged text of one family across groups (and the gateway's own family of that name).
   * Groups disagreeing on HELP or type (possible only with the consistency check off): the group
   * with the lowest grouping key decides, series of another type and repeated series are left out,
   * so the scrape stays valid (the reference answers 500 instead).
   */
  private renderFamily(name: string, own: MetricFamily | undefined): string {
    const { type, help, stored } = this.lead(name, own);
    const entries: RenderedSeries[] = [];
    for (const sf of stored) for (const s of this.seriesOf(sf)) entries.push(s);
    if (own !== undefined) for (const s of renderSeries(own)) entries.push(s);
    entries.sort(compareSeries);
    let text = headerText(name, help, type);
    for (let i = 0; i < entries.length; i++) {
      if (i > 0 && entries[i].sort === entries[i - 1].sort && sameSeries(entries[i].text, entries[i - 1].text)) continue;
      text += entries[i].text;
    }
    return text;
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
    const type: MetricType = own?.type ?? lead?.family.type ?? 'untyped';
    const reserved = this.store.reserved(name);
    const help = own !== undefined || reserved?.forceHelp === true ? (own?.help ?? reserved?.help) : lead?.family.help;
    return { type, help, stored: stored.filter((sf) => sf.family.type === type) };
  }

  /** All families merged as for a text scrape, as metric families (for the protobuf format). */
  families(own: MetricFamily[]): MetricFamily[] {
    const ownByName = new Map(own.map((mf) => [mf.name, mf]));
    const names = [...new Set([...this.store.familyNames(), ...ownByName.keys()])].sort();
    return names.map((name) => {
      const mine = ownByName.get(name);
      const { type, help, stored } = this.lead(name, mine);
      const keyed: Array<{ sort: string; id: string; m: Metric }> = [];
      for (const mf of [...stored.map((sf) => sf.family), ...(mine ? [mine] : [])]) {
        for (const m of mf.metrics) keyed.push({ sort: seriesSortKey(m.labels), id: seriesKey(m), m });
      }
      keyed.sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0));
      const metrics = keyed.filter((k, i) => i === 0 || k.id !== keyed[i - 1].id || k.sort !== keyed[i - 1].sort).map((k) => k.m);
      return help === undefined ? { name, type, metrics } : { name, help, type, metrics };
    });
  }

  /** The scrape body as chunks, families sorted by name as the reference sorts them. */
  render(own: MetricFamily[]): string[] {
    if (this.sortedNames === null) this.sortedNames = [...this.store.familyNames()].sort();
    const ownByName = new Map(own.map((mf) => [mf.name, mf]));
    const names = this.sortedNames;
    const ownNames = own.map((mf) => mf.name).sort();
    const chunks: string[] = [];
    let i = 0;
    let j = 0;
    while (i < names.length || j < ownNames.length) {
      const a = names[i];
      const b = ownNames[j];
      if (b === undefined || (a !== undefined && a < b)) {
        let text = this.familyText.get(a);
        if (text === undefined) {
          text = this.renderFamily(a, undefined);
          this.familyText.set(a, text);
        }
        chunks.push(text);
        i++;
      } else if (a === b) {
        chunks.push(this.renderFamily(a, ownByName.get(a)));
        i++;
        j++;
      } else {
        chunks.push(this.renderFamily(b, ownByName.get(b)));
        j++;
      }
    }
    return chunks;
  }
}
