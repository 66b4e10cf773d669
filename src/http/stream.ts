// Sends a large body (a scrape) without holding the event loop or a copy of it: the parts are
// copied into 64 KiB chunks one at a time and written while the socket holds less than 1 MiB of
// them, with a turn of the event loop every 4 ms of copying so pushes keep being served. A client
// that goes away stops it at once.
// Gzip: each family's parts are compressed apart on libuv's thread pool, a megabyte at a time, and
// joined into one gzip member (lib/gzipjoin.ts); the compressed form is kept for as long as the
// family's parts array is (a family no push changed compresses once, however often it is scraped).
import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { deflatePiece, deflatePieceSync, GZIP_HEADER, gzipTrailer, type DeflatedPiece } from '../lib/gzipjoin.js';

const CHUNK = 64 * 1024;
const QUEUED = 1024 * 1024;
const SLICE_MS = 4;
const SMALL_GZIP = 1024 * 1024;
/** Bytes compressed in one call on the thread pool. */
const PIECE = 1024 * 1024;

/** A body as its families' parts (byte strings or bytes), in order. */
export type FamilyParts = ReadonlyArray<ReadonlyArray<string | Uint8Array>>;

// Chunks whose bytes were written out, for the next ones: a scrape of tens of megabytes would
// otherwise allocate a new 64 KiB buffer per chunk, external memory that V8 answers with
// collections of the whole heap.
const spare: Buffer[] = [];
const SPARE_MAX = 32;

function takeChunk(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafe(CHUNK);
}

function giveBack(chunk: Buffer): void {
  if (spare.length < SPARE_MAX) spare.push(chunk);
}

/** The compressed form of a family's parts, while that parts array lives. */
const deflated = new WeakMap<ReadonlyArray<string | Uint8Array>, DeflatedPiece[]>();

/** Writes the families' parts as the whole body of a 200 answer; resolves when sent or abandoned. */
export async function streamBody(
  res: ServerResponse,
  families: FamilyParts,
  headers: Record<string, string>,
  gzip: boolean,
): Promise<void> {
  let length = 0;
  for (const f of families) for (const p of f) length += p.length;
  if (gzip) headers['Content-Encoding'] = 'gzip';
  if (gzip && length <= SMALL_GZIP) {
    // Compressing ~1 MiB at level 1 takes a few milliseconds here; through the thread pool it
    // would take a turn of the event loop per piece, each behind every push waiting.
    const body = gzipSync(join(families, length), { level: 1 });
    headers['Content-Length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(body);
    return;
  }
  if (!gzip) headers['Content-Length'] = String(length);
  res.writeHead(200, headers);
  if (!gzip && length <= CHUNK) {
    // Small: one write, nothing to wait for.
    res.end(join(families, length));
    return;
  }
  let gone = false;
  const leave = () => {
    gone = true;
  };
  res.once('close', leave);
  let slice = performance.now();
  const send = async (bytes: Uint8Array, from?: Buffer): Promise<void> => {
    // Once written (or failed), the socket holds the chunk no more.
    if (from !== undefined) res.write(bytes, () => giveBack(from));
    else res.write(bytes);
    // A slow reader holds at most QUEUED bytes of this scrape; a fast one is not waited for per chunk.
    if (res.writableLength > QUEUED && !gone) await drainedOrClosed(res);
    // A turn for other requests every few milliseconds of copying.
    if (!gone && performance.now() - slice > SLICE_MS) {
      await new Promise<void>((r) => setImmediate(r));
      slice = performance.now();
    }
  };
  if (gzip) {
    const pieces: DeflatedPiece[] = [];
    const input = Buffer.allocUnsafe(PIECE);
    res.write(GZIP_HEADER);
    for (const parts of families) {
      let made = deflated.get(parts);
      if (made === undefined) {
        made = [];
        // The input buffer is filled again only once the thread pool is done with it.
        for (const n of fillings(parts, () => input)) {
          if (gone) break;
          const bytes = input.subarray(0, n);
          made.push(n < CHUNK ? deflatePieceSync(bytes) : await deflatePiece(bytes));
        }
        if (gone) break;
        deflated.set(parts, made);
      }
      for (const p of made) {
        pieces.push(p);
        await send(p.deflated);
      }
      if (gone) break;
    }
    res.off('close', leave);
    if (!gone) res.end(gzipTrailer(pieces));
    return;
  }
  let chunk: Buffer | undefined;
  for (const n of fillings(flat(families), () => (chunk = takeChunk()))) {
    if (gone) break;
    await send(chunk!.subarray(0, n), chunk);
  }
  res.off('close', leave);
  if (!gone) res.end();
}

function* flat(families: FamilyParts): Iterable<string | Uint8Array> {
  for (const f of families) yield* f;
}

/**
 * Copies the parts into buffers from `take` (called for each buffer after the first), yielding
 * how many bytes each holds once full, and the last one's. Small strings are concatenated first
 * (V8 links them and copies once, when written): a scrape is hundreds of thousands of parts of a
 * hundred bytes, and one Buffer.write per part costs more than the copy.
 */
function* fillings(parts: Iterable<string | Uint8Array>, take: () => Buffer): Generator<number> {
  let buffer: Buffer | undefined;
  let at = 0;
  let waiting = '';
  const flush = () => {
    if (waiting.length > 0) at += buffer!.write(waiting, at, 'latin1');
    waiting = '';
  };
  for (const p of parts) {
    for (let from = 0; from < p.length;) {
      buffer ??= take();
      const room = buffer.length - at - waiting.length;
      if (room === 0) {
        flush();
        yield at;
        buffer = undefined;
        at = 0;
        continue;
      }
      const n = Math.min(room, p.length - from);
      if (typeof p === 'string') waiting += n === p.length ? p : p.slice(from, from + n);
      else {
        flush();
        at += Buffer.from(p.buffer, p.byteOffset + from, n).copy(buffer, at);
      }
      from += n;
    }
  }
  flush();
  if (at > 0) yield at;
}

/** Waits for either; unlike racing two events.once, leaves no listener behind on the other. */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

function join(families: FamilyParts, length: number): Buffer {
  const body = Buffer.allocUnsafe(length);
  let at = 0;
  for (const f of families)
    for (const p of f)
      at +=
        typeof p === 'string'
          ? body.write(p, at, 'latin1')
          : Buffer.from(p.buffer, p.byteOffset, p.length).copy(body, at);
  return body;
}
