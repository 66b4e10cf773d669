// Go strings held in JavaScript strings. Go keeps the raw bytes of a string, valid UTF-8 or not;
// a JavaScript string cannot hold invalid UTF-8, so each byte of an invalid sequence becomes a
// lone surrogate U+DC80..U+DCFF (as Python's "surrogateescape" does). Valid UTF-8 never decodes
// to a lone surrogate, so the mapping is one-to-one and encodeGoString restores the exact bytes.
// This module is the project's one UTF-8 encoder and decoder for such strings.
import { isUtf8 } from 'node:buffer';

const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * utf8.DecodeRune of the bytes at b[k]: [rune, width], width 0 where Go reads an invalid byte
 * (utf8.RuneError of width 1). Surrogate encodings and overlong forms are invalid.
 */
export function decodeRune(b: ArrayLike<number>, k: number, end = b.length): [number, number] {
  const b0 = b[k];
  if (b0 < 0x80) return [b0, 1];
  const cont = (j: number, lo = 0x80, hi = 0xbf): number => {
    const x = k + j < end ? b[k + j] : -1;
    return x >= lo && x <= hi ? x & 0x3f : -1;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    const c1 = cont(1);
    return c1 < 0 ? [0, 0] : [((b0 & 0x1f) << 6) | c1, 2];
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const c1 = cont(1, b0 === 0xe0 ? 0xa0 : 0x80, b0 === 0xed ? 0x9f : 0xbf);
    const c2 = c1 < 0 ? -1 : cont(2);
    return c2 < 0 ? [0, 0] : [((b0 & 0x0f) << 12) | (c1 << 6) | c2, 3];
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const c1 = cont(1, b0 === 0xf0 ? 0x90 : 0x80, b0 === 0xf4 ? 0x8f : 0xbf);
    const c2 = c1 < 0 ? -1 : cont(2);
    const c3 = c2 < 0 ? -1 : cont(3);
    return c3 < 0 ? [0, 0] : [((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4];
  }
  return [0, 0];
}

/** The string a Go string of these bytes stands for, invalid UTF-8 bytes as U+DC80..U+DCFF. */
export function decodeGoString(buf: Uint8Array, start = 0, end = buf.length): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (buf[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    // Short strings (most label values) are cheaper to build than to hand to a Buffer.
    if (end - start < 32) {
      let s = '';
      for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
      return s;
    }
    return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
  }
  const view = buf.subarray(start, end);
  if (isUtf8(view)) return utf8Decoder.decode(view);
  let s = '';
  for (let i = start; i < end;) {
    const [r, width] = decodeRune(buf, i, end);
    s += width === 0 ? String.fromCharCode(0xdc00 | buf[i]) : String.fromCodePoint(r);
    i += width === 0 ? 1 : width;
  }
  return s;
}

/** Lone surrogates only (in unicode mode a pair is one code point). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * The bytes of a Go string held as decodeGoString holds it: UTF-8, U+DC80..U+DCFF as the raw
 * bytes they stand for. Any other lone surrogate (no decoder here produces one) is written as
 * its WTF-8 bytes, which Go would read as invalid UTF-8 too.
 */
export function encodeGoString(s: string): Uint8Array {
  if (!LONE_SURROGATE.test(s)) return Buffer.from(s, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        i++;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c >= 0xdc80 && c <= 0xdcff) out.push(c & 0xff);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Uint8Array.from(out);
}

/** A Go string's bytes as a Buffer (what goes on the wire for text held as encodeGoString reads it). */
export function textBytes(text: string): Buffer {
  if (text.isWellFormed()) return Buffer.from(text);
  const b = encodeGoString(text);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

const NON_ASCII = /[^\x00-\x7f]/;

/** The bytes of text (see textBytes) as a latin1 string: one char per byte. */
export function byteString(text: string): string {
  // ASCII text is its own byte string (and testing it flattens a string built by concatenation).
  return NON_ASCII.test(text) ? textBytes(text).toString('latin1') : text;
}
