// Quoting as the reference prints user input in its messages: Go's strconv.Quote (%q), the
// time package's own quoting (duration flags), and the string quoting of golang/protobuf 1.3's
// text format (a metric shown in a consistency error).
// Strings are Go strings held as gostring.ts holds them: U+DC80..U+DCFF are raw invalid bytes.
import { decodeRune, encodeGoString } from './gostring.js';

/**
 * unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. Go 1.19
 * (the reference's) knows Unicode 13 and Node a newer version, so a code point assigned since
 * prints raw here where Go escapes it.
 */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

const NAMED_ESCAPES: Readonly<Record<number, string>> = {
  7: '\\a',
  8: '\\b',
  9: '\\t',
  10: '\\n',
  11: '\\v',
  12: '\\f',
  13: '\\r',
};

function hex(v: number, width: number): string {
  return v.toString(16).padStart(width, '0');
}

/** strconv's appendEscapedRune for a valid rune, inside quotes of quoteChar (" or '). */
function escapeRune(r: number, quoteChar: number): string {
  if (r === quoteChar || r === 0x5c) return '\\' + String.fromCharCode(r);
  if (r < 0x80 ? r >= 0x20 && r < 0x7f : PRINTABLE.test(String.fromCodePoint(r))) return String.fromCodePoint(r);
  const named = NAMED_ESCAPES[r];
  if (named !== undefined) return named;
  if (r < 0x20 || r === 0x7f) return '\\x' + hex(r, 2);
  return r < 0x10000 ? '\\u' + hex(r, 4) : '\\U' + hex(r, 8);
}

/** strconv.Quote of a byte string: rune by rune, each invalid UTF-8 byte as \xNN. */
export function goQuoteBytes(b: ArrayLike<number>): string {
  let out = '"';
  for (let k = 0; k < b.length;) {
    const [r, width] = decodeRune(b, k);
    if (width === 0) {
      out += '\\x' + hex(b[k], 2);
      k++;
    } else {
      out += escapeRune(r, 0x22);
      k += width;
    }
  }
  return out + '"';
}

/** strconv.Quote (Go's %q) of a Go string. */
export function goQuote(s: string): string {
  return goQuoteBytes(encodeGoString(s));
}

/** strconv.QuoteRune (Go's %q of a rune or byte value), e.g. 'a', '\n', '\x00'. */
export function goQuoteRune(r: number): string {
  return "'" + escapeRune(r, 0x27) + "'";
}

/** The time package's quote (time.ParseDuration's errors): non-ASCII and control bytes as \xNN. */
export function timeQuote(s: string): string {
  let out = '"';
  for (const c of encodeGoString(s)) {
    if (c < 0x20 || c >= 0x80) out += '\\x' + hex(c, 2);
    else out += (c === 0x22 || c === 0x5c ? '\\' : '') + String.fromCharCode(c);
  }
  return out + '"';
}

const PROTO_ESCAPES: Readonly<Record<number, string>> = { 9: '\\t', 10: '\\n', 13: '\\r', 0x22: '\\"', 0x5c: '\\\\' };

/** golang/protobuf 1.3's text-format string: byte by byte, non-printable ASCII and all non-ASCII bytes in octal. */
export function protoTextQuote(s: string): string {
  let out = '"';
  for (const c of encodeGoString(s)) {
    const named = PROTO_ESCAPES[c];
    if (named !== undefined) out += named;
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += '\\' + c.toString(8).padStart(3, '0');
  }
  return out + '"';
}
