// Normalization of what a gateway answers, so that the reference's answers (recorded as golden
// files) and ours can be compared. The rule is: keep everything byte-exact except what is
// legitimately different between two processes (self metrics, times, versions) or what the
// reference itself does not answer deterministically (Go map iteration order). Every such
// exception is listed here, with the reason.

/** Families of the gateway's own metrics; ours exposes its self metrics under the same prefixes. */
export const SELF_METRIC_PREFIXES = ['go_', 'process_', 'pushgateway_', 'nodejs_'];

const PUSH_TIME_FAMILIES = new Set(['push_time_seconds', 'push_failure_time_seconds']);

/** Text a masked time is replaced with. */
export const TIME_MASK = '<time>';

/**
 * A "substring alternatives" rule: where the reference answers one of several texts at random
 * (because Go iterates over a map), every alternative is replaced by the first (canonical) one.
 * Each case that needs it documents why.
 */
export type Alternatives = string[][];

/** A push time as the reference writes it: nonzero seconds since the epoch (between 2001 and 2286). */
function isPlausiblePushTime(s: string): boolean {
  if (!/^[0-9.e+]+$/.test(s)) return false;
  const v = Number(s);
  return Number.isFinite(v) && v >= 1e9 && v < 1e10;
}

/** Go's time.Time JSON encoding (RFC 3339 with up to nanoseconds, trailing zeros dropped). */
function isGoJsonTime(s: string): boolean {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/.test(s);
}

function applyAlternatives(text: string, alternatives: Alternatives | undefined): string {
  if (!alternatives) return text;
  let out = text;
  for (const [canonical, ...others] of alternatives) {
    for (const other of others) out = out.split(other).join(canonical);
  }
  return out;
}

/** Splits text into lines for readable golden files; a missing final newline is made visible. */
export function toLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else lines.push('<no trailing newline>');
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Error bodies (and any other plain text body)
// ---------------------------------------------------------------------------------------------

/**
 * Collapses runs of whitespace outside of double-quoted strings in the protobuf text that Go
 * embeds in consistency errors, e.g.
 *   collected metric "m" { label:<name:"job" value:"a" > gauge:<value:1 > } is not a COUNTER
 * Why: Go's protobuf text marshalling (google.golang.org/protobuf's prototext, used by newer
 * client_model builds) deliberately inserts random extra spaces so that nobody relies on its
 * exact output. The reference build we record from prints single spaces, so for it this is a
 * no-op; it only keeps the goldens stable should a rebuilt reference randomize.
 */
function collapseProtoTextSpacing(line: string): string {
  const marker = 'collected metric "';
  let idx = line.indexOf(marker);
  if (idx < 0) return line;
  let out = '';
  let pos = 0;
  while (idx >= 0) {
    // Skip the quoted metric name.
    let i = idx + marker.length;
    while (i < line.length && line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
    const open = line.indexOf(' {', i);
    if (open < 0) break;
    // Walk to the matching " }" outside of quoted strings, collapsing whitespace.
    let j = open + 2;
    let seg = '';
    let inStr = false;
    let depthEnd = -1;
    let depth = 1;
    for (; j < line.length; j++) {
      const c = line[j];
      if (inStr) {
        seg += c;
        if (c === '\\' && j + 1 < line.length) {
          seg += line[++j];
        } else if (c === '"') inStr = false;
        continue;
      }
      if (c === '"') {
        inStr = true;
        seg += c;
        continue;
      }
      if (c === '{') depth++;
      if (c === '}' && --depth === 0) {
        depthEnd = j;
        break;
      }
      if (c === ' ' || c === '\t') {
        if (!seg.endsWith(' ')) seg += ' ';
        continue;
      }
      seg += c;
    }
    if (depthEnd < 0) break;
    if (!seg.startsWith(' ')) seg = ' ' + seg;
    if (!seg.endsWith(' ')) seg += ' ';
    out += line.slice(pos, open) + ' {' + seg + '}';
    pos = depthEnd + 1;
    idx = line.indexOf(marker, pos);
  }
  return out + line.slice(pos);
}

/**
 * Normalizes a plain-text body (mostly errors written with Go's http.Error):
 * - push times embedded in Go's protobuf text (`gauge:<value:1.7957770320264564e+09 >`) are
 *   masked, since they are wall-clock times;
 * - runs of spaces in embedded protobuf text are collapsed (see collapseProtoTextSpacing);
 * - the items of a Go multi-error ("N error(s) occurred:" followed by "* ..." lines) are
 *   sorted. Why: the reference gathers the pushed families from a Go map, so the order in
 *   which it reports several errors changes from one request to the next.
 * - case-specific alternatives (see Alternatives) are applied.
 */
export function normalizeErrorText(text: string, alternatives?: Alternatives): string {
  let t = text.replace(/\b\d\.\d+e\+09\b/g, TIME_MASK);
  t = t
    .split('\n')
    .map((l) => collapseProtoTextSpacing(l))
    .join('\n');
  t = applyAlternatives(t, alternatives);
  const lines = t.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (/\d+ error\(s\) occurred:$/.test(lines[i])) {
      let j = i + 1;
      while (j < lines.length && lines[j].startsWith('* ')) j++;
      const items = lines.slice(i + 1, j).sort();
      lines.splice(i + 1, items.length, ...items);
      i = j - 1;
    }
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// /metrics (text exposition format 0.0.4)
// ---------------------------------------------------------------------------------------------

interface ParsedSample {
  name: string;
  labelNames: string[];
  /** Index in the line where the value part (after the name and the label set) starts. */
  restStart: number;
}

/** Parses `name{l="v",...} value [ts]`; returns undefined for anything else. */
export function parseSampleLine(line: string): ParsedSample | undefined {
  const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!m) return undefined;
  const name = m[0];
  let i = name.length;
  const labelNames: string[] = [];
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const ln = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
      if (!ln) return undefined;
      labelNames.push(ln[0]);
      i += ln[0].length;
      if (line[i] !== '=' || line[i + 1] !== '"') return undefined;
      i += 2;
      while (i < line.length && line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
      if (i >= line.length) return undefined;
      i++;
      if (line[i] === ',') i++;
    }
  }
  if (line[i] !== ' ' && line[i] !== '\t') return undefined;
  return { name, labelNames, restStart: i };
}

