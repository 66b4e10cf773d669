// Selectors of groups by their grouping labels, in Prometheus' syntax (docs/expiry.md, "Deleting
// by matchers"): `{job="batch",instance=~"host-.*"}` with =, !=, =~ and !~. A label a group does
// not have matches as the empty string, and regular expressions are fully anchored, as in
// Prometheus. A selector must hold a matcher that the empty string does not pass, so that
// selecting every group always takes an explicit matcher such as {job=~".+"}.
import type { GroupingLabels } from './types.js';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

export class SelectorError extends Error {}

/**
 * Why selectors are refused without --web.enable-admin-api: their regular expressions are the
 * client's, run in a backtracking engine on the gateway's one thread.
 */
export const SELECTORS_NEED_ADMIN =
  'selectors need --web.enable-admin-api: their regular expressions run on the gateway’s one thread';

export interface Selector {
  matchers: Matcher[];
  matches(labels: GroupingLabels): boolean;
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

/**
 * Parses one selector; throws SelectorError with a sentence saying what and where. `grants`: the
 * selector says which groups a credential may touch (src/http/permissions.ts), not which to delete,
 * so one that the empty string passes (`{team!="payments"}`) is fine.
 */
export function parseSelector(text: string, grants = false): Selector {
  let i = 0;
  const fail = (why: string) => new SelectorError(`${why} at position ${i + 1} of ${JSON.stringify(text)}`);
  const skip = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const found = () => (i < text.length ? JSON.stringify(text[i]) : 'the end');

  skip();
  if (i === text.length) throw new SelectorError('empty selector: give one such as {job="batch"}');
  if (text[i] !== '{') {
    throw fail(
      NAME_START.test(text[i])
        ? 'a selector of groups has no metric name, only grouping labels in braces, such as {job="batch"}: expected "{"'
        : `expected "{", found ${found()}`,
    );
  }
  i++;
  const matchers: Matcher[] = [];
  for (;;) {
    skip();
    if (text[i] === '}') break;
    if (i === text.length) throw fail('expected a label name or "}", found the end');
    if (!NAME_START.test(text[i])) throw fail(`expected a label name, found ${found()}`);
    const start = i;
    while (i < text.length && NAME_CHAR.test(text[i])) i++;
    const name = text.slice(start, i);
    skip();
    const op = (['=~', '!~', '!=', '='] as const).find((o) => text.startsWith(o, i));
    if (op === undefined) throw fail(`expected one of =, !=, =~, !~ after ${name}, found ${found()}`);
    i += op.length;
    skip();
    const value = readString();
    matchers.push({ name, op, value });
    skip();
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] !== '}') throw fail(`expected "," or "}" after the matcher of ${name}, found ${found()}`);
  }
  i++;
  skip();
  if (i < text.length) throw fail(`unexpected ${found()} after "}"`);
  if (matchers.length === 0)
    throw new SelectorError('the selector {} has no matcher: name at least one, such as {job="batch"}');

  const tests = matchers.map(compile);
  if (!grants && tests.every((t) => t(''))) {
    throw new SelectorError(
      `the selector ${text.trim()} matches the empty string in every matcher, so it would select groups by ` +
        'omission: give at least one matcher the empty string does not pass, such as {job=~".+"} for every group',
    );
  }
  return {
    matchers,
    matches: (labels) => tests.every((t, k) => t(labels[matchers[k].name] ?? '')),
  };

  /** A quoted label value ("…", '…' or `…`), Go's escapes in the first two. */
  function readString(): string {
    const quote = text[i];
    if (quote !== '"' && quote !== "'" && quote !== '`') throw fail(`expected a quoted label value, found ${found()}`);
    const open = i;
    i++;
    let out = '';
    for (;;) {
      if (i >= text.length) {
        i = open;
        throw fail('unterminated quoted value');
      }
      const c = text[i];
      if (c === quote) {
        i++;
        return out;
      }
      if (c === '\\' && quote !== '`') {
        const e = text[i + 1];
        if (e === quote) out += e;
        else if (e !== undefined && e in ESCAPES) out += ESCAPES[e];
        else if (e === 'x' || e === 'u' || e === 'U') {
          const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
          const hex = text.slice(i + 2, i + 2 + len);
          if (!new RegExp(`^[0-9A-Fa-f]{${len}}$`).test(hex)) throw fail(`invalid escape \\${e}${hex}`);
          out += String.fromCodePoint(parseInt(hex, 16));
          i += len;
        } else throw fail(`invalid escape \\${e ?? ''}`);
        i += 2;
        continue;
      }
      if (c === '\n' && quote !== '`') throw fail('a newline inside a quoted value');
      out += c;
      i++;
    }
  }
}

/** The test of one matcher on a label value. */
function compile(m: Matcher): (value: string) => boolean {
  if (m.op === '=') return (v) => v === m.value;
  if (m.op === '!=') return (v) => v !== m.value;
  const re = anchored(m.value, m.name);
  return m.op === '=~' ? (v) => re.test(v) : (v) => !re.test(v);
}

/**
 * An RE2 expression as a fully anchored JavaScript one. What RE2 lacks (lookaround, backreferences)
 * is refused rather than given JavaScript's meaning; RE2's leading flags (?i) (?s) (?m) are taken.
 */
function anchored(source: string, name: string): RegExp {
  const bad = (why: string) =>
    new SelectorError(`invalid regular expression ${JSON.stringify(source)} for ${name}: ${why}`);
  let body = source;
  let flags = 'u';
  const lead = /^\(\?([ims]+)\)/.exec(body);
  if (lead !== null) {
    for (const f of new Set(lead[1])) flags += f;
    body = body.slice(lead[0].length);
  }
  if (/\(\?<?[=!]/.test(body)) throw bad('lookahead and lookbehind are not supported (RE2 syntax)');
  if (/(^|[^\\])(\\\\)*\\([1-9]|k<)/.test(body)) throw bad('backreferences are not supported (RE2 syntax)');
  body = body.replace(/\(\?P</g, '(?<');
  try {
    return new RegExp(`^(?:${body})$`, flags);
  } catch (e) {
    throw bad((e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, ''));
  }
}

/** Groups matching any of the selectors (several match[] are OR-ed, as in Prometheus). */
export function matchingAny<G extends { labels: GroupingLabels }>(groups: Iterable<G>, selectors: Selector[]): G[] {
  const out: G[] = [];
  for (const g of groups) if (selectors.some((s) => s.matches(g.labels))) out.push(g);
  return out;
}
