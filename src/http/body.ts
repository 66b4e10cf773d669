// Request bodies: read whole, bounded, and gunzipped when the client says so (as the reference).
import type { IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { HttpError } from './errors.js';
import { decodeSnappyFramed, SnappyError, SnappyTooLarge } from './snappy.js';

export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes) {
    req.resume(); // discard; the answer says why
    return Promise.reject(
      new HttpError(
        413,
        `request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes (--push.max-body-bytes)`,
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) {
        failed = true;
        reject(new HttpError(413, `request body exceeds the limit of ${maxBytes} bytes (--push.max-body-bytes)`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed) reject(new HttpError(400, err.message));
      failed = true;
    });
  });
}

/** Undoes `Content-Encoding: gzip` or `snappy` (framed), refusing output past `maxBytes` (a bomb gets 413). */
export function decodeContent(encoding: string | undefined, body: Buffer, maxBytes: number): Buffer {
  const enc = encoding?.toLowerCase();
  if (enc === 'snappy') {
    try {
      return decodeSnappyFramed(body, maxBytes);
    } catch (e) {
      if (e instanceof SnappyTooLarge) throw new HttpError(413, e.message);
      if (e instanceof SnappyError) throw new HttpError(400, e.message);
      throw e;
    }
  }
  if (enc !== 'gzip') return body;
  // Go reads the 10-byte gzip header first: a shorter body ends too early.
  if (body.length < 10) throw new HttpError(400, 'unexpected EOF');
  try {
    return gunzipSync(body, { maxOutputLength: maxBytes });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE') {
      throw new HttpError(
        413,
        `decompressed request body exceeds the limit of ${maxBytes} bytes (--push.max-body-bytes)`,
      );
    }
    throw new HttpError(400, err.code === 'Z_DATA_ERROR' ? 'gzip: invalid header' : `gzip: ${err.message}`);
  }
}
