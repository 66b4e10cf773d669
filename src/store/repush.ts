// Re-pushes of a group's last shape (issue #11). A fleet's jobs push the same families, series,
// HELP and TYPE every time with new values: such a body differs from the group's last one only in
// its value tokens. A group keeps a template of its last text push's shape: the body's bytes
// between its values, and for each stored line of its families the value that line shows. A push
// whose bytes match the template between the values is then stored by writing its values into the
// group's packed lines, with no parse, sanitizing, ordering, checking or packing (a fleet push
// spent ~3/4 of its store time there). What it stores is what the full path would: a template is
// built by running the full path on a probe body (the same bytes, each value a distinct number)
// and kept only if it reproduces the real push. Built once per shape, when a shape repeats (in a
// group, or across groups); shared by every group it fits.
import type { MetricFamily } from '../model.js';
import { formatSampleValue, parseGoFloat, printsAsItself } from '../lib/gofloat.js';
import { parseTextBytes } from '../parse/text.js';
import { prepareNow, type PreparedFamily } from './prepare.js';
import type { GroupingLabels } from './types.js';
import { intern } from './grouping.js';

const SP = 0x20;
const TAB = 0x09;
const NL = 0x0a;
const HASH = 0x23;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** What a value token feeds: a float as it is, a uint64 count, or nothing the group stores. */
const FLOAT = 0;
const COUNT = 1;
const UNUSED = 2;

export interface RepushTemplate {
  /** The body's bytes (latin1) before each value and after the last: one more than the values. */
  readonly between: readonly string[];
  /** FLOAT, COUNT or UNUSED, per value. */
  readonly kinds: Uint8Array;
  /** Whether it was made by a PUT (a POST's template serves POSTs only, and a PUT's PUTs). */
  readonly replace: boolean;
  /**
   * The families the push stores, in push order: per stored line the value it shows (-1: none),
   * and the order of their series as packed (Packed.order).
   */
  readonly families: readonly TemplateFamily[];
}

interface TemplateFamily {
  readonly name: string;
  readonly lines: Int32Array;
  readonly order: string | undefined;
}

/** A template as Templates shares it. */
export interface SharedTemplate extends RepushTemplate {
  /** shapeHash of its bodies. */
  readonly hash: number;
  /** The grouping label names of its groups (groupShape). */
  readonly shape: readonly string[];
  /** Groups using it. */
  users: number;
}

/**
 * The value tokens of a text body the text parser took (no UTF-8 names): [start, end) pairs, in
 * order. Lines are read as the parser reads them: blanks before a line, comments, then a sample's
 * name, labels (quoted values skipped, escapes and all) and value. A misreading cannot store
 * anything wrong: the template made from it would not reproduce the push (buildTemplate).
 */
export function valueSpans(src: string): number[] {
  const spans: number[] = [];
  const n = src.length;
  let i = 0;
  while (i < n) {
    let c = src.charCodeAt(i);
    while ((c === SP || c === TAB) && ++i < n) c = src.charCodeAt(i);
    if (i >= n) break;
    if (c === NL) {
      i++;
      continue;
    }
    if (c !== HASH) {
      while (i < n && (c = src.charCodeAt(i)) !== SP && c !== TAB && c !== LBRACE && c !== NL) i++;
      while (i < n && ((c = src.charCodeAt(i)) === SP || c === TAB)) i++;
      if (c === LBRACE) {
        let quoted = false;
        for (i++; i < n; i++) {
          c = src.charCodeAt(i);
          if (quoted) {
            if (c === BACKSLASH) i++;
            else if (c === DQUOTE) quoted = false;
          } else if (c === DQUOTE) quoted = true;
          else if (c === RBRACE) break;
        }
        i++;
        while (i < n && ((c = src.charCodeAt(i)) === SP || c === TAB)) i++;
      }
      const start = i;
      while (i < n && (c = src.charCodeAt(i)) !== SP && c !== TAB && c !== NL) i++;
      spans.push(start, i);
    }
    const nl = src.indexOf('\n', i);
    i = nl < 0 ? n : nl + 1;
  }
  return spans;
}

