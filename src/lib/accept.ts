// The Accept header as goautoneg.ParseAccept (vendored in prometheus/common's expfmt) reads it,
// quirks included, so that a scrape is answered in the format and with the name escaping the
// reference would pick:
//  - media types and parameter names are case-sensitive, and parameter values are not unquoted;
//  - q is parsed as a float32 by strconv.ParseFloat and a malformed q (" 0.9" included: it is not
//    trimmed) reads 0, but a clause with q=0 is not dropped: it only sorts last;
//  - a clause without "/" is skipped, except "*" (read as */*);
//  - clauses are ordered by goautoneg's Less (higher q first, and a concrete type or subtype
//    before a wildcard whatever the q) with the insertion sort that Go's sort.Sort applies to up
//    to 12 elements. Longer headers are ordered by the same insertion sort, where Go 1.19's
//    pdqsort may order equal-q clauses differently.
import { decimalEnd, parseGoFloat } from './gofloat.js';

/** One clause of an Accept header, as goautoneg.Accept. */
export interface AcceptClause {
  type: string;
  subType: string;
  q: number;
  params: Map<string, string>;
}

/** Go's strings.Trim(s, " "). */
function trimSpaces(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) === 32) a++;
  while (b > a && s.charCodeAt(b - 1) === 32) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** strconv.ParseFloat(s, 32) as goautoneg uses it: the value even on a range error, 0 on a syntax error. */
function parseQ(s: string): number {
  const v = parseGoFloat(s);
  if (v !== undefined) return Math.fround(v);
  const signed = s.charCodeAt(0) === 43 || s.charCodeAt(0) === 45;
  if (decimalEnd(s, signed ? 1 : 0) === s.length) return s[0] === '-' ? -Infinity : Infinity;
  return 0;
}

/** goautoneg's Less: not a strict order, which is why the sort algorithm matters. */
function less(a: AcceptClause, b: AcceptClause): boolean {
  if (a.q > b.q) return true;
  if (a.type !== '*' && b.type === '*') return true;
  if (a.subType !== '*' && b.subType === '*') return true;
  return false;
}

/** goautoneg.ParseAccept: the clauses of an Accept header, in the order they are tried. */
export function parseAccept(header: string): AcceptClause[] {
  const out: AcceptClause[] = [];
  for (const rawPart of header.split(',')) {
    const part = trimSpaces(rawPart);
    const mrp = part.split(';');
    const sp = mrp[0].split('/');
    const type = trimSpaces(sp[0]);
    let subType: string;
    if (sp.length === 1 && type === '*') subType = '*';
    else if (sp.length === 2) subType = trimSpaces(sp[1]);
    else continue;
    const clause: AcceptClause = { type, subType, q: 1, params: new Map() };
    for (let k = 1; k < mrp.length; k++) {
      const param = mrp[k];
      const eq = param.indexOf('=');
      if (eq < 0) continue;
      const token = trimSpaces(param.slice(0, eq));
      if (token === 'q') clause.q = parseQ(param.slice(eq + 1));
      else clause.params.set(token, trimSpaces(param.slice(eq + 1)));
    }
    out.push(clause);
  }
  // Go's insertionSort(data, 0, n), which sort.Sort uses for n <= 12.
  for (let i = 1; i < out.length; i++) {
    for (let j = i; j > 0 && less(out[j], out[j - 1]); j--) {
      const t = out[j];
      out[j] = out[j - 1];
      out[j - 1] = t;
    }
  }
  return out;
}
