// Snappy's framing format (what Go's snappy.NewReader reads, and so what newer Pushgateways accept
// with `Content-Encoding: snappy`). Blocks are decompressed by snappyjs; the framing, checksums
// and the size bound are here. Errors are worded as Go's snappy package words them.
import * as snappy from 'snappyjs';
import { ParseError } from '../parse/errors.js';

const CORRUPT = 'snappy: corrupt input';
const UNSUPPORTED = 'snappy: unsupported input';
const MAX_BLOCK = 65536;

export class SnappyError extends ParseError {}
export class SnappyTooLarge extends Error {}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C, masked as the framing format stores it. */
function maskedCrc(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  c = (c ^ 0xffffffff) >>> 0;
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

export function decodeSnappyFramed(body: Uint8Array, maxBytes: number): Buffer {
  const out: Uint8Array[] = [];
  let size = 0;
  let pos = 0;
  let seenId = false;
  while (pos < body.length) {
    if (pos + 4 > body.length) throw new SnappyError(CORRUPT);
    const type = body[pos];
    const len = body[pos + 1] | (body[pos + 2] << 8) | (body[pos + 3] << 16);
    pos += 4;
    if (pos + len > body.length) throw new SnappyError(CORRUPT);
    const chunk = body.subarray(pos, pos + len);
    pos += len;
    if (type === 0xff) {
      if (len !== 6 || Buffer.from(chunk).toString('latin1') !== 'sNaPpY') throw new SnappyError(CORRUPT);
      seenId = true;
      continue;
    }
    if (!seenId) throw new SnappyError(CORRUPT);
    if (type === 0x00 || type === 0x01) {
      if (len < 4) throw new SnappyError(CORRUPT);
      const crc = chunk[0] | (chunk[1] << 8) | (chunk[2] << 16) | (chunk[3] << 24);
      let data: Uint8Array;
      if (type === 0x01) data = chunk.subarray(4);
      else {
        try {
          data = snappy.uncompress(chunk.subarray(4), MAX_BLOCK);
        } catch {
          throw new SnappyError(CORRUPT);
        }
      }
      if (data.length > MAX_BLOCK || maskedCrc(data) !== crc >>> 0) throw new SnappyError(CORRUPT);
      size += data.length;
      if (size > maxBytes)
        throw new SnappyTooLarge(
          `decompressed request body exceeds the limit of ${maxBytes} bytes (--push.max-body-bytes)`,
        );
      out.push(data);
      continue;
    }
    if (type >= 0x02 && type <= 0x7f) throw new SnappyError(UNSUPPORTED);
    // 0x80-0xfe: padding and reserved skippable chunks.
  }
  return Buffer.concat(out, size);
}

/** Frames data as Go's snappy.Writer would (for tests and clients). */
export function encodeSnappyFramed(data: Uint8Array): Buffer {
  const parts: Buffer[] = [Buffer.from([0xff, 6, 0, 0, ...Buffer.from('sNaPpY')])];
  for (let off = 0; off < data.length || off === 0; off += MAX_BLOCK) {
    const block = data.subarray(off, off + MAX_BLOCK);
    const compressed = Buffer.from(snappy.compress(block));
    const header = Buffer.alloc(8);
    const len = compressed.length + 4;
    header.writeUInt8(0x00, 0);
    header.writeUIntLE(len, 1, 3);
    header.writeUInt32LE(maskedCrc(block), 4);
    parts.push(header, compressed);
    if (data.length === 0) break;
  }
  return Buffer.concat(parts);
}