/**
 * A hash of the body without its values: templates are found by it, and one is built when it is
 * seen a second time (a collision costs one template build or a failed fit, never a wrong write).
 */
export function shapeHash(src: string, spans: readonly number[]): number {
  let h = 0x811c9dc5 ^ spans.length;
  let from = 0;
  for (let k = 0; k <= spans.length; k += 2) {
    const to = k < spans.length ? spans[k] : src.length;
    for (let i = from; i < to; i++) h = Math.imul(h ^ src.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0xff, 0x01000193);
    from = spans[k + 1];
  }
  return h & 0x3fffffff; // a small integer: kept in the group without a boxed number
}

/** The byte strings between the values. */
function betweenOf(src: string, spans: readonly number[]): string[] {
  const between: string[] = [];
  let from = 0;
  for (let k = 0; k < spans.length; k += 2) {
    between.push(src.slice(from, spans[k]));
    from = spans[k + 1];
  }
  between.push(src.slice(from));
  return between;
}

/**
 * The probe's value for token k: a float whose integer part tells k, printed as itself, and
 * turned into that integer where the parser makes it a count.
 */
function probeValue(k: number): string {
  return `${2 * k + 1}.5`;
}

/** Probe values print plainly below 1e6 (formatSampleValue switches to an exponent there). */
const MAX_VALUES = 200_000;

/** A stored line's value: after the line's last space (values hold none; label values may). */
function valueStart(text: string, nl: number): number {
  return text.lastIndexOf(' ', nl) + 1;
}

/**
 * The template of a push the full path stored, or undefined when it cannot be made exactly:
 * `src` its body with the values at `spans` (valueSpans), `stored` the families it stored (all
 * packed, or no template).
 */
function buildTemplate(
  src: string,
  spans: readonly number[],
  labels: GroupingLabels,
  stored: readonly PreparedFamily[],
  replace: boolean,
): RepushTemplate | undefined {
  const values = spans.length / 2;
  if (values > MAX_VALUES) return undefined;
  const between = betweenOf(src, spans);
  let probe = between[0];
  for (let k = 0; k < values; k++) probe += probeValue(k) + between[k + 1];
  let families: MetricFamily[];
  try {
    families = parseTextBytes(Buffer.from(probe, 'latin1'));
  } catch {
    return undefined;
  }
  const prepared = prepareNow(families, labels, undefined);
  if (prepared.timestamps || prepared.families.length !== stored.length) return undefined;
  const kinds = new Uint8Array(values).fill(UNUSED);
  const out: TemplateFamily[] = [];
  for (let f = 0; f < stored.length; f++) {
    const real = stored[f];
    const pf = prepared.families[f];
    if (real.packed === undefined || pf.packed === undefined) return undefined;
    if (pf.mf.name !== real.mf.name || pf.mf.help !== real.mf.help || pf.mf.type !== real.mf.type) return undefined;
    if (pf.mf.metrics.length !== real.mf.metrics.length || pf.packed.order !== real.packed.order) return undefined;
    const lines = lineSlots(real.packed.text, pf.packed.text, kinds);
    if (lines === undefined) return undefined;
    // The name the group's map holds (interned): looked up on every push through the template.
    out.push({ name: intern(real.mf.name), lines, order: real.packed.order });
  }
  const template = { between, kinds, replace, families: out };
  // The proof: the real push's values written through the template give what the full path stored.
  const texts = stored.map((pf) => pf.packed!.text);
  const again = repushLines(template, src, texts, true);
  if (again === undefined || again.some((text, f) => text !== texts[f])) return undefined;
  return template;
}

