// Deadlines of groups, earliest first: a 4-ary min-heap of items (time, slot) with lazy updates.
// A group pushed again before its deadline only moves its deadline later, which changes one number
// (no heap operation): its item stays where it is and is queued again at the new deadline when it
// comes up, so a group re-pushed every second costs one heap operation per TTL, not per push. An
// earlier deadline (a shorter TTL) or a removal leaves the old item behind, skipped when it comes
// up; the heap is compacted when such leftovers outnumber the live entries.
//
// Everything lives in typed arrays indexed by slot (one per holder, reused once freed) and by heap
// position, and each holder (a group) keeps its own slot: an object per entry and per item made
// 100,000 groups cost ~300,000 objects that every full collection marked, a promoted object per
// heap operation, a cache miss per comparison (each time behind a pointer) and a lookup by id per
// push; here the times of siblings sit side by side, a push moves its group's deadline through
// the slot it holds, and nothing is allocated but when the arrays grow. They are sized for the
// most holders that ever had a deadline at once (~36 bytes each, outside the JS heap).

/** Leftover items tolerated beyond the live ones before the heap is compacted. */
const SLACK = 64;
const INITIAL = 64;
/** Children per heap node: four times fit one cache line, and the heap is half as deep as a binary one. */
const ARITY = 4;

/** What has a deadline: a group. Only the heap it is queued in sets `deadlineSlot`. */
export interface Holder {
  readonly id: string;
  /** Its slot in the heap's arrays; -1 while it has no deadline there. */
  deadlineSlot: number;
}

export class Deadlines {
  private count = 0;
  /** Per slot: its holder (undefined while free), deadline, and the sequence number and time of its live item. */
  private holders: (Holder | undefined)[] = [];
  private deadlines = new Float64Array(INITIAL);
  private liveSeq = new Float64Array(INITIAL);
  private liveTime = new Float64Array(INITIAL);
  private readonly free: number[] = [];
  /** Per heap position: the item's time, its sequence number (which tells a leftover) and its slot. */
  private times = new Float64Array(INITIAL);
  private seqs = new Float64Array(INITIAL);
  private owners = new Int32Array(INITIAL);
  private length = 0;
  /** Sequence numbers of items; exact as doubles far beyond any count of heap operations. */
  private seq = 0;

  /** Number of holders with a deadline. */
  get size(): number {
    return this.count;
  }

  /** Items in the heap, leftovers included (for tests of the compaction). */
  get heapLength(): number {
    return this.length;
  }

  deadline(holder: Holder): number | undefined {
    return holder.deadlineSlot < 0 ? undefined : this.deadlines[holder.deadlineSlot];
  }

  set(holder: Holder, deadline: number): void {
    const slot = holder.deadlineSlot;
    if (slot < 0) {
      const fresh = this.claim(holder);
      this.deadlines[fresh] = deadline;
      this.queue(fresh, deadline);
      return;
    }
    this.deadlines[slot] = deadline;
    // A later deadline is found when the earlier item comes up; only an earlier one needs an item now.
    if (deadline < this.liveTime[slot]) this.queue(slot, deadline);
  }

  delete(holder: Holder): void {
    if (holder.deadlineSlot < 0) return;
    this.release(holder.deadlineSlot);
    this.compactIfLittleLive();
  }

  /** The earliest time an id may be due (its deadline or an earlier one it had), or undefined. */
  next(): number | undefined {
    this.dropLeftovers();
    return this.length === 0 ? undefined : this.times[0];
  }

  /**
   * Removes and returns up to `max` holders' ids whose deadline is at or before `now`, earliest
   * first. Holders whose deadline moved later are queued again at it.
   */
  popDue(now: number, max = Infinity): string[] {
    const due: string[] = [];
    while (due.length < max) {
      this.dropLeftovers();
      if (this.length === 0 || this.times[0] > now) break;
      const slot = this.owners[0];
      const deadline = this.deadlines[slot];
      if (deadline <= now) {
        this.removeTop();
        due.push(this.release(slot));
      } else {
        // Queued again at its deadline: the top item replaced in place, one sift instead of two.
        const seq = ++this.seq;
        this.liveSeq[slot] = seq;
        this.liveTime[slot] = deadline;
        this.siftDown(0, deadline, seq, slot);
      }
    }
    return due;
  }

