// Sorting the few elements of the push path's arrays (grouping label names, a push's families, a
// family's series). V8's Array.prototype.sort allocates work space on every call whatever the
// length (~1.6 KB measured), which was a tenth of a small push's garbage; an insertion sort in
// place allocates nothing. Each element's place is found by binary search, so a fleet push's 24
// families or a push of 20 series compare about as often as a merge sort would.

/** Longer than this, the native sort (moving elements one by one would cost more than its garbage). */
const SHORT = 64;

interface Sortable<T> {
  readonly length: number;
  [i: number]: T;
  sort(compare: (a: T, b: T) => number): unknown;
}

/** Sorts `a` in place by `compare`, as a.sort(compare) does (stable). */
export function sortInPlace<T>(a: Sortable<T>, compare: (x: T, y: T) => number): void {
  if (a.length > SHORT) {
    a.sort(compare);
    return;
  }
  for (let k = 1; k < a.length; k++) {
    const x = a[k];
    // Already in place: sorted input costs one comparison per element.
    if (compare(a[k - 1], x) <= 0) continue;
    // After every element not greater than x: equal ones keep their order.
    let lo = 0;
    let hi = k - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(a[mid], x) > 0) hi = mid;
      else lo = mid + 1;
    }
    for (let j = k; j > lo; j--) a[j] = a[j - 1];
    a[lo] = x;
  }
}

/** Compares strings as the default sort does (by UTF-16 code units). */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