function isSelfFamily(name: string): boolean {
  return SELF_METRIC_PREFIXES.some((p) => name.startsWith(p));
}

function belongsTo(sampleName: string, family: string): boolean {
  return (
    sampleName === family ||
    sampleName === family + '_bucket' ||
    sampleName === family + '_sum' ||
    sampleName === family + '_count'
  );
}

/**
 * Normalizes a /metrics body:
 * - the gateway's own metric families (SELF_METRIC_PREFIXES) are dropped; pushed series in
 *   such a family (they always carry a `job` label, self metrics never do) are kept together
 *   with the family's HELP and TYPE lines, so that pushes clashing with self metrics stay visible;
 * - the values of push_time_seconds / push_failure_time_seconds are masked when nonzero
 *   (0 is kept: it is meaningful);
 * - case-specific alternatives are applied (e.g. a HELP line chosen at random by the reference).
 * Everything else is kept byte-exact. Returns lines.
 */
export function normalizeMetricsText(text: string, alternatives?: Alternatives): string[] {
  const lines = text.split('\n');
  const trailingNewline = lines[lines.length - 1] === '';
  if (trailingNewline) lines.pop();

  interface Block {
    family: string | undefined;
    lines: string[];
  }
  const blocks: Block[] = [];
  let cur: Block | undefined;
  for (const line of lines) {
    const meta = /^# (HELP|TYPE) ([^ ]+)/.exec(line);
    if (meta) {
      const fam = meta[2];
      if (!cur || cur.family !== fam || (meta[1] === 'HELP' && cur.lines.some((l) => !l.startsWith('#')))) {
        cur = { family: fam, lines: [] };
        blocks.push(cur);
      }
      cur.lines.push(line);
      continue;
    }
    const s = parseSampleLine(line);
    if (s) {
      if (!cur || cur.family === undefined || !belongsTo(s.name, cur.family)) {
        cur = { family: s.name, lines: [] };
        blocks.push(cur);
      }
      cur.lines.push(line);
      continue;
    }
    // Unparsable line: keep it in a block of its own, verbatim.
    cur = { family: undefined, lines: [line] };
    blocks.push(cur);
    cur = undefined;
  }

  const out: string[] = [];
  for (const b of blocks) {
    let keep = b.lines;
    if (b.family !== undefined && isSelfFamily(b.family)) {
      const pushed = b.lines.filter((l) => {
        if (l.startsWith('#')) return false;
        const s = parseSampleLine(l);
        return s !== undefined && s.labelNames.includes('job');
      });
      if (pushed.length === 0) continue;
      keep = [...b.lines.filter((l) => l.startsWith('#')), ...pushed];
    }
    for (const l of keep) {
      if (!l.startsWith('#')) {
        const s = parseSampleLine(l);
        if (s && PUSH_TIME_FAMILIES.has(s.name)) {
          const rest = l.slice(s.restStart + 1);
          if (rest !== '0' && isPlausiblePushTime(rest)) {
            out.push(l.slice(0, s.restStart + 1) + TIME_MASK);
            continue;
          }
        }
      }
      out.push(l);
    }
  }
  let joined = out.join('\n');
  joined = applyAlternatives(joined, alternatives);
  const result = joined === '' ? [] : joined.split('\n');
  if (!trailingNewline) result.push('<no trailing newline>');
  return result;
}

