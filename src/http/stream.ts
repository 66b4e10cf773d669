// Sends a large body (a scrape) without holding the event loop or a copy of it: the parts are
// copied into 64 KiB chunks one at a time and written while the socket (or the gzip stream, which
// compresses on libuv's thread pool) holds less than 1 MiB of them, with a turn of the event loop
// every 4 ms of copying so pushes keep being served. A client that goes away stops it at once.
import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';

const CHUNK = 64 * 1024;
const QUEUED = 1024 * 1024;
const SLICE_MS = 4;
const SMALL_GZIP = 1024 * 1024;

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

/** Writes the parts (byte strings or bytes) as the whole body of a 200 answer; resolves when sent or abandoned. */
export async function streamBody(
  res: ServerResponse,
  parts: ReadonlyArray<string | Uint8Array>,
  headers: Record<string, string>,
  gzip: boolean,
): Promise<void> {
  let length = 0;
  for (const p of parts) length += p.length;
  if (gzip) headers['Content-Encoding'] = 'gzip';
  if (gzip && length <= SMALL_GZIP) {
    // Compressing ~1 MiB at level 1 takes a few milliseconds here; through the thread pool it
    // would take a turn of the event loop per 16 KiB, each behind every push waiting.
    const body = gzipSync(join(parts, length), { level: 1 });
    headers['Content-Length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(body);
    return;
  }
  if (!gzip) headers['Content-Length'] = String(length);
  res.writeHead(200, headers);
  if (!gzip && length <= CHUNK) {
    // Small: one write, nothing to wait for.
    res.end(join(parts, length));
    return;
  }
  let gone = false;
  const leave = () => {
    gone = true;
  };
  res.once('close', leave);
  let out: Writable = res;
  if (gzip) {
    // Level 1 costs a quarter of the default for ~10 % more bytes; large output chunks, few turns.
    const z = createGzip({ level: 1, chunkSize: 256 * 1024 });
    z.pipe(res);
    z.on('error', () => res.destroy());
    out = z;
  }
  let slice = performance.now();
  const send = async (bytes: Uint8Array, from?: Buffer): Promise<void> => {
    // Once written (or failed), the stream holds the chunk no more.
    if (from !== undefined) out.write(bytes, () => giveBack(from));
    else out.write(bytes);
    // A slow reader holds at most QUEUED bytes of this scrape; a fast one is not waited for per chunk.
    if (out.writableLength > QUEUED && !gone) await drainedOrClosed(out, res);
    // A turn for other requests every few milliseconds of copying.
    if (!gone && performance.now() - slice > SLICE_MS) {
      await new Promise<void>((r) => setImmediate(r));
      slice = performance.now();
    }
  };
  let chunk = takeChunk();
  let at = 0;
  // Small strings waiting to be copied: a scrape is hundreds of thousands of parts of a hundred
  // bytes, and one Buffer.write per part costs more than the copy; concatenated (V8 links them
  // and copies once, when written), a write per chunk.
  let waiting = '';
  const copyWaiting = () => {
    if (waiting.length === 0) return;
    at += chunk.write(waiting, at, 'latin1');
    waiting = '';
  };
  for (const p of parts) {
    if (gone) break;
    if (at + waiting.length + p.length > CHUNK && at + waiting.length > 0) {
      copyWaiting();
      await send(chunk.subarray(0, at), chunk);
      // The written chunk may still be queued: another one, given back only once written.
      chunk = takeChunk();
      at = 0;
    }
    if (p.length > CHUNK) {
      // A large part (one group's family can be megabytes) is sent a chunk at a time too: a
      // whole copy of it would stay queued for as long as a slow reader takes to read it.
      for (let from = 0; from < p.length && !gone; from += CHUNK) {
        const piece = typeof p === 'string' ? p.substring(from, from + CHUNK) : p.subarray(from, from + CHUNK);
        await send(typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece);
      }
      continue;
    }
    if (typeof p === 'string') waiting += p;
    else {
      copyWaiting();
      at += Buffer.from(p.buffer, p.byteOffset, p.length).copy(chunk, at);
    }
  }
  copyWaiting();
  res.off('close', leave);
  if (gone) {
    if (out !== res) out.destroy();
    return;
  }
  out.end(chunk.subarray(0, at));
}

/** Waits for either; unlike racing two events.once, leaves no listener behind on the other. */
function drainedOrClosed(out: Writable, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      res.off('close', done);
      resolve();
    };
    out.once('drain', done);
    res.once('close', done);
  });
}

function join(parts: ReadonlyArray<string | Uint8Array>, length: number): Buffer {
  const body = Buffer.allocUnsafe(length);
  let at = 0;
  for (const p of parts)
    at +=
      typeof p === 'string'
        ? body.write(p, at, 'latin1')
        : Buffer.from(p.buffer, p.byteOffset, p.length).copy(body, at);
  return body;
}
