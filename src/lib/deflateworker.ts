// A deflate worker (lib/deflatepool.ts): compresses pieces of shared memory the main thread
// laid out, in the order sent, and answers each with its compressed bytes and its CRC-32.
import { parentPort } from 'node:worker_threads';
import { constants, crc32, deflateRawSync } from 'node:zlib';

export interface DeflateRequest {
  readonly buffer: SharedArrayBuffer;
  readonly offset: number;
  readonly length: number;
}

export type DeflateAnswer = { deflated: Uint8Array; crc: number } | { error: string };

const OPTIONS = { level: 1, finishFlush: constants.Z_SYNC_FLUSH };

parentPort?.on('message', (m: DeflateRequest) => {
  let answer: DeflateAnswer;
  try {
    const bytes = new Uint8Array(m.buffer, m.offset, m.length);
    const out = deflateRawSync(bytes, OPTIONS);
    // Moved, not copied, when it owns its memory (a small output may share a pooled buffer).
    const own = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength;
    const deflated = own ? new Uint8Array(out.buffer) : Uint8Array.prototype.slice.call(out);
    answer = { deflated, crc: crc32(bytes) };
    parentPort!.postMessage(answer, [deflated.buffer as ArrayBuffer]);
  } catch (err) {
    answer = { error: String(err) };
    parentPort!.postMessage(answer);
  }
});