// ---------------------------------------------------------------------------------------------
// JSON (/api/v1/...)
// ---------------------------------------------------------------------------------------------

/** A parsed JSON value that keeps object key order (JS objects reorder integer-like keys). */
export type JNode =
  | { t: 'obj'; entries: [string, JNode][] }
  | { t: 'arr'; items: JNode[] }
  | { t: 'str'; v: string }
  | { t: 'num'; raw: string }
  | { t: 'lit'; raw: 'true' | 'false' | 'null' };

export function parseJson(text: string): JNode {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const fail = (what: string): never => {
    throw new Error(`invalid JSON at ${i}: ${what}`);
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      i++;
    }
    if (i >= text.length) fail('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): JNode => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: [string, JNode][] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { t: 'obj', entries };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected key');
        const k = str();
        ws();
        if (text[i] !== ':') fail('expected :');
        i++;
        entries.push([k, value()]);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { t: 'obj', entries };
        }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const items: JNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { t: 'arr', items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { t: 'arr', items };
        }
        fail('expected , or ]');
      }
    }
    if (c === '"') return { t: 'str', v: str() };
    const lit = /^(true|false|null)/.exec(text.slice(i, i + 5));
    if (lit) {
      i += lit[0].length;
      return { t: 'lit', raw: lit[0] as 'true' | 'false' | 'null' };
    }
    const num = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (num) {
      i += num[0].length;
      return { t: 'num', raw: num[0] };
    }
    return fail('unexpected character');
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing data');
  return v;
}

/** Encodes a string the way Go's encoding/json does (HTML-safe escaping, Go 1.19). */
export function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || ch === '<' || ch === '>' || ch === '&' || cp === 0x2028 || cp === 0x2029)
      out += '\\u' + cp.toString(16).padStart(4, '0');
    // Go writes invalid UTF-8 as the escape \ufffd; a decoded U+FFFD can only have come from
    // there in our cases (nothing pushes a literal U+FFFD), so re-encode it the same way.
    else if (cp === 0xfffd) out += '\\ufffd';
    else out += ch;
  }
  return out + '"';
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Key order Go uses for an object: struct fields in declaration order for the two structs the
 * API encodes (the response envelope and a metric family), map keys sorted bytewise otherwise.
 */
function goKeyOrder(keys: string[]): string[] {
  const envelope = ['status', 'data', 'errorType', 'error'];
  const family = ['time_stamp', 'type', 'help', 'metrics'];
  if (keys.includes('status') && keys.every((k) => envelope.includes(k)))
    return envelope.filter((k) => keys.includes(k));
  if (keys.includes('time_stamp') && keys.every((k) => family.includes(k)))
    return family.filter((k) => keys.includes(k));
  return [...keys].sort(byteCompare);
}

/** Serializes a JNode the way Go would have encoded the same value. */
export function goJsonEncode(n: JNode): string {
  switch (n.t) {
    case 'str':
      return goJsonString(n.v);
    case 'num':
    case 'lit':
      return n.raw;
    case 'arr':
      return '[' + n.items.map(goJsonEncode).join(',') + ']';
    case 'obj': {
      const map = new Map(n.entries);
      const order = goKeyOrder(n.entries.map(([k]) => k));
      return '{' + order.map((k) => goJsonString(k) + ':' + goJsonEncode(map.get(k) as JNode)).join(',') + '}';
    }
  }
}

/** Where `raw` first differs from Go's encoding of the same value, or 'go-exact'. */
export function goEncodingCheck(raw: string, n: JNode): string {
  const expected = goJsonEncode(n);
  if (expected === raw) return 'go-exact';
  let i = 0;
  while (i < raw.length && i < expected.length && raw[i] === expected[i]) i++;
  const from = Math.max(0, i - 30);
  return `differs from Go's encoding at char ${i}: got ${JSON.stringify(raw.slice(from, i + 30))}, Go would write ${JSON.stringify(expected.slice(from, i + 30))}`;
}

export type Plain = string | number | boolean | null | Plain[] | { [k: string]: Plain };

