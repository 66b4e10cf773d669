// Go's float formatting and parsing, as the reference prints and reads numbers. Go's strconv 'g'
// with shortest precision switches to exponent form at 1e-5 and 1e+06 (JavaScript only at 1e-7
// and 1e21), and pads the exponent to two digits, so JavaScript's own toString is only usable in
// between.

/** Go's strconv.FormatFloat(v, 'g', -1, 64), with fmt's spelling of the infinities. */
export function formatGoFloat(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const abs = v < 0 ? -v : v;
  if ((abs >= 1e-4 && abs < 1e6) || v === 0) return Object.is(v, -0) ? '-0' : String(v);
  const s = v.toExponential();
  const e = s.indexOf('e');
  const exp = Number(s.slice(e + 1));
  const mantissa = s.slice(0, e);
  const a = exp < 0 ? -exp : exp;
  return `${mantissa}e${exp < 0 ? '-' : '+'}${a < 10 ? '0' : ''}${a}`;
}

/** The text exposition format's float: like Go's, but negative zero prints as "0". */
export function formatSampleValue(v: number): string {
  return v === 0 ? '0' : formatGoFloat(v);
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14];
const digitsAt: number[] = [];

/**
 * Writes formatSampleValue(v) into `buf` at `p` (ASCII: one byte per char), returning the index
 * after it; the room is the caller's (at most 24 bytes). A value of at most 15 significant digits
 * between 1e-4 and 1e6, the usual pushed value, is written digit by digit without a string:
 * printing numbers was a tenth of packing a push. Such a value is x / 10^d for an integer x below
 * 10^15, and the decimal of x and d is then the shortest that reads back as v (two decimals of 15
 * digits or fewer never read as the same double), which is what Go and JavaScript print in this
 * range; anything else takes formatSampleValue.
 */
export function writeSampleValue(buf: Uint8Array, p: number, v: number): number {
  const abs = v < 0 ? -v : v;
  if (abs >= 1e-4 && abs < 1e6) {
    for (let d = 0; d < POW10.length; d++) {
      const x = abs * POW10[d];
      if (x >= 1e15) break;
      if (x !== Math.floor(x)) continue;
      if (x / POW10[d] !== abs) break;
      // In two halves of eight digits, as int32 arithmetic (a double's % is a slow call).
      const high = Math.floor(x / 1e8);
      let low = x - high * 1e8;
      let n = 0;
      for (; low > 0 || (high > 0 && n < 8); low = (low / 10) | 0) digitsAt[n++] = low % 10;
      for (let h = high; h > 0; h = (h / 10) | 0) digitsAt[n++] = h % 10;
      // Trailing zeros of the fraction are not printed (x = 10 for 0.1 found at d = 2 by rounding).
      let skip = 0;
      while (skip < d && digitsAt[skip] === 0) skip++;
      if (v < 0) buf[p++] = 0x2d; // -
      if (n <= d) {
        buf[p++] = 0x30; // 0
        buf[p++] = 0x2e; // .
        for (let z = n; z < d; z++) buf[p++] = 0x30;
      }
      for (let k = n - 1; k >= skip; k--) {
        if (k === d - 1 && n > d) buf[p++] = 0x2e;
        buf[p++] = 0x30 + digitsAt[k];
      }
      return p;
    }
  }
  const s = formatSampleValue(v);
  for (let k = 0; k < s.length; k++) buf[p++] = s.charCodeAt(k);
  return p;
}

/**
 * Whether the chars of `s` from `from` to `to` are a number formatSampleValue prints as they are:
 * [-]digits[.digits] without a leading zero (but a lone one before the point) or a trailing zero
 * after the point, of at most 15 significant digits, 0 or between 1e-4 and 1e6 in magnitude (not
 * -0). Such a decimal is the shortest that reads back as its double (two decimals of 15 digits or
 * fewer never read as the same one), which is what Go and JavaScript print in that range.
 */
export function printsAsItself(s: string, from: number, to: number): boolean {
  let i = from;
  if (i < to && s.charCodeAt(i) === 45) i++; // -
  const intStart = i;
  while (i < to && isDigit(s.charCodeAt(i))) i++;
  const intDigits = i - intStart;
  if (intDigits === 0 || intDigits > 6) return false;
  const zero = s.charCodeAt(intStart) === 48;
  if (zero && intDigits > 1) return false;
  if (i === to) return !zero || intStart === from; // "0", not "-0"
  if (s.charCodeAt(i) !== 46) return false; // .
  const fracStart = ++i;
  while (i < to && isDigit(s.charCodeAt(i))) i++;
  if (i !== to || i === fracStart || s.charCodeAt(i - 1) === 48) return false;
  if (!zero) return intDigits + (to - fracStart) <= 15;
  let lead = fracStart;
  while (s.charCodeAt(lead) === 48) lead++;
  return lead - fracStart <= 3 && to - lead <= 15;
}

/** A uint64 count (bucket or sample count), printed as Go prints integers. */
export function formatCount(v: number): string {
  return Number.isSafeInteger(v) ? String(v) : BigInt(Math.trunc(v)).toString();
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Where a decimal number starting at `i` ends (digits, an optional "." and digits, at least one
 * digit, then an optional exponent), or -1 when there is none or its exponent has no digits.
 */
export function decimalEnd(s: string, i: number): number {
  const n = s.length;
  let digits = 0;
  while (i < n && isDigit(s.charCodeAt(i))) {
    i++;
    digits++;
  }
  if (i < n && s.charCodeAt(i) === 46) {
    i++;
    while (i < n && isDigit(s.charCodeAt(i))) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return -1;
  if (i < n && (s.charCodeAt(i) | 0x20) === 101) {
    // 'e' or 'E'
    i++;
    if (i < n && (s.charCodeAt(i) === 43 || s.charCodeAt(i) === 45)) i++;
    if (i >= n || !isDigit(s.charCodeAt(i))) return -1;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
  }
  return i;
}

function asciiLowerEquals(s: string, from: number, lower: string): boolean {
  if (s.length - from !== lower.length) return false;
  for (let k = 0; k < lower.length; k++) {
    let c = s.charCodeAt(from + k);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * Go's strconv.ParseFloat(s, 64) as the text parser calls it (which first rejects any 'p', 'P'
 * or '_', so no hexadecimal float and no digit separator can pass): optional sign, decimal
 * mantissa with optional point, optional exponent; or, ignoring ASCII case, "NaN" (unsigned) and
 * "Inf"/"Infinity" (optionally signed). Overflow to ±Inf is an error in Go (ErrRange); underflow
 * gives 0. Returns undefined where Go returns an error. Number() rounds exactly like Go.
 * (Go caps the exponent's digits at about 10000, which only matters for absurd inputs such as
 * 10^5 zeros after the point; that is not mirrored.)
 */
export function parseGoFloat(s: string): number | undefined {
  const n = s.length;
  if (n === 0) return undefined;
  let i = 0;
  let c = s.charCodeAt(0);
  if (c === 43 || c === 45) {
    if (n === 1) return undefined;
    i = 1;
    c = s.charCodeAt(1);
  }
  if ((c | 0x20) === 105) {
    // 'i'
    if (asciiLowerEquals(s, i, 'inf') || asciiLowerEquals(s, i, 'infinity')) {
      return s.charCodeAt(0) === 45 ? -Infinity : Infinity;
    }
    return undefined;
  }
  if ((c | 0x20) === 110) return i === 0 && asciiLowerEquals(s, 0, 'nan') ? NaN : undefined;
  if (decimalEnd(s, i) !== n) return undefined;
  const v = Number(s);
  return v === Infinity || v === -Infinity ? undefined : v;
}
