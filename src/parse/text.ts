// Parser for the Prometheus text exposition format 0.0.4, written to behave exactly like the
// expfmt.TextParser of github.com/prometheus/common v0.39 that Pushgateway 1.5.1 uses: the same
// accepted inputs, the same resulting families, and the same error messages, byte for byte.
//
// A few of the reference's quirks are kept on purpose, because pushes that the Go gateway accepts
// (or rejects) must be accepted (or rejected) here too:
//  - the last line must end in "\n", otherwise "unexpected end of input stream";
//  - whitespace after the value and before the newline is read as an empty timestamp;
//  - the value starts at the first byte that cannot continue the metric name, so "foo.5" is foo=0.5;
//  - a HELP line without text leaves the help unset (it can never become ""), and a second HELP
//    line is only an error when it has text;
//  - in TYPE lines and in what follows a timestamp, backslashes are silently dropped;
//  - `foo_count`/`foo_sum` (and `foo_bucket`) lines are folded into an earlier family `foo` only if
//    that family is already typed summary (histogram), and a HELP/TYPE line for such a name
//    addresses the family `foo`;
//  - summary/histogram lines are grouped by their label set (without quantile/le) across the
//    whole input, not only consecutive lines, and a quantile/le value of NaN is ignored;
//  - a family of type gauge_histogram gets its metrics (with labels and timestamp) but no value:
//    the Go parser records an error for it that the next byte read overwrites.
//
// Input comes in two forms. parseText takes a JavaScript string and behaves like the Go parser
// fed the UTF-8 encoding of that string. parseTextBytes takes the raw body and is exact even for
// invalid UTF-8 (which the Go parser rejects only inside label values): it decodes the body as
// latin1, so that every char is one byte, and decodes UTF-8 only where text is kept.
//
// With the option utf8Names (--push.enable-utf8-names), names may also be quoted and hold any
// UTF-8, read as Pushgateway 1.11 reads them (see TextParseOptions); sample lines then take a
// separate path (sampleUtf8), so the classic path stays as it is.

import { isAscii, isUtf8 } from 'node:buffer';
import { decodeGoString, encodeGoString } from '../lib/gostring.js';
import { parseGoFloat } from '../lib/gofloat.js';
import { goQuote, goQuoteBytes, goQuoteRune } from '../lib/goquote.js';
import { ParseError } from './errors.js';
import type { LabelPair, Metric, MetricFamily, MetricType } from '../model.js';
import {
  TAB,
  NL,
  SP,
  DQUOTE,
  HASH,
  PLUS,
  COMMA,
  MINUS,
  EQUALS,
  BACKSLASH,
  LBRACE,
  RBRACE,
  LABEL_START,
  LABEL_CONT,
  METRIC_START,
  METRIC_CONT,
  DIGIT,
  is,
} from './chars.js';

export interface TextParseOptions {
  /**
   * --push.enable-utf8-names: also accept the quoted-name syntax of the text format with UTF-8
   * names, as the parser of Pushgateway 1.11 (prometheus/common 0.6x, model.UTF8Validation)
   * does: `{"metric.name","label.name"="v"} 1`, `metric{"label.name"="v"} 1`, `"metric.name" 1`,
   * `# HELP "metric.name" …`, `# TYPE "metric.name" counter`, with the escapes \\, \n and \" inside
   * quoted names (and \" in HELP text). A name must then be non-empty valid UTF-8
   * (`invalid metric name "…"`, `invalid label name "…"`). Everything else is parsed as without
   * the option. Off (the default): exactly the parser of Pushgateway 1.5.1.
   */
  utf8Names?: boolean;
}

/** A parse error; `message` is exactly the Go ParseError string. */
export class TextParseError extends ParseError {
  /** 1-based number of the line the error was found in. */
  readonly line: number;
  /** The message without the "text format parsing error in line N: " prefix. */
  readonly msg: string;

  constructor(line: number, msg: string) {
    super(`text format parsing error in line ${line}: ${msg}`);
    this.name = 'TextParseError';
    this.line = line;
    this.msg = msg;
  }
}

/**
 * Parses a body in the text format. Returns the families in the order in which they were first
 * named (by a sample, or by a HELP/TYPE line with something after the name); families without
 * any sample are left out, as the Go parser does. Labels keep their order in the line.
 *
 * The string is treated as the Go parser would treat its UTF-8 encoding. It cannot carry invalid
 * UTF-8: a caller that decoded the body leniently has U+FFFD where the bytes were invalid, and a
 * label value holding U+FFFD is valid, where Go would have rejected the raw bytes with
 * `invalid label value "\xff"`. A lone surrogate stands for bytes as encodeGoString writes it
 * (U+DC80..U+DCFF a raw byte, any other its WTF-8 bytes), so it is invalid in a label value.
 * Use parseTextBytes on raw bodies.
 *
 * @throws TextParseError
 */
export function parseText(body: string, options?: TextParseOptions): MetricFamily[] {
  return parse(body, false, options?.utf8Names === true);
}

/**
 * Parses a raw body in the text format, exactly as the Go parser does, invalid UTF-8 included:
 * it is an error in a label value (`invalid label value "\xff"`), quoted byte-wise in error
 * messages, and replaced by U+FFFD in HELP text (where Go keeps the raw bytes).
 *
 * @throws TextParseError
 */
export function parseTextBytes(body: Uint8Array, options?: TextParseOptions): MetricFamily[] {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const p = parser(buf.toString('latin1'), true, options?.utf8Names === true, isAscii(buf), true);
  p.run(Infinity);
  return p.result();
}

/**
 * parseText (of a string) or parseTextBytes without their shortcuts (see parser): the oracle that
 * tests compare them with, since every shortcut must give what the plain reading gives, errors included.
 */