/**
 * Per line of `real`, the value token it shows, read from the probe's lines (`probe`); the kind
 * of each token noted in `kinds`. Undefined if the lines differ but for values, or a line shows a
 * value no token sets that differs between the two.
 */
function lineSlots(real: string, probe: string, kinds: Uint8Array): Int32Array | undefined {
  const slots: number[] = [];
  let r = 0;
  let p = 0;
  while (r < real.length || p < probe.length) {
    const rn = real.indexOf('\n', r);
    const pn = probe.indexOf('\n', p);
    if (rn < 0 || pn < 0) return undefined;
    const rv = valueStart(real, rn);
    const pv = valueStart(probe, pn);
    if (rv - r !== pv - p || !probe.startsWith(real.slice(r, rv), p)) return undefined;
    const shown = probe.slice(pv, pn);
    const m = /^(\d+)(\.5)?$/.exec(shown);
    const n = m === null ? NaN : Number(m[1]);
    if (n % 2 === 1 && (n - 1) / 2 < kinds.length) {
      const k = (n - 1) / 2;
      const kind = m![2] === undefined ? COUNT : FLOAT;
      if (kinds[k] !== UNUSED && kinds[k] !== kind) return undefined;
      kinds[k] = kind;
      slots.push(k);
    } else {
      if (shown !== real.slice(rv, rn)) return undefined;
      slots.push(-1);
    }
    r = rn + 1;
    p = pn + 1;
  }
  return Int32Array.from(slots);
}

/** Token bounds of the last match, reused: [start, end) per value. */
let bounds = new Int32Array(256);

/**
 * Where the values of `src` are, if its bytes between them are exactly the template's (values
 * non-empty, without blanks): [start, end) pairs, valid until the next match.
 */
function match(between: readonly string[], src: string): Int32Array | undefined {
  const values = between.length - 1;
  if (bounds.length < 2 * values) bounds = new Int32Array(4 * values);
  let p = 0;
  for (let k = 0; k < values; k++) {
    const before = between[k];
    if (!bytesAt(src, p, before)) return undefined;
    p += before.length;
    const start = p;
    for (let c = src.charCodeAt(p); p < src.length && c !== SP && c !== TAB && c !== NL; c = src.charCodeAt(++p));
    if (p === start) return undefined;
    bounds[2 * k] = start;
    bounds[2 * k + 1] = p;
  }
  const last = between[values];
  return p + last.length === src.length && bytesAt(src, p, last) ? bounds : undefined;
}

/**
 * Whether `src` holds `part` at `at`. Compared as a slice (one memcmp-like comparison of flat
 * strings): startsWith went char by char, ~5x slower, most of a fleet push's time here.
 */
function bytesAt(src: string, at: number, part: string): boolean {
  return src.slice(at, at + part.length) === part;
}

