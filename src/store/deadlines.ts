// Deadlines of groups, earliest first: a binary min-heap of items (time, entry) with lazy updates.
// A group pushed again before its deadline only moves its deadline later, which changes one number
// (no heap operation): its item stays where it is and is queued again at the new deadline when it
// comes up, so a group re-pushed every second costs one heap operation per TTL, not per push. An
// earlier deadline (a shorter TTL) or a removal leaves the old item behind, skipped when it comes
// up; the heap is rebuilt when such leftovers outnumber the live entries.

interface Entry {
  readonly id: string;
  deadline: number;
  /** The entry's item in the heap (the others of the entry are leftovers); undefined once removed. */
  live: Item | undefined;
}

interface Item {
  readonly time: number;
  readonly entry: Entry;
}

/** Leftover items tolerated beyond the live ones before the heap is rebuilt. */
const SLACK = 64;

export class Deadlines {
  private readonly entries = new Map<string, Entry>();
  private heap: Item[] = [];

  /** Number of ids with a deadline. */
  get size(): number {
    return this.entries.size;
  }

  /** Items in the heap, leftovers included (for tests of the rebuild). */
  get heapLength(): number {
    return this.heap.length;
  }

  deadline(id: string): number | undefined {
    return this.entries.get(id)?.deadline;
  }

  set(id: string, deadline: number): void {
    const entry = this.entries.get(id);
    if (entry === undefined) {
      const fresh: Entry = { id, deadline, live: undefined };
      this.entries.set(id, fresh);
      this.queue(fresh, deadline);
      return;
    }
    entry.deadline = deadline;
    // A later deadline is found when the earlier item comes up; only an earlier one needs an item now.
    if (deadline < entry.live!.time) this.queue(entry, deadline);
  }

  delete(id: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    entry.live = undefined;
    this.entries.delete(id);
    this.rebuildIfLittleLive();
  }

  /** The earliest time an id may be due (its deadline or an earlier one it had), or undefined. */
  next(): number | undefined {
    this.dropLeftovers();
    return this.heap[0]?.time;
  }

  /**
   * Removes and returns up to `max` ids whose deadline is at or before `now`, earliest first.
   * Ids whose deadline moved later are queued again at it.
   */
  popDue(now: number, max = Infinity): string[] {
    const due: string[] = [];
    while (due.length < max) {
      this.dropLeftovers();
      const top = this.heap[0];
      if (top === undefined || top.time > now) break;
      this.pop();
      const entry = top.entry;
      if (entry.deadline <= now) {
        entry.live = undefined;
        this.entries.delete(entry.id);
        due.push(entry.id);
      } else this.queue(entry, entry.deadline);
    }
    return due;
  }

  private queue(entry: Entry, time: number): void {
    const item: Item = { time, entry };
    entry.live = item;
    const heap = this.heap;
    let i = heap.push(item) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].time <= time) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = item;
    this.rebuildIfLittleLive();
  }

  private dropLeftovers(): void {
    while (this.heap.length > 0 && this.heap[0].entry.live !== this.heap[0]) this.pop();
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    this.siftDown(0, last);
  }

  private siftDown(start: number, item: Item): void {
    const heap = this.heap;
    const n = heap.length;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1].time < heap[child].time) child++;
      if (heap[child].time >= item.time) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = item;
  }

  /** Rebuilds the heap from the live items once leftovers are more than half of it: O(1) per change, amortized. */
  private rebuildIfLittleLive(): void {
    if (this.heap.length <= 2 * this.entries.size + SLACK) return;
    const heap: Item[] = [];
    for (const entry of this.entries.values()) heap.push(entry.live!);
    this.heap = heap;
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i, heap[i]);
  }
}
