// Sorting the few elements of the push path's arrays (grouping label names, a push's families, a
// family's series). V8's Array.prototype.sort allocates work space on every call whatever the
// length (~1.6 KB measured), which was a tenth of a small push's garbage; an insertion sort in
// place allocates nothing.

/** Longer than this, the native sort. */
const SHORT = 16;

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
    let j = k - 1;
    while (j >= 0 && compare(a[j], x) > 0) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = x;
  }
}

/** Compares strings as the default sort does (by UTF-16 code units). */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
