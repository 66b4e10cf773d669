// Grouping keys from push paths: /metrics/job/<JOB>{/<LABEL>/<VALUE>}, with @base64 values.
// Works on the raw (still percent-encoded) path, so a %2F sent by a client that does not use
// @base64 stays inside its value instead of splitting the path (the reference splits it).
import { goQuote } from '../lib/goquote.js';
import { decodeGoString } from '../lib/gostring.js';

export type GroupingKeyResult = { ok: true; labels: Record<string, string> } | { ok: false; message: string };

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64_VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_VALUE[B64.charCodeAt(i)] = i;

/**
 * base64url without padding after trimming trailing '=', as the reference decodes; on failure
 * the bytes decoded before the bad quantum come back too (the reference quotes them for jobs).
 */
export function decodeBase64(s: string): { value: string; error?: string } {
  const src = s.replace(/=+$/, '');
  const bytes: number[] = [];
  const quantum: number[] = [];
  let quantumStart = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (c === 10 || c === 13) continue; // Go's decoder skips newlines
    const v = c < 128 ? B64_VALUE[c] : -1;
    if (v < 0)
      return { value: decodeGoString(Uint8Array.from(bytes)), error: `illegal base64 data at input byte ${i}` };
    if (quantum.length === 0) quantumStart = i;
    quantum.push(v);
    if (quantum.length === 4) {
      bytes.push(
        (quantum[0] << 2) | (quantum[1] >> 4),
        ((quantum[1] & 15) << 4) | (quantum[2] >> 2),
        ((quantum[2] & 3) << 6) | quantum[3],
      );
      quantum.length = 0;
    }
  }
  if (quantum.length === 1) {
    return {
      value: decodeGoString(Uint8Array.from(bytes)),
      error: `illegal base64 data at input byte ${quantumStart}`,
    };
  }
  if (quantum.length >= 2) bytes.push((quantum[0] << 2) | (quantum[1] >> 4));
  if (quantum.length === 3) bytes.push(((quantum[1] & 15) << 4) | (quantum[2] >> 2));
  return { value: decodeGoString(Uint8Array.from(bytes)) };
}

/**
 * A path segment percent-decoded as Go decodes it: bytes, not necessarily UTF-8 (invalid bytes
 * become lone surrogates, which the consistency check reports). Undefined if an escape is malformed.
 */
export function decodeSegment(seg: string): string | undefined {
  if (seg.indexOf('%') < 0) return seg;
  const raw = Buffer.from(seg, 'latin1');
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x25) {
      out.push(raw[i]);
      continue;
    }
    const hex = seg.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
    out.push(parseInt(hex, 16));
    i += 2;
  }
  return decodeGoString(Uint8Array.from(out));
}

export interface GroupingKeyOptions {
  /**
   * --push.enable-utf8-names, as Pushgateway 1.11 does it: a label name may be any non-empty
   * valid UTF-8 (still not starting with `__`), and one starting with `U__` is decoded from the
   * value-encoding escape (`U__label_2e_name` → `label.name`, see unescapeName).
   */
  utf8Names?: boolean;
}

/**
 * model.UnescapeName with model.ValueEncodingEscaping (prometheus/common 0.6x): a name starting
 * with `U__` is decoded, `__` standing for '_' and `_<hex>_` for the code point <hex> (1 to 5
 * hex digits, either case; the code point must be a Unicode scalar value). Any other
 * character stands for itself. A name without the prefix, or not a valid encoding (a lone '_'
 * at the end, a non-hex digit, a missing closing '_', six or more digits, a surrogate), comes
 * back unchanged.
 */
export function unescapeName(name: string): string {
  if (!name.startsWith('U__')) return name;
  const s = name.slice(3);
  let out = '';
  let seg = 0;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) !== 0x5f) continue;
    out += s.slice(seg, i);
    if (++i >= s.length) return name;
    if (s.charCodeAt(i) === 0x5f) {
      out += '_';
      seg = i + 1;
      continue;
    }
    let cp = 0;
    for (let j = 0; ; j++, i++) {
      // Go stops at the closing '_' only within the first six places: five digits at most.
      if (i >= s.length || j >= 6) return name;
      const c = s.charCodeAt(i);
      if (c === 0x5f) break;
      const lower = c < 0x80 ? c | 0x20 : c; // Go's lower(): so bytes 0x10-0x19 read as digits, as in Go.
      if (lower >= 0x30 && lower <= 0x39) cp = cp * 16 + (lower - 0x30);
      else if (lower >= 0x61 && lower <= 0x66) cp = cp * 16 + (lower - 0x61 + 10);
      else return name;
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return name;
    out += String.fromCodePoint(cp);
    seg = i + 1;
  }
  return out + s.slice(seg);
}

/** labels[name] = value, also for a name `__proto__` (which `U______proto____` decodes to). */
function setLabel(labels: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__')
    Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
  else labels[name] = value;
}

/** model.UTF8Validation's label name check: non-empty valid UTF-8 (raw invalid bytes are lone surrogates). */
function isUtf8LabelName(name: string): boolean {
  return name !== '' && name.isWellFormed();
}

/**
 * Parses what follows `/metrics/job` in a push path (raw segments, not yet percent-decoded):
 * `/<job>` or `@base64/<job>`, then the label pairs.
 */
export function parseGroupingKey(
  jobBase64: boolean,
  rawJob: string,
  rawLabels: string[],
  options?: GroupingKeyOptions,
): GroupingKeyResult {
  const utf8 = options?.utf8Names === true;
  let job = decodeSegment(rawJob) ?? rawJob;
  if (jobBase64) {
    const d = decodeBase64(job);
    if (d.error !== undefined)
      return { ok: false, message: `invalid base64 encoding in job name ${goQuote(d.value)}: ${d.error}` };
    job = d.value;
  }
  const labels: Record<string, string> = {};
  if (rawLabels.length % 2 !== 0) {
    return {
      ok: false,
      message: `odd number of components in label string ${goQuote('/' + rawLabels.map((s) => decodeSegment(s) ?? s).join('/'))}`,
    };
  }
  for (let i = 0; i < rawLabels.length; i += 2) {
    const name = decodeSegment(rawLabels[i]) ?? rawLabels[i];
    const value = decodeSegment(rawLabels[i + 1]) ?? rawLabels[i + 1];
    const base64 = name.endsWith('@base64');
    const trimmed = base64 ? name.slice(0, -'@base64'.length) : name;
    // With UTF-8 names, the check is on the decoded name, the `__` prefix on the name as sent.
    const labelName = utf8 ? unescapeName(trimmed) : trimmed;
    if (!(utf8 ? isUtf8LabelName(labelName) : LABEL_NAME.test(trimmed)) || trimmed.startsWith('__')) {
      return { ok: false, message: `improper label name ${goQuote(trimmed)}` };
    }
    if (!base64) {
      setLabel(labels, labelName, value);
      continue;
    }
    const d = decodeBase64(value);
    if (d.error !== undefined) {
      return { ok: false, message: `invalid base64 encoding for label ${trimmed}=${goQuote(value)}: ${d.error}` };
    }
    setLabel(labels, labelName, d.value);
  }
  if (job === '') return { ok: false, message: 'job name is required' };
  labels.job = job;
  return { ok: true, labels };
}
