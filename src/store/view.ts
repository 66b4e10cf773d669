// A store that keeps its state in another store, its local view, and decides only how changes
// reach it: the durable store (disk) over memory, a replica (Redis) over memory. Reads and the
// change feed are the view's.
import type { ExpiryState, Group, MetricStore, ReservedFamily, StoreChange } from './types.js';

export abstract class ViewedStore<View extends MetricStore = MetricStore> {
  protected constructor(protected readonly inner: View) {}

  get groupCount(): number {
    return this.inner.groupCount;
  }
  get seriesCount(): number {
    return this.inner.seriesCount;
  }
  groups(): Iterable<Group> {
    return this.inner.groups();
  }
  group(id: string): Group | undefined {
    return this.inner.group(id);
  }
  familyNames(): Iterable<string> {
    return this.inner.familyNames();
  }
  familyGroups(name: string): Iterable<Group> {
    return this.inner.familyGroups(name);
  }
  reserved(name: string): ReservedFamily | undefined {
    return this.inner.reserved(name);
  }
  get version(): number {
    return this.inner.version;
  }
  get expiry(): ExpiryState {
    return this.inner.expiry;
  }
  subscribe(listener: (change: StoreChange) => void): () => void {
    return this.inner.subscribe(listener);
  }
}