/** Whether the chars from `from` to `to` are all digits. */
function whole(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** A push being written through its template: its body, where its values are, their kinds. */
class Values {
  /** Printed values, by token, as first needed. */
  private readonly shown: Array<string | undefined> = [];

  constructor(
    readonly src: string,
    readonly tokens: Int32Array,
    private readonly kinds: Uint8Array,
  ) {}

  /**
   * Token k as the group stores it, or undefined when the full path could store it otherwise
   * (not a number, -0, a count that is not a whole number within 2^53) and must decide.
   */
  printed(k: number): string | undefined {
    const known = this.shown[k];
    if (known !== undefined) return known;
    const start = this.tokens[2 * k];
    const end = this.tokens[2 * k + 1];
    // The usual value, a plain decimal, is kept as it came (a count: if whole and not negative).
    if (printsAsItself(this.src, start, end) && (this.kinds[k] !== COUNT || whole(this.src, start, end)))
      return (this.shown[k] = this.src.slice(start, end));
    const v = parseGoFloat(this.src.slice(start, end));
    if (v === undefined || Object.is(v, -0)) return undefined;
    if (this.kinds[k] === COUNT && !(Number.isSafeInteger(v) && v >= 0)) return undefined;
    return (this.shown[k] = formatSampleValue(v));
  }

  /** Whether token k reads as the chars of `text` from `from` to `to`. */
  same(k: number, text: string, from: number, to: number): boolean {
    const start = this.tokens[2 * k];
    if (this.tokens[2 * k + 1] - start !== to - from) return false;
    for (let i = from; i < to; i++) if (text.charCodeAt(i) !== this.src.charCodeAt(start + i - from)) return false;
    return true;
  }

  /** Whether the tokens no stored line shows are numbers still (the parser would fail otherwise). */
  unusedValid(): boolean {
    const kinds = this.kinds;
    for (let k = 0; k < kinds.length; k++) {
      if (kinds[k] === UNUSED && parseGoFloat(this.src.slice(this.tokens[2 * k], this.tokens[2 * k + 1])) === undefined)
        return false;
    }
    return true;
  }
}

/**
 * The lines of the template's families with the values of the body `src`, given their lines now
 * (`current`, in the template's order), or undefined when the body does not fit the template or
 * one of its values must go the full path. A value equal to what its line shows is kept as it is
 * (a shown value is printed as it reads; `all`: every value printed anew, for the proof).
 */
export function repushLines(
  template: Pick<RepushTemplate, 'between' | 'kinds' | 'families'>,
  src: string,
  current: readonly string[],
  all = false,
): string[] | undefined {
  const tokens = match(template.between, src);
  if (tokens === undefined) return undefined;
  const values = new Values(src, tokens, template.kinds);
  const out: string[] = [];
  for (let f = 0; f < current.length; f++) {
    const text = rewrite(values, template.families[f].lines, current[f], all);
    if (text === undefined) return undefined;
    out.push(text);
  }
  return values.unusedValid() ? out : undefined;
}

/** The pieces of a family's new lines, reused. */
const pieces: string[] = [];

/** `current` (a family's lines) with the values of the push for its `lines`, or undefined (see repushLines). */
function rewrite(values: Values, lines: Int32Array, current: string, all: boolean): string | undefined {
  pieces.length = 0;
  let copied = 0;
  let from = 0;
  for (let l = 0; l < lines.length; l++) {
    const nl = current.indexOf('\n', from);
    if (nl < 0) return undefined;
    const k = lines[l];
    from = nl + 1;
    if (k < 0) continue;
    const v = valueStart(current, nl);
    if (!all && values.same(k, current, v, nl)) continue;
    const value = values.printed(k);
    if (value === undefined) return undefined;
    pieces.push(current.slice(copied, v), value);
    copied = nl;
  }
  if (from !== current.length) return undefined;
  if (pieces.length === 0) return current;
  pieces.push(current.slice(copied));
  // Joined, not concatenated: one flat string, as a pack makes (a scrape copies it, and a tree
  // of pieces would be flattened there, on every scrape that finds it new).
  return pieces.join('');
}

/** Most bytes all templates may hold (a template holds its body without the values). */
const MAX_TEMPLATE_BYTES = 32 * 2 ** 20;
/** Shapes remembered as seen once (a second sighting builds a template). */
const MAX_SEEN = 4096;
/**
 * A shape no template could be made of twice in a row (a family that stays parsed, say) is not
 * probed again for this long: probing on every push of it would double its cost.
 */
const RETRY_MS = 10_000;

/**
 * The templates in use, found by the hash of their bodies' shape: a fleet's groups share one
 * (or one per distinct build label, say). Counted by users, dropped with the last; none made
 * beyond MAX_TEMPLATE_BYTES.
 */
export class Templates {
  private readonly byHash = new Map<number, SharedTemplate[]>();
  private readonly seen = new Set<number>();
  /** Shapes whose template could not be made, with the time to try again. */
  private readonly unfit = new Map<number, number>();
  private bytes = 0;

  constructor(private readonly nowMs: () => number = () => performance.now()) {}

  /**
   * The template that fits a text push the full path just stored: its body `src` with values at
   * `spans` (hash: shapeHash), to a group of grouping label names `shape`, storing `stored`. One
   * shared already is taken when the push matches it exactly: same bytes between the values, same
   * grouping label names (which labels the body's series keep) and the same order of series in
   * every family (the only thing grouping label values change: series sort by their values), so
   * the same line shows the same value; and the push's own values written through it give what
   * was stored. Otherwise one is built when the shape was seen before (`repeated`: by this group).
   */
  fit(
    src: string,
    spans: readonly number[],
    hash: number,
    labels: GroupingLabels,
    shape: readonly string[],
    stored: readonly PreparedFamily[],
    replace: boolean,
    repeated: boolean,
  ): SharedTemplate | undefined {
    const candidates = this.byHash.get(hash);
    if (candidates !== undefined) {
      for (const t of candidates) if (fits(t, src, shape, stored, replace)) return t;
    }
    if (!repeated && !this.seen.has(hash)) {
      if (this.seen.size >= MAX_SEEN) this.seen.clear();
      this.seen.add(hash);
      return undefined;
    }
    // Over the budget (the body bounds the template's size) or unfit lately: not even probed.
    if (this.bytes + src.length + 8 * (spans.length / 2) > MAX_TEMPLATE_BYTES) return undefined;
    const retryAt = this.unfit.get(hash);
    if (retryAt !== undefined && this.nowMs() < retryAt) return undefined;
    const made = buildTemplate(src, spans, labels, stored, replace);
    if (made === undefined) {
      // Once may be the push's values (a -0): the next push of the shape tries again. Twice in a
      // row, it is the shape.
      if (this.unfit.size >= MAX_SEEN) this.unfit.clear();
      this.unfit.set(hash, retryAt === undefined ? -Infinity : this.nowMs() + RETRY_MS);
      return undefined;
    }
    this.unfit.delete(hash);
    const size = made.between.reduce((n, b) => n + b.length, 0) + 8 * made.kinds.length;
    const shared: SharedTemplate = { ...made, hash, shape, users: 0 };
    this.bytes += size;
    if (candidates === undefined) this.byHash.set(hash, [shared]);
    else candidates.push(shared);
    return shared;
  }

  /** One user more. */
  use(t: SharedTemplate): void {
    t.users++;
  }

  /** One user fewer; dropped with the last. */
  release(t: SharedTemplate): void {
    if (--t.users > 0) return;
    const candidates = this.byHash.get(t.hash);
    if (candidates === undefined) return;
    const rest = candidates.filter((c) => c !== t);
    if (rest.length === candidates.length) return;
    this.bytes -= t.between.reduce((n, b) => n + b.length, 0) + 8 * t.kinds.length;
    if (rest.length === 0) this.byHash.delete(t.hash);
    else this.byHash.set(t.hash, rest);
  }

  get size(): number {
    let n = 0;
    for (const c of this.byHash.values()) n += c.length;
    return n;
  }
}

/** Whether template `t` fits a push (see Templates.fit). */
function fits(
  t: SharedTemplate,
  src: string,
  shape: readonly string[],
  stored: readonly PreparedFamily[],
  replace: boolean,
): boolean {
  if (t.shape !== shape || t.replace !== replace || t.families.length !== stored.length) return false;
  const texts: string[] = [];
  for (let f = 0; f < stored.length; f++) {
    const packed = stored[f].packed;
    if (packed === undefined || stored[f].mf.name !== t.families[f].name || packed.order !== t.families[f].order)
      return false;
    texts.push(packed.text);
  }
  // Its bytes between the values are the template's (repushLines matches them), and written
  // through the template, its own values leave every line as stored.
  const again = repushLines(t, src, texts);
  return again !== undefined && again.every((text, f) => text === texts[f]);
}
