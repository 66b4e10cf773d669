import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { constants, crc32, inflateRawSync } from 'node:zlib';
import { DeflatePool } from './deflatepool.js';
import { deflatePiece } from './gzipjoin.js';

const dir = mkdtempSync(path.join(tmpdir(), 'deflatepool-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Bytes in shared memory, as a scrape lays them out. */
function sharedBytes(text: string): Buffer {
  const b = Buffer.from(new SharedArrayBuffer(text.length + 10));
  b.write(text, 5, 'latin1');
  return b.subarray(5, 5 + text.length);
}

const text = (seed: number) =>
  Array.from({ length: 3000 }, (_, i) => `fleet_open_fds{instance="host-${seed}",n="${i}"} ${i * seed}\n`).join('');

/** Inflates one piece ended by a sync flush (an empty stored block), as the gzip member joins them. */
const inflatePiece = (deflated: Buffer) => inflateRawSync(deflated, { finishFlush: constants.Z_SYNC_FLUSH });

test('the worker script is found beside the built module', () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  assert.ok(existsSync(path.join(here, 'deflateworker.js')));
});

test('pieces queued to the workers come back in their order, each its bytes deflated and their CRC-32', async () => {
  const pool = new DeflatePool(2);
  const inputs = Array.from({ length: 12 }, (_, k) => sharedBytes(text(k + 1)));
  const pieces = await Promise.all(inputs.map((b) => pool.deflate(b)));
  assert.equal(pool.workers, 2);
  for (let k = 0; k < inputs.length; k++) {
    assert.ok(pieces[k].deflated.length < inputs[k].length / 3, 'compressed');
    assert.ok(pieces[k].deflated.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff])), 'ends as a sync flush does');
    assert.ok(inflatePiece(pieces[k].deflated).equals(inputs[k]), `piece ${k}`);
    assert.equal(pieces[k].crc, crc32(inputs[k]));
  }
  pool.close();
});

test('bytes not in shared memory are refused (the worker could not see them as they are)', async () => {
  const pool = new DeflatePool(1);
  await assert.rejects(pool.deflate(Buffer.from(text(1))), /not in shared memory/);
  assert.equal(pool.workers, 0);
});

test('a worker that dies fails its pieces; the next piece starts another', async () => {
  const file = path.join(dir, 'dying-worker.mjs');
  // Answers the first piece (with its length as the bytes), dies at the second.
  writeFileSync(
    file,
    "import { parentPort } from 'node:worker_threads';\nlet n = 0;\n" +
      "parentPort.on('message', (m) => { if (n++ === 1) process.exit(3); parentPort.postMessage({ deflated: new Uint8Array([m.length & 0xff]), crc: 7 }); });\n",
  );
  const pool = new DeflatePool(1, 30_000, pathToFileURL(file));
  const first = pool.deflate(sharedBytes('abc'));
  const second = pool.deflate(sharedBytes('abcd'));
  const third = pool.deflate(sharedBytes('abcde'));
  assert.deepEqual([...(await first).deflated], [3]);
  await assert.rejects(second, /exited with code 3/);
  await assert.rejects(third, /exited with code 3/);
  assert.equal(pool.workers, 0);
  assert.deepEqual([...(await pool.deflate(sharedBytes('ab'))).deflated], [2]);
  assert.equal(pool.workers, 1);
  pool.close();
});

test('deflatePiece makes the same piece on a worker (shared bytes, many waiting) as on the thread pool', async () => {
  const bytes = sharedBytes(text(3));
  const viaPool = await deflatePiece(bytes, true);
  const plain = await deflatePiece(Buffer.from(bytes), true);
  const few = await deflatePiece(sharedBytes(text(3)));
  for (const p of [viaPool, plain, few]) {
    assert.ok(inflatePiece(p.deflated).equals(bytes));
    assert.equal(p.crc, crc32(bytes));
    assert.equal(p.length, bytes.length);
  }
});

test('an idle worker stops; workers do not keep the process alive once their pieces are answered', async () => {
  const pool = new DeflatePool(1, 20);
  await pool.deflate(sharedBytes(text(2)));
  assert.equal(pool.workers, 1);
  const deadline = Date.now() + 5000;
  while (pool.workers > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(pool.workers, 0);
  const module = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'deflatepool.js')).href;
  const script =
    `import { DeflatePool } from ${JSON.stringify(module)};\n` +
    'const b = Buffer.from(new SharedArrayBuffer(100000)).fill(97);\n' +
    'const { deflated } = await new DeflatePool(2).deflate(b);\n' +
    'process.stdout.write(String(deflated.length > 0));\n';
  // The default idle time is 30 s: exiting well before it means idle workers did not hold the process.
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'true');
  assert.ok(Date.now() - t0 < 20_000);
});
