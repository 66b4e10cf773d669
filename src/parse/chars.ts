// Character codes and ASCII character classes shared by the hand-written exposition parsers.

export const TAB = 9;
export const NL = 10;
export const CR = 13;
export const SP = 32;
export const DQUOTE = 34;
export const HASH = 35;
export const PLUS = 43;
export const COMMA = 44;
export const MINUS = 45;
const DOT = 46;
export const EQUALS = 61;
export const BACKSLASH = 92;
export const LBRACE = 123;
export const RBRACE = 125;

// Character classes of the ASCII range, as bit flags.
export const LABEL_START = 1;
export const LABEL_CONT = 2;
export const METRIC_START = 4;
export const METRIC_CONT = 8;
export const DIGIT = 16;
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95; // a-z A-Z _
  const digit = c >= 48 && c <= 57;
  const colon = c === 58;
  CLASS[c] =
    (letter ? LABEL_START | LABEL_CONT | METRIC_START | METRIC_CONT : 0) |
    (digit ? LABEL_CONT | METRIC_CONT | DIGIT : 0) |
    (colon ? METRIC_START | METRIC_CONT : 0);
}

/** Whether an ASCII code has a class flag (codes past ASCII have none). */
export const is = (c: number, flag: number): boolean => c < 128 && (CLASS[c] & flag) !== 0;

/**
 * Where a decimal number starting at `i` ends (digits, an optional "." and digits, at least one
 * digit, then an optional exponent), or -1 when there is none or its exponent has no digits.
 */
export function decimalEnd(s: string, i: number): number {
  const n = s.length;
  let digits = 0;
  while (i < n && is(s.charCodeAt(i), DIGIT)) {
    i++;
    digits++;
  }
  if (i < n && s.charCodeAt(i) === DOT) {
    i++;
    while (i < n && is(s.charCodeAt(i), DIGIT)) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return -1;
  if (i < n && (s.charCodeAt(i) | 0x20) === 101) {
    // 'e' or 'E'
    i++;
    if (i < n && (s.charCodeAt(i) === PLUS || s.charCodeAt(i) === MINUS)) i++;
    if (i >= n || !is(s.charCodeAt(i), DIGIT)) return -1;
    while (i < n && is(s.charCodeAt(i), DIGIT)) i++;
  }
  return i;
}
