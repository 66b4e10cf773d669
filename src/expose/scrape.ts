// Assembles /metrics from cached text. Each stored family's series are rendered once, when the
// family is stored; each merged family's text is kept until a write touches that name. A scrape
// only re-renders what changed since the last one, plus the gateway's own metrics.
import type { MetricFamily, MetricType } from '../model.js';
import type { MetricStore, StoredFamily } from '../store/types.js';
import { compareSeries, headerText, renderSeries, type RenderedSeries } from './text.js';

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

  /** The merged text of one family across groups (and the gateway's own family of that name). */
  private renderFamily(name: string, own: MetricFamily | undefined): string {
    const entries: RenderedSeries[] = [];
    let type: MetricType | undefined = own?.type;
    let help: string | undefined = own?.help;
    let helpFrom: string | undefined;
    for (const g of this.store.familyGroups(name)) {
      const sf = g.families.get(name);
      if (sf === undefined) continue;
      type ??= sf.family.type;
      // Groups disagreeing on HELP: the group with the lowest grouping key wins (documented).
      if (own === undefined && (helpFrom === undefined || g.id < helpFrom)) {
        helpFrom = g.id;
        help = sf.family.help;
      }
      for (const s of this.seriesOf(sf)) entries.push(s);
    }
    const reserved = this.store.reserved(name);
    if (reserved !== undefined) help = reserved.help;
    if (own !== undefined) for (const s of renderSeries(own)) entries.push(s);
    entries.sort(compareSeries);
    let text = headerText(name, help, type ?? 'untyped');
    for (const e of entries) text += e.text;
    return text;
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