  private claim(holder: Holder): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.holders.length;
      this.holders.push(holder);
      if (slot === this.deadlines.length) {
        this.deadlines = grown(this.deadlines);
        this.liveSeq = grown(this.liveSeq);
        this.liveTime = grown(this.liveTime);
      }
    } else this.holders[slot] = holder;
    holder.deadlineSlot = slot;
    this.count++;
    return slot;
  }

  /** Frees the slot (its items become leftovers); returns its holder's id. */
  private release(slot: number): string {
    const holder = this.holders[slot]!;
    holder.deadlineSlot = -1;
    this.holders[slot] = undefined;
    this.liveSeq[slot] = -1;
    this.count--;
    this.free.push(slot);
    return holder.id;
  }

  private queue(slot: number, time: number): void {
    const seq = ++this.seq;
    this.liveSeq[slot] = seq;
    this.liveTime[slot] = time;
    if (this.length === this.times.length) {
      this.times = grown(this.times);
      this.seqs = grown(this.seqs);
      const owners = new Int32Array(2 * this.owners.length);
      owners.set(this.owners);
      this.owners = owners;
    }
    this.siftUp(this.length++, time, seq, slot);
    this.compactIfLittleLive();
  }

  private dropLeftovers(): void {
    while (this.length > 0 && this.liveSeq[this.owners[0]] !== this.seqs[0]) this.removeTop();
  }

  private removeTop(): void {
    const last = --this.length;
    if (last > 0) this.siftDown(0, this.times[last], this.seqs[last], this.owners[last]);
  }

  private siftUp(start: number, time: number, seq: number, slot: number): void {
    const { times, seqs, owners } = this;
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 2;
      if (times[parent] <= time) break;
      times[i] = times[parent];
      seqs[i] = seqs[parent];
      owners[i] = owners[parent];
      i = parent;
    }
    times[i] = time;
    seqs[i] = seq;
    owners[i] = slot;
  }

  /** Places the item (time, seq, slot) at `start` or below, among the first `length` positions. */
  private siftDown(start: number, time: number, seq: number, slot: number): void {
    const { times, seqs, owners, length } = this;
    let i = start;
    for (;;) {
      const first = ARITY * i + 1;
      if (first >= length) break;
      const end = Math.min(first + ARITY, length);
      let child = first;
      let childTime = times[first];
      for (let c = first + 1; c < end; c++) {
        if (times[c] < childTime) {
          child = c;
          childTime = times[c];
        }
      }
      if (childTime >= time) break;
      times[i] = childTime;
      seqs[i] = seqs[child];
      owners[i] = owners[child];
      i = child;
    }
    times[i] = time;
    seqs[i] = seq;
    owners[i] = slot;
  }

  /** Drops the leftovers once they are more than half of the heap, in place: O(1) per change, amortized. */
  private compactIfLittleLive(): void {
    if (this.length <= 2 * this.count + SLACK) return;
    const { times, seqs, owners, liveSeq } = this;
    let n = 0;
    for (let i = 0; i < this.length; i++) {
      if (liveSeq[owners[i]] !== seqs[i]) continue;
      times[n] = times[i];
      seqs[n] = seqs[i];
      owners[n] = owners[i];
      n++;
    }
    this.length = n;
    for (let i = ((n - 2) >> 2) + 1; i-- > 0;) this.siftDown(i, times[i], seqs[i], owners[i]);
  }
}

function grown(a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const b = new Float64Array(2 * a.length);
  b.set(a);
  return b;
}