function toPlain(n: JNode): Plain {
  switch (n.t) {
    case 'str':
      return n.v;
    case 'num':
      return Number(n.raw);
    case 'lit':
      return n.raw === 'null' ? null : n.raw === 'true';
    case 'arr':
      return n.items.map(toPlain);
    case 'obj': {
      const o: { [k: string]: Plain } = {};
      for (const [k, v] of n.entries) o[k] = toPlain(v);
      return o;
    }
  }
}

function getKey(n: JNode | undefined, k: string): JNode | undefined {
  if (!n || n.t !== 'obj') return undefined;
  const e = n.entries.find(([key]) => key === k);
  return e?.[1];
}

function mapValues(n: JNode, f: (k: string, v: JNode) => JNode): JNode {
  if (n.t !== 'obj') return n;
  return { t: 'obj', entries: n.entries.map(([k, v]) => [k, f(k, v)]) };
}

/**
 * Normalizes /api/v1/metrics:
 * - the groups are sorted by their encoded grouping labels. Why: the reference iterates over a
 *   Go map of groups, so their order changes from one request to the next;
 * - every `time_stamp` (a wall-clock time) is masked when it has Go's RFC 3339 format (anything
 *   else is kept, so that a wrong format shows up);
 * - the nonzero `value`s of push_time_seconds / push_failure_time_seconds are masked.
 * Returns a plain value for the golden file; byte-level fidelity (escaping, key order,
 * whitespace) is checked separately by goEncodingCheck on the raw body.
 */
export function normalizeApiMetrics(n: JNode): Plain {
  const data = getKey(n, 'data');
  if (!data || data.t !== 'arr') return toPlain(n);
  const groups = data.items.map((g) =>
    mapValues(g, (famName, fam) => {
      if (fam.t !== 'obj' || famName === 'labels') return fam;
      return mapValues(fam, (k, v) => {
        if (k === 'time_stamp' && v.t === 'str' && isGoJsonTime(v.v)) return { t: 'str', v: TIME_MASK };
        if (k === 'metrics' && PUSH_TIME_FAMILIES.has(famName) && v.t === 'arr') {
          return {
            t: 'arr',
            items: v.items.map((m) =>
              mapValues(m, (mk, mv) =>
                mk === 'value' && mv.t === 'str' && mv.v !== '0' && isPlausiblePushTime(mv.v)
                  ? { t: 'str', v: TIME_MASK }
                  : mv,
              ),
            ),
          };
        }
        return v;
      });
    }),
  );
  const keyed = groups.map((g) => ({ key: goJsonEncode(getKey(g, 'labels') ?? { t: 'lit', raw: 'null' }), g }));
  keyed.sort((a, b) => byteCompare(a.key, b.key));
  const sorted: JNode = {
    t: 'obj',
    entries:
      n.t === 'obj'
        ? n.entries.map(([k, v]) => [k, k === 'data' ? { t: 'arr', items: keyed.map((x) => x.g) } : v])
        : [],
  };
  return toPlain(sorted);
}

/**
 * Normalizes /api/v1/status: only the shape and the flag names are compared (values differ
 * between two processes: listen address, start time, build information, and ours is not the
 * same build). start_time is masked if it has Go's time format.
 */
// Upstream's flags. Debian's build adds web.local-assets; ours adds its own (persistence.sync, ...):
// those are compared nowhere here (docs/compatibility.md lists them).
const UPSTREAM_FLAGS = new Set([
  'log.format',
  'log.level',
  'persistence.file',
  'persistence.interval',
  'push.disable-consistency-check',
  'web.config.file',
  'web.enable-admin-api',
  'web.enable-lifecycle',
  'web.external-url',
  'web.listen-address',
  'web.route-prefix',
  'web.systemd-socket',
  'web.telemetry-path',
]);

export function normalizeApiStatus(n: JNode): Plain {
  const data = getKey(n, 'data');
  if (!data || data.t !== 'obj') return toPlain(n);
  const newData = mapValues(data, (k, v) => {
    if (k === 'start_time' && v.t === 'str') return { t: 'str', v: isGoJsonTime(v.v) ? TIME_MASK : v.v };
    if (k === 'flags' && v.t === 'obj') {
      const upstream: JNode = { t: 'obj', entries: v.entries.filter(([fk]) => UPSTREAM_FLAGS.has(fk)) };
      return mapValues(upstream, (_fk, fv) => (fv.t === 'str' ? { t: 'str', v: '<masked>' } : fv));
    }
    if (k === 'build_information' && v.t === 'obj')
      return mapValues(v, (_fk, fv) => (fv.t === 'str' ? { t: 'str', v: '<masked>' } : fv));
    return v;
  });
  return toPlain(mapValues(n, (k, v) => (k === 'data' ? newData : v)));
}