export function parseTextPlain(body: string | Uint8Array, options?: TextParseOptions): MetricFamily[] {
  const utf8 = options?.utf8Names === true;
  const p =
    typeof body === 'string'
      ? parser(body, false, utf8, false, false)
      : parser(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1'), true, utf8, false, false);
  p.run(Infinity);
  return p.result();
}

/**
 * parseTextBytes for large bodies: parses about `sliceMs` at a time and lets the event loop turn
 * in between, so that one large push does not hold every other request for seconds. The body must
 * not change until the promise settles.
 *
 * @throws TextParseError (as a rejection)
 */
export async function parseTextBytesSliced(
  body: Uint8Array,
  options?: TextParseOptions,
  sliceMs = 10,
  pieceBytes = 1 << 20,
): Promise<MetricFamily[]> {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  // The body is read as strings of about pieceBytes, each ending with a line: turning 46 MiB into
  // one string took a turn of its own of 60-140 ms.
  const pieceEnd = (from: number): number => {
    const nl = from + pieceBytes >= buf.length ? -1 : buf.indexOf(NL, from + pieceBytes);
    return nl < 0 ? buf.length : nl + 1;
  };
  let to = pieceEnd(0);
  let piece = buf.subarray(0, to);
  const p = parser(piece.toString('latin1'), true, options?.utf8Names === true, isAscii(piece), true);
  // Lines per slice, adjusted to how fast the lines of this body go.
  let lines = 2048;
  for (;;) {
    const start = performance.now();
    if (p.run(lines)) {
      if (to === buf.length) return p.result();
      piece = buf.subarray(to, (to = pieceEnd(to)));
      p.next(piece.toString('latin1'), isAscii(piece));
    }
    const took = performance.now() - start;
    // At most doubled at a time: a slice that ran without a scavenge says little about the next.
    lines = Math.max(256, Math.min(lines * 2, Math.round((lines * sliceMs) / Math.max(took, 0.5))));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** parseTextBytes for bytes already held as a latin1 string (one char per byte). */
export function parseTextByteString(body: string, options?: TextParseOptions): MetricFamily[] {
  return parse(body, true, options?.utf8Names === true);
}

/** parseTextByteString as steps of `lines` lines (see store/slices.ts), for a caller that runs them in slices. */
export function* parseTextByteStringSteps(body: string, lines: number): Generator<void, MetricFamily[]> {
  const p = parser(body, true, false, false, true);
  while (!p.run(lines)) yield;
  return p.result();
}

// ---------------------------------------------------------------------------------------------

/** What a `_count`/`_sum` line contributes to the summary or histogram it was folded into. */
const enum Role {
  None,
  Count,
  Sum,
}

interface FamilyState {
  name: string;
  help: string | undefined;
  /** Undefined until a TYPE line or the first sample fixes it. */
  type: MetricType | undefined;
  metrics: Metric[];
  /** Summaries and histograms: their metrics by label signature (quantile/le excluded). */
  bySignature: Map<string, Metric> | undefined;
}

function parse(src: string, bytes: boolean, utf8: boolean): MetricFamily[] {
  const p = parser(src, bytes, utf8, false, true);
  p.run(Infinity);
  return p.result();
}

/** A parse that runs a number of lines at a time, so that a caller can let others in between. */
interface Parser {
  /** Parses up to `lines` more lines; true once the input is done. @throws TextParseError */
  run(lines: number): boolean;
  /**
   * Goes on with the next piece of the input, once run has returned true for this one; every
   * piece but the last ends with a newline, so that no line spans two.
   */
  next(piece: string, pieceAscii: boolean): void;
  /** The families, once run has returned true for the last piece. */
  result(): MetricFamily[];
}

// Shortcuts (`fast`), each giving what the plain reading gives (textfast.test.ts compares them):
//  - a label value without backslash or newline before its closing quote is one slice, found with
//    indexOf; a HELP text without backslash likewise;
//  - a name that repeats the last family's name (or the label name last read at the same
//    position) is matched as a whole instead of char by char, and names the same family;
//  - a label pair whose ASCII value was read before with the same name is that pair again (the
//    store never changes a pair but to intern its name): fewer objects for the GC to copy;
//  - the usual TYPE words are taken as they are.
// `ascii` (the whole body is ASCII) only spares looking for bytes to decode.
function parser(src: string, bytes: boolean, utf8: boolean, ascii: boolean, fast: boolean): Parser {
  let n = src.length;
  const families = new Map<string, FamilyState>();
  let line = 0;
  let role = Role.None;
  // The family named last (Go's currentMF), for messages about a line that has not named one yet.
  let current: FamilyState | undefined;
  // Second results of the readers below: where they stopped, and a label value before decoding.
  let at = 0;
  let lastRaw = '';

  const fail = (msg: string): never => {
    throw new TextParseError(line, msg);
  };
  // Every read past the end, except at the start of a line, is this error in Go.
  const eof = (): never => fail('unexpected end of input stream');
  // %q of a token, and %q / %c of the single byte at index i, as Go prints them.
  const quote = (token: string): string => (bytes ? goQuoteBytes(Buffer.from(token, 'latin1')) : goQuote(token));
  const byteAt = (i: number): number =>
    bytes ? src.charCodeAt(i) : encodeGoString(String.fromCodePoint(src.codePointAt(i)!))[0];
  const quoteByteAt = (i: number): string => goQuoteRune(byteAt(i));
  const invalidEscape = (i: number): never => fail(`invalid escape sequence '\\${String.fromCharCode(byteAt(i))}'`);

  // Go's setOrCreateCurrentMF: the family a sample or HELP/TYPE line refers to, and (in `role`)
  // whether the name is the _count or _sum of a summary or histogram declared before.
  const familyFor = (name: string): FamilyState => {
    role = Role.None;
    let fam = families.get(name);
    if (fam !== undefined) return (current = fam);
    const len = name.length;
    let base: string | undefined;
    let r = Role.None;
    if (len > 6 && name.endsWith('_count')) {
      base = name.slice(0, len - 6);
      r = Role.Count;
    } else if (len > 4 && name.endsWith('_sum')) {
      base = name.slice(0, len - 4);
      r = Role.Sum;
    }
    if (base !== undefined) {
      fam = families.get(base);
      if (fam !== undefined && (fam.type === 'summary' || fam.type === 'histogram')) {
        role = r;
        return (current = fam);
      }
    } else if (len > 7 && name.endsWith('_bucket')) {
      fam = families.get(name.slice(0, len - 7));
      if (fam !== undefined && fam.type === 'histogram') return (current = fam);
    }
    fam = { name, help: undefined, type: undefined, metrics: [], bySignature: undefined };
    families.set(name, fam);
    return (current = fam);
  };

  // The name last looked up and its answer (familyFor's answer for a name never changes once
  // given): lines of a family mostly follow each other, HELP and TYPE lines included.
  let lastName = '';
  let lastFam: FamilyState | undefined;
  let lastRole = Role.None;
  /** familyFor of the name src[start, end), without a string for it when it repeats the last one. */
  const familyAt = (start: number, end: number): FamilyState => {
    if (lastFam !== undefined && lastName.length === end - start && src.startsWith(lastName, start)) {
      role = lastRole;
      return (current = lastFam);
    }
    lastName = src.slice(start, end);
    lastFam = familyFor(lastName);
    lastRole = role;
    return lastFam;
  };
  /** Whether the name at i is the name last looked up (the whole name: no name char follows). */
  const repeatsLast = (i: number): boolean =>
    lastFam !== undefined &&
    i + lastName.length < n &&
    src.startsWith(lastName, i) &&
    !is(src.charCodeAt(i + lastName.length), METRIC_CONT);
  /** The index of the first `ch` at or after `from` (n if none), remembered for later, larger `from`s. */
  const nextOf = (ch: string) => {
    let from = 0;
    let found = -1;
    return (start: number): number => {
      if (start < from || start > found) {
        from = start;
        found = src.indexOf(ch, start);
        if (found < 0) found = n;
      }
      return found;
    };
  };
  let nextBackslash = nextOf('\\');
  let nextNewline = nextOf('\n');

  // --- UTF-8 names (utf8 only) ---
  // Go's readTokenAsMetricName / readTokenAsLabelName of prometheus/common 0.6x: a name may start
  // with '"' or contain a quoted part; inside quotes every byte belongs to the name, with the
  // escapes \\, \n and \"; the token ends with the byte after the closing quote, or (unquoted) at
  // the first byte that cannot continue a name. Returns the token (raw: latin1 when bytes), '' if
  // the byte at i cannot start a name; `at` is the index of the byte after the token.
  const readName = (i: number, metric: boolean): string => {
    const startClass = metric ? METRIC_START : LABEL_START;
    const contClass = metric ? METRIC_CONT : LABEL_CONT;
    let c = src.charCodeAt(i);
    if (c !== DQUOTE && !is(c, startClass)) {
      at = i;
      return '';
    }
    let token = '';
    let seg = i;
    let quoted = false;
    for (;;) {
      if (c === DQUOTE) {
        token += src.slice(seg, i);
        quoted = !quoted;
        if (!quoted) {
          if (++i >= n) eof();
          at = i;
          return token;
        }
        seg = i + 1;
      } else if (c === NL) {
        // Only reachable inside quotes: outside, a newline ends the name.
        fail(`${metric ? 'metric' : 'label'} name ${quote(token + src.slice(seg, i))} contains unescaped new-line`);
      } else if (c === BACKSLASH) {
        token += src.slice(seg, i);
        if (++i >= n) eof();
        c = src.charCodeAt(i);
        if (c === BACKSLASH) token += '\\';
        else if (c === 110) token += '\n';
        else if (c === DQUOTE) token += '"';
        else invalidEscape(i);
        seg = i + 1;
      }
      if (++i >= n) eof();
      c = src.charCodeAt(i);
      if (!quoted && c !== DQUOTE && !is(c, contClass)) {
        at = i;
        return token + src.slice(seg, i);
      }
    }
  };
  // A name token checked as model.UTF8Validation checks names (non-empty, valid UTF-8), decoded.
  const utf8Name = (token: string, kind: 'metric' | 'label'): string => {
    if (token === '') fail(`invalid ${kind} name ""`);
    if (bytes) {
      for (let k = 0; k < token.length; k++) {
        if (token.charCodeAt(k) >= 0x80) {
          const buf = Buffer.from(token, 'latin1');
          if (!isUtf8(buf)) fail(`invalid ${kind} name ${quote(token)}`);
          return buf.toString('utf8');
        }
      }
    } else if (!isWellFormed(token)) {
      fail(`invalid ${kind} name ${quote(token)}`);
    }
    return token;
  };

  // A comment line; i is at the '#'. Returns the index after the line's newline.
  const comment = (i: number): number => {
    let c: number;
    do {
      if (++i >= n) eof();
      c = src.charCodeAt(i);
    } while (c === SP || c === TAB);
    if (c === NL) return i + 1;
    const keywordStart = i;
    while (c !== SP && c !== TAB && c !== NL) {
      if (++i >= n) eof();
      c = src.charCodeAt(i);
    }
    if (c === NL) return i + 1;
    const isHelp = i - keywordStart === 4 && src.startsWith('HELP', keywordStart);
    if (!isHelp && !(i - keywordStart === 4 && src.startsWith('TYPE', keywordStart))) {
      const end = src.indexOf('\n', i); // Any other comment: skipped.
      if (end < 0) eof();
      return end + 1;
    }
    do {
      if (++i >= n) eof();
      c = src.charCodeAt(i);
    } while (c === SP || c === TAB);
    const nameStart = i;
    let nameToken = '';
    let repeated = false;
    if (utf8) {
      nameToken = readName(i, true);
      i = at;
      c = src.charCodeAt(i);
    } else if (fast && repeatsLast(i)) {
      repeated = true;
      i += lastName.length;
      c = src.charCodeAt(i);
    } else if (is(c, METRIC_START)) {
      do {
        if (++i >= n) eof();
        c = src.charCodeAt(i);
      } while (is(c, METRIC_CONT));
    }
    if (c === NL) return i + 1; // "# HELP name" with nothing after the name is no error.
    if (c !== SP && c !== TAB) fail('invalid metric name in comment');
    const fam = utf8
      ? familyFor(utf8Name(nameToken, 'metric'))
      : repeated
        ? (current = lastFam as FamilyState)
        : fast
          ? familyAt(nameStart, i)
          : familyFor(src.slice(nameStart, i));
    do {
      if (++i >= n) eof();
      c = src.charCodeAt(i);
    } while (c === SP || c === TAB);
    if (c === NL) return i + 1;

    if (isHelp) {
      if (fam.help !== undefined) fail(`second HELP line for metric name ${goQuote(fam.name)}`);
      if (fast) {
        const end = nextNewline(i);
        if (end < n && nextBackslash(i) > end) {
          const text = src.slice(i, end);
          fam.help = bytes && !ascii ? decodeRaw(text) : text;
          return end + 1;
        }
      }
      // The rest of the line, with the escapes \\ and \n.
      let help = '';
      let seg = i;
      for (;;) {
        if (c === NL) break;
        if (c === BACKSLASH) {
          help += src.slice(seg, i);
          if (++i >= n) eof();
          c = src.charCodeAt(i);
          if (c === BACKSLASH) help += '\\';
          else if (c === 110) help += '\n';
          else if (utf8 && c === DQUOTE)
            help += '"'; // prometheus/common 0.6x
          else invalidEscape(i);
          seg = i + 1;
        }
        if (++i >= n) eof();
        c = src.charCodeAt(i);
      }
      help += src.slice(seg, i);
      // Go keeps HELP bytes as they are, valid UTF-8 or not: invalid bytes become lone surrogates.
      fam.help = bytes ? decodeRaw(help) : help;
      return i + 1;
    }

    if (fam.type !== undefined) {
      fail(`second TYPE line for metric name ${goQuote(fam.name)}, or TYPE reported after samples`);
    }
    // The rest of the line; Go drops backslashes here without interpreting them.
    const end = src.indexOf('\n', i);
    if (end < 0) eof();
    let token = src.slice(i, end);
    if (token.includes('\\')) token = token.split('\\').join('');
    const type = (fast ? usualType(token) : undefined) ?? metricType(bytes ? decodeLenient(token) : token);
    if (type === undefined) fail(`unknown metric type ${quote(token)}`);
    fam.type = type;
    return end + 1;
  };

  // A quoted label value; i is at its opening quote. Returns the value (decoded, checked as Go's
  // model.LabelValue.IsValid checks it); `at` is the index of the closing quote, `lastRaw` the
  // value before decoding (for Go's messages and float parsing).
  const labelValue = (i: number): string => {
    if (fast) {
      const q = src.indexOf('"', i + 1);
      if (q >= 0 && nextBackslash(i + 1) > q && nextNewline(i + 1) > q) {
        const raw = src.slice(i + 1, q);
        at = q;
        lastRaw = raw;
        return ascii ? raw : checkedValue(raw, orOfChars(raw));
      }
    }
    // The quoted value, with the escapes \\, \" and \n. Slices unless there are escapes.
    let raw = '';
    let seg = i + 1;
    let high = 0; // OR of all chars: >= 0x80 if there may be something to check or decode.
    let c: number;
    for (;;) {
      if (++i >= n) eof();
      c = src.charCodeAt(i);
      if (c === DQUOTE) break;
      if (c === BACKSLASH) {
        raw += src.slice(seg, i);
        if (++i >= n) eof();
        c = src.charCodeAt(i);
        if (c === DQUOTE || c === BACKSLASH) raw += c === DQUOTE ? '"' : '\\';
        else if (c === 110) raw += '\n';
        else invalidEscape(i);
        seg = i + 1;
      } else if (c === NL) {
        fail(`label value ${quote(raw + src.slice(seg, i))} contains unescaped new-line`);
      } else {
        high |= c;
      }
    }
    raw += src.slice(seg, i);
    at = i;
    lastRaw = raw;
    return checkedValue(raw, high);
  };
  /** A label value read as `raw`, checked (and decoded) as Go does; `high` is the OR of its chars. */
  const checkedValue = (raw: string, high: number): string => {
    let value = raw;
    if (high >= 0x80) {
      // Go requires valid UTF-8 (model.LabelValue.IsValid).
      if (bytes) {
        const buf = Buffer.from(raw, 'latin1');
        if (!isUtf8(buf)) fail(`invalid label value ${quote(raw)}`);
        value = buf.toString('utf8');
      } else if (high >= 0xd800 && !isWellFormed(raw)) {
        fail(`invalid label value ${quote(raw)}`);
      }
    }
    return value;
  };

  /** The quantile (summary) or le (histogram) value of a label, or a parse error. */
  const boundValue = (raw: string, isSummary: boolean): number => {
    const b = parseGoFloat(raw);
    if (b === undefined) {
      fail(`expected float as value for '${isSummary ? 'quantile' : 'le'}' label, got ${quote(raw)}`);
    }
    return b as number;
  };

  // The labels of the sample line being read, and the name last read at each position: series
  // of a family mostly repeat their label names, which then share one string.
  const scratch: LabelPair[] = [];
  const lastNames: string[] = [];
  const labelName = (start: number, end: number, position: number): string => {
    const last = lastNames[position];
    if (last !== undefined && last.length === end - start) {
      let k = 0;
      while (k < last.length && last.charCodeAt(k) === src.charCodeAt(start + k)) k++;
      if (k === last.length) return last;
    }
    return (lastNames[position] = src.slice(start, end));
  };

  // Label pairs with ASCII values read so far, by a hash of name and value (the last one wins).
  let pairs: PairTable | undefined;
  /** The pair of `name` and the quoted value at i (at its opening quote) if it is in `pairs`, or makes it there. */
  const pairAt = (i: number, name: string): LabelPair | undefined => {
    const q = src.indexOf('"', i + 1);
    if (q < 0 || nextBackslash(i + 1) <= q || nextNewline(i + 1) <= q) return undefined;
    const len = q - i - 1;
    const h =
      (Math.imul(len + name.length * 64, 0x9e3779b1) ^
        Math.imul(src.charCodeAt(q - 1) + (src.charCodeAt(i + 1 + (len >> 1)) << 8), 0x85ebca6b) ^
        name.charCodeAt(name.length - 1)) >>>
      22;
    pairs ??= takePairs();
    const slots = pairs.slots;
    let pair = slots[h];
    if (pair !== undefined && pair.value.length === len && pair.name === name && src.startsWith(pair.value, i + 1)) {
      at = q;
      lastRaw = pair.value;
      return pair;
    }
    const raw = src.slice(i + 1, q);
    if (!ascii && orOfChars(raw) >= 0x80) return undefined;
    at = q;
    lastRaw = raw;
    if (slots[h] === undefined) pairs.used.push(h);
    pair = { name, value: raw };
    slots[h] = pair;
    return pair;
  };

  // A sample line; i is at its first byte, which is neither blank nor '#' nor a newline.
  // Returns the index after the line's newline.
  const sample = (i: number): number => {
    let c = src.charCodeAt(i);
    if (!is(c, METRIC_START)) fail('invalid metric name');
    let fam: FamilyState;
    if (fast && repeatsLast(i)) {
      i += lastName.length;
      c = src.charCodeAt(i);
      fam = current = lastFam as FamilyState;
      role = lastRole;
    } else {
      const nameStart = i;
      do {
        if (++i >= n) eof();
        c = src.charCodeAt(i);
      } while (is(c, METRIC_CONT));
      fam = fast ? familyAt(nameStart, i) : familyFor(src.slice(nameStart, i));
    }
    const lineRole = role;
    if (fam.type === undefined) fam.type = 'untyped';
    const type = fam.type;
    const isSummary = type === 'summary';
    const isHistogram = type === 'histogram';
    if (c === SP || c === TAB) {
      do {
        if (++i >= n) eof();
        c = src.charCodeAt(i);
      } while (c === SP || c === TAB);
    }

    let count = 0; // labels read into `scratch`
    let bound = NaN; // The quantile (summary) or le (histogram) of the line.
    if (c === LBRACE) {
      for (;;) {
        do {
          if (++i >= n) eof();
          c = src.charCodeAt(i);
        } while (c === SP || c === TAB);
        if (c === RBRACE) break;

        if (!is(c, LABEL_START)) fail(`invalid label name for metric ${goQuote(fam.name)}`);
        let name = lastNames[count];
        if (
          fast &&
          name !== undefined &&
          i + name.length < n &&
          src.startsWith(name, i) &&
          !is(src.charCodeAt(i + name.length), LABEL_CONT)
        ) {
          i += name.length;
          c = src.charCodeAt(i);
        } else {
          const labelStart = i;
          do {
            if (++i >= n) eof();
            c = src.charCodeAt(i);
          } while (is(c, LABEL_CONT));
          name = labelName(labelStart, i, count);
        }
        if (name === '__name__') fail('label name "__name__" is reserved');
        const isBound = isSummary ? name === 'quantile' : isHistogram && name === 'le';
        if (c === SP || c === TAB) {
          do {
            if (++i >= n) eof();
            c = src.charCodeAt(i);
          } while (c === SP || c === TAB);
        }
        if (c !== EQUALS) fail(`expected '=' after label name, found ${quoteByteAt(i)}`);
        if (!isBound) {
          for (let k = 0; k < count; k++) {
            if (scratch[k].name === name) fail(`duplicate label names for metric ${goQuote(fam.name)}`);
          }
        }
        do {
          if (++i >= n) eof();
          c = src.charCodeAt(i);
        } while (c === SP || c === TAB);
        if (c !== DQUOTE) fail(`expected '"' at start of label value, found ${quoteByteAt(i)}`);
        const pair = fast && !isBound ? pairAt(i, name) : undefined;
        if (pair !== undefined) {
          scratch[count++] = pair;
        } else {
          const value = labelValue(i);
          if (isBound) bound = boundValue(lastRaw, isSummary);
          else scratch[count++] = { name, value };
        }
        i = at;

        do {
          if (++i >= n) eof();
          c = src.charCodeAt(i);
        } while (c === SP || c === TAB);
        if (c === RBRACE) break;
        if (c !== COMMA) fail(`unexpected end of label value ${quote(lastRaw)}`);
      }
      do {
        if (++i >= n) eof();
        c = src.charCodeAt(i);
      } while (c === SP || c === TAB);
    }
    // Copied out sized exactly: an array grown by push keeps room for 17 labels, and every series
    // of a large push stays in memory until the store has it.
    return sampleValue(i, c, fam, labelsOf(scratch, count), bound, lineRole);
  };

  // The rest of a sample line, once name and labels are read: i is at the first byte of the
  // value (c). Files the sample into its metric. Returns the index after the line's newline.
  const sampleValue = (
    i: number,
    c: number,
    fam: FamilyState,
    labels: LabelPair[],
    bound: number,
    lineRole: Role,
  ): number => {
    const type = fam.type;
    // A plain decimal ([-]digits[.digits], at most 15 digits) is read in place, without a token:
    // the integer of its digits is exact, and so is a power of ten up to 1e15, so their quotient
    // is rounded once, to the double that Number() (and Go) read the token as.
    let value: number;
    let j = c === MINUS ? i + 1 : i;
    let d = j < n ? src.charCodeAt(j) : -1;
    let digits = 0;
    let mantissa = 0;
    let decimals = -1;
    while (d >= 48 && d <= 57 && digits < 16) {
      mantissa = mantissa * 10 + (d - 48);
      digits++;
      d = ++j < n ? src.charCodeAt(j) : -1;
      if (d === 46 && decimals < 0) {
        decimals = 0;
        d = ++j < n ? src.charCodeAt(j) : -1;
      } else if (decimals >= 0) {
        decimals++;
      }
    }
    if (digits > 0 && digits <= 15 && decimals !== 0 && (d === SP || d === TAB || d === NL)) {
      value = decimals > 0 ? mantissa / POW10[decimals] : mantissa;
      if (c === MINUS) value = -value;
      i = j;
      c = d;
    } else {
      const valueStart = i;
      while (c !== SP && c !== TAB && c !== NL) {
        if (++i >= n) eof();
        c = src.charCodeAt(i);
      }
      const valueToken = src.slice(valueStart, i);
      const v = parseGoFloat(valueToken);
      if (v === undefined) fail(`expected float as value, got ${quote(valueToken)}`);
      value = v as number;
    }
    // The metric: a new one, made with all its fields at once, or for summaries and histograms the
    // one with the same labels.
    let metric: Metric;
    if (type === 'summary' || type === 'histogram') {
      const bySignature = (fam.bySignature ??= new Map());
      const key = signature(labels);
      const existing = bySignature.get(key);
      if (existing === undefined) {
        metric = { labels };
        bySignature.set(key, metric);
        fam.metrics.push(metric);
      } else {
        metric = existing;
      }
    } else {
      metric = type === 'gaugehistogram' ? { labels } : { labels, value };
      fam.metrics.push(metric);
    }
    switch (type) {
      case 'summary': {
        const s = (metric.summary ??= { sampleCount: 0, sampleSum: 0, quantiles: [] });
        if (lineRole === Role.Count) s.sampleCount = goFloatToUint64(value);
        else if (lineRole === Role.Sum) s.sampleSum = value;
        else if (!Number.isNaN(bound)) s.quantiles.push({ quantile: bound, value });
        break;
      }
      case 'histogram': {
        const h = (metric.histogram ??= { sampleCount: 0, sampleSum: 0, buckets: [] });
        if (lineRole === Role.Count) h.sampleCount = goFloatToUint64(value);
        else if (lineRole === Role.Sum) h.sampleSum = value;
        else if (!Number.isNaN(bound)) h.buckets.push({ upperBound: bound, cumulativeCount: goFloatToUint64(value) });
        break;
      }
      default:
      // Counters, gauges and untyped have their value already. gaugehistogram: Go sets an error
      // that the next read overwrites; the metric keeps no value.
    }
    if (c === NL) return i + 1;

    // The timestamp.
    do {
      if (++i >= n) eof();
      c = src.charCodeAt(i);
    } while (c === SP || c === TAB);
    const tsStart = i;
    while (c !== SP && c !== TAB && c !== NL) {
      if (++i >= n) eof();
      c = src.charCodeAt(i);
    }
    const tsToken = src.slice(tsStart, i);
    const ts = parseGoInt64(tsToken);
    if (ts === undefined) fail(`expected integer as timestamp, got ${quote(tsToken)}`);
    metric.timestampMs = ts;
    // Whatever follows, up to the newline (which must exist), is an error, backslashes dropped.
    const end = src.indexOf('\n', i);
    if (end < 0) eof();
    if (end > i) fail(`spurious string after timestamp: ${quote(src.slice(i, end).split('\\').join(''))}`);
    return end + 1;
  };

  // A sample line with UTF-8 names allowed (utf8 only), as prometheus/common 0.6x reads it: the
  // metric name before the braces (quoted or not) or, on a line starting with '{', inside them as
  // a label name without '=' (`{"a.b",x="1"}`, `{x="1","a.b"}`), label names quoted or not.
  // Where Go carries state over from the previous line (a label set without a name inside the
  // braces, labels before the name of a summary or histogram), this reads the line on its own.
  const sampleUtf8 = (i: number): number => {
    let c = src.charCodeAt(i);
    let fam: FamilyState | undefined;
    let lineRole = Role.None;
    const inBraces = c === LBRACE;
    if (!inBraces) {
      const token = readName(i, true);
      if (token === '') fail('invalid metric name');
      fam = familyFor(utf8Name(token, 'metric'));
      lineRole = role;
      if (fam.type === undefined) fam.type = 'untyped';
      i = at;
      c = src.charCodeAt(i);
      if (c === SP || c === TAB) {
        do {
          if (++i >= n) eof();
          c = src.charCodeAt(i);
        } while (c === SP || c === TAB);
      }
    }

    const labels: LabelPair[] = [];
    let bound = NaN;
    // Inside braces, label pairs read before the metric name: filed once the name is known.
    let pending: Array<{ name: string; value: string; raw: string }> | undefined;
    const addLabel = (f: FamilyState, name: string, value: string, raw: string, checkDuplicate: boolean): void => {
      const isSummary = f.type === 'summary';
      if (isSummary ? name === 'quantile' : f.type === 'histogram' && name === 'le') {
        bound = boundValue(raw, isSummary);
        return;
      }
      if (checkDuplicate) {
        for (let k = 0; k < labels.length; k++) {
          if (labels[k].name === name) fail(`duplicate label names for metric ${goQuote(f.name)}`);
        }
      }
      labels.push({ name, value });
    };

    if (c === LBRACE) {
      for (;;) {
        do {
          if (++i >= n) eof();
          c = src.charCodeAt(i);
        } while (c === SP || c === TAB);
        if (c === RBRACE) break;

        const token = readName(i, false);
        if (token === '') fail(`invalid label name for metric ${goQuote((fam ?? current)?.name ?? '')}`);
        i = at;
        c = src.charCodeAt(i);
        if (c === SP || c === TAB) {
          do {
            if (++i >= n) eof();
            c = src.charCodeAt(i);
          } while (c === SP || c === TAB);
        }
        if (c !== EQUALS) {
          if (!inBraces) fail(`expected '=' after label name, found ${quoteByteAt(i)}`);
          // The metric name, inside the braces.
          if (fam !== undefined) fail(`multiple metric names for metric ${goQuote(fam.name)}`);
          if (c !== COMMA && c !== RBRACE) fail(`unexpected end of metric name ${quoteByteAt(i)}`);
          fam = familyFor(utf8Name(token, 'metric'));
          lineRole = role;
          if (fam.type === undefined) fam.type = 'untyped';
          if (pending !== undefined) for (const p of pending) addLabel(fam, p.name, p.value, p.raw, true);
          if (c === RBRACE) break;
          continue;
        }
        if (token === '__name__') fail('label name "__name__" is reserved');
        const name = utf8Name(token, 'label');
        // As Go does, the duplicate check comes before the value is read.
        const isBound =
          fam !== undefined &&
          (fam.type === 'summary' ? name === 'quantile' : fam.type === 'histogram' && name === 'le');
        if (fam !== undefined && !isBound) {
          for (let k = 0; k < labels.length; k++) {
            if (labels[k].name === name) fail(`duplicate label names for metric ${goQuote(fam.name)}`);
          }
        }
        do {
          if (++i >= n) eof();
          c = src.charCodeAt(i);
        } while (c === SP || c === TAB);
        if (c !== DQUOTE) fail(`expected '"' at start of label value, found ${quoteByteAt(i)}`);
        const value = labelValue(i);
        const raw = lastRaw;
        i = at;
        if (fam === undefined) (pending ??= []).push({ name, value, raw });
        else addLabel(fam, name, value, raw, false);

        do {
          if (++i >= n) eof();
          c = src.charCodeAt(i);
        } while (c === SP || c === TAB);
        if (c === RBRACE) break;
        if (c !== COMMA) fail(`unexpected end of label value ${quote(raw)}`);
      }
      // A line starting with '{' must name its metric inside the braces.
      if (fam === undefined) fail('invalid metric name');
      do {
        if (++i >= n) eof();
        c = src.charCodeAt(i);
      } while (c === SP || c === TAB);
    }
    return sampleValue(i, c, fam as FamilyState, labels, bound, lineRole);
  };

  let pos = 0;
  let done = false;
  const run = (lines: number): boolean => {
    for (let k = 0; k < lines && !done; k++) {
      line++;
      let i = pos;
      let c = 0;
      while (i < n && ((c = src.charCodeAt(i)) === SP || c === TAB)) i++;
      if (i >= n)
        done = true; // The only place where the end of the input is fine.
      else if (c === NL) pos = i + 1;
      else if (c === HASH) pos = comment(i);
      else pos = utf8 ? sampleUtf8(i) : sample(i);
    }
    return done;
  };

  const result = (): MetricFamily[] => {
    if (pairs !== undefined) givePairs(pairs);
    pairs = undefined;
    const out: MetricFamily[] = [];
    for (const f of families.values()) {
      if (f.metrics.length === 0) continue;
      const type = f.type ?? 'untyped';
      out.push(
        f.help === undefined
          ? { name: f.name, type, metrics: f.metrics }
          : { name: f.name, help: f.help, type, metrics: f.metrics },
      );
    }
    return out;
  };
  const next = (piece: string, pieceAscii: boolean): void => {
    src = piece;
    n = piece.length;
    ascii = pieceAscii;
    nextBackslash = nextOf('\\');
    nextNewline = nextOf('\n');
    pos = 0;
    done = false;
    line--; // run counted the end of the last piece as a line
  };
  return { run, next, result };
}

/** Slots of pairAt's table: its hash has 10 bits. */
const PAIR_SLOTS = 1024;

/** pairAt's table and its filled slots: clearing all 1,024 after each parse was ~2 % of a small push's CPU. */
interface PairTable {
  readonly slots: Array<LabelPair | undefined>;
  readonly used: number[];
}

/**
 * A cleared table for pairAt, kept from one parse to the next: grown from empty at every parse, it
 * went sparse (a dictionary) and was a sixth of what a small push allocates. A sliced parse holds
 * its own while others run; one that fails leaves its table to the collector.
 */
let freePairs: PairTable | undefined;

function takePairs(): PairTable {
  const table = freePairs ?? { slots: new Array<LabelPair | undefined>(PAIR_SLOTS).fill(undefined), used: [] };
  freePairs = undefined;
  return table;
}

/** Gives a table back once its parse is done, cleared (its pairs would keep their bodies alive). */
function givePairs(table: PairTable): void {
  const { slots, used } = table;
  if (used.length > PAIR_SLOTS / 4) slots.fill(undefined);
  else for (let k = 0; k < used.length; k++) slots[used[k]] = undefined;
  used.length = 0;
  freePairs = table;
}

/**
 * The first `count` pairs of `scratch`, in an array sized exactly. Literals for the usual few: V8
 * can allocate them (allocation sites) straight in the old generation once it sees that they live
 * on, as every series of a large push does, instead of copying each one in a scavenge.
 */
function labelsOf(scratch: LabelPair[], count: number): LabelPair[] {
  switch (count) {
    case 0:
      return [];
    case 1:
      return [scratch[0]];
    case 2:
      return [scratch[0], scratch[1]];
    case 3:
      return [scratch[0], scratch[1], scratch[2]];
    case 4:
      return [scratch[0], scratch[1], scratch[2], scratch[3]];
    default:
      return scratch.slice(0, count);
  }
}

/** The OR of a string's char codes: below 0x80 if it is ASCII. */
function orOfChars(s: string): number {
  let high = 0;
  for (let k = 0; k < s.length; k++) high |= s.charCodeAt(k);
  return high;
}

/** The type named by a TYPE line's usual words, as they are; undefined for any other (metricType decides). */
function usualType(token: string): MetricType | undefined {
  // The literals, not the token: a token is a string of its own, which every stored family of
  // the push would keep (a quarter of a million of them in a 10,000-group fleet, each marked at
  // every full collection).
  switch (token) {
    case 'counter':
      return 'counter';
    case 'gauge':
      return 'gauge';
    case 'summary':
      return 'summary';
    case 'untyped':
      return 'untyped';
    case 'histogram':
      return 'histogram';
    default:
      return undefined;
  }
}

/** Powers of ten, each exact as a double. */
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

/** A key equal for equal label sets, whatever their order (Go: model.LabelsToSignature). */
function signature(labels: LabelPair[]): string {
  if (labels.length === 0) return '';
  const sorted =
    labels.length === 1 ? labels : labels.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let key = '';
  for (const l of sorted) key += `${l.name}=${l.value.length}:${l.value},`;
  return key;
}

/** The type named in a TYPE line: Go upper-cases it (strings.ToUpper) and looks it up. */
function metricType(token: string): MetricType | undefined {
  let upper = '';
  for (const ch of token) {
    const c = ch.charCodeAt(0);
    if (c >= 97 && c <= 122) upper += String.fromCharCode(c - 32);
    // The only non-ASCII letters whose simple upper case is ASCII: dotless i and long s.
    else if (c === 0x131) upper += 'I';
    else if (c === 0x17f) upper += 'S';
    else upper += ch;
  }
  switch (upper) {
    case 'COUNTER':
      return 'counter';
    case 'GAUGE':
      return 'gauge';
    case 'SUMMARY':
      return 'summary';
    case 'UNTYPED':
      return 'untyped';
    case 'HISTOGRAM':
      return 'histogram';
    case 'GAUGE_HISTOGRAM':
      return 'gaugehistogram';
    default:
      return undefined;
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits, within int64. Returns
 * undefined where Go returns an error. The result is a JavaScript number, so a timestamp beyond
 * ±2^53 ms (some 285,000 years) loses precision.
 */
export function parseGoInt64(s: string): number | undefined {
  const n = s.length;
  let i = 0;
  if (n > 0 && (s.charCodeAt(0) === PLUS || s.charCodeAt(0) === MINUS)) i = 1;
  if (i >= n) return undefined;
  for (let k = i; k < n; k++) if (!is(s.charCodeAt(k), DIGIT)) return undefined;
  if (n - i > 18) {
    const big = BigInt(s);
    if (big < INT64_MIN || big > INT64_MAX) return undefined;
  }
  const v = Number(s);
  return v === 0 ? 0 : v; // No negative zero in int64.
}

const TWO63 = 2 ** 63;
const TWO64 = 2 ** 64;

/**
 * Go's uint64(f), as compiled for amd64 (the reference binary): below 2^63 it truncates to int64
 * (CVTTSD2SQ, whose out-of-range result is 0x8000000000000000) and reinterprets the bits; from
 * 2^63 it converts f-2^63 the same way and sets the top bit. Hence 1.5 → 1, -0.5 → 0,
 * -1 → 2^64-1, 1e19 → 1e19, and NaN, ±Inf, ≥ 2^64 or < -2^63 → 2^63. The result is returned as
 * the nearest double (2^64-1 becomes 2^64), which is also what Go prints, since the text
 * exposition converts counts to float64.
 */
export function goFloatToUint64(f: number): number {
  if (f < TWO63) {
    const t = Math.trunc(f);
    if (t < -TWO63) return TWO63; // Includes -Inf.
    return t < 0 ? TWO64 + t : t + 0; // + 0 turns -0 into 0.
  }
  const y = f - TWO63;
  if (y < TWO63) return f; // f in [2^63, 2^64) is an integer: exactly representable.
  return TWO63; // NaN, +Inf and f >= 2^64.
}

// --- UTF-8 helpers --------------------------------------------------------------------------

/** Decodes a latin1 string holding UTF-8 bytes, invalid bytes held as lone surrogates U+DC80..U+DCFF. */
function decodeRaw(s: string): string {
  for (let k = 0; k < s.length; k++) {
    if (s.charCodeAt(k) >= 0x80) return decodeGoString(Buffer.from(s, 'latin1'));
  }
  return s;
}

/** Decodes a latin1 string holding UTF-8 bytes; invalid sequences become U+FFFD. */
function decodeLenient(s: string): string {
  for (let k = 0; k < s.length; k++) {
    if (s.charCodeAt(k) >= 0x80) return Buffer.from(s, 'latin1').toString('utf8');
  }
  return s;
}

function isWellFormed(s: string): boolean {
  const native = (s as unknown as { isWellFormed?: () => boolean }).isWellFormed;
  if (native !== undefined) return native.call(s);
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}
