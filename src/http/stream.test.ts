import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { GzipCache, streamBody, type FamilyParts } from './stream.js';

/**
 * Byte-string parts of many sizes, as a text scrape's are, with bytes among them as a protobuf
 * scrape's, and parts larger than a chunk in the middle and at the end: 24 MiB in all.
 */
function parts(): Array<string | Uint8Array> {
  const out: Array<string | Uint8Array> = [];
  for (let i = 0; out.length < 60_000; i++) {
    const text = `series_${i}{instance="host-${i}"} ${i}\n`.repeat(1 + (i % 37));
    out.push(i % 1000 === 999 ? Buffer.from(text, 'latin1') : text);
    if (i === 30_000) out.push('y'.repeat(100_000), Buffer.alloc(70_000, 'z'));
  }
  out.push('x'.repeat(200_000));
  return out;
}

/** The parts as families of a few hundred parts each, as a scrape's. */
function families(p: Array<string | Uint8Array>): Array<{ name: string; parts: Array<string | Uint8Array> }> {
  const out: Array<{ name: string; parts: Array<string | Uint8Array> }> = [];
  for (let i = 0; i < p.length; i += 700) out.push({ name: `family_${i}`, parts: p.slice(i, i + 700) });
  return out;
}

function flatParts(fams: FamilyParts): Array<string | Uint8Array> {
  return fams.flatMap((f) => f.parts);
}

function bytesOf(p: ReadonlyArray<string | Uint8Array>): Buffer {
  return Buffer.concat(p.map((x) => (typeof x === 'string' ? Buffer.from(x, 'latin1') : x)));
}

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

function fetchAll(
  port: number,
  headers: Record<string, string> = {},
  path = '/',
  pauseMs = 0,
): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, headers }, (res) => {
      if (pauseMs > 0) {
        res.pause();
        setTimeout(() => res.resume(), pauseMs);
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

test('the parts arrive whole, with their length, and gzipped when asked', async () => {
  const p = parts();
  const want = bytesOf(p);
  const gzip = new GzipCache();
  const { server, port } = await serve(
    (req, res) => void streamBody(res, families(p), {}, req.headers['accept-encoding'] === 'gzip' ? gzip : undefined),
  );
  try {
    const plain = await fetchAll(port);
    assert.equal(plain.headers['content-length'], String(want.length));
    assert.ok(plain.body.equals(want));
    const zipped = await fetchAll(port, { 'accept-encoding': 'gzip' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.ok(gunzipSync(zipped.body).equals(want));
    // Several at once, plain and gzipped, slow readers among them: chunks written out are
    // reused, never while still queued.
    const many = await Promise.all(
      [0, 1, 2, 3].map((i) => fetchAll(port, i % 2 === 0 ? {} : { 'accept-encoding': 'gzip' }, '/', i < 2 ? 300 : 0)),
    );
    for (const [i, r] of many.entries()) assert.ok((i % 2 === 0 ? r.body : gunzipSync(r.body)).equals(want));
  } finally {
    server.close();
  }
});

for (const gzipped of [false, true])
  test(`a client that leaves stops the sending${gzipped ? ' and the compressing' : ''} at once; other requests are served meanwhile`, async () => {
    const p = parts();
    const total = p.reduce((n, s) => n + s.length, 0);
    const gzip = new GzipCache();
    let atLeave = 0;
    let sent = 0;
    let finished: Promise<void> | undefined;
    const { server, port } = await serve((req, res) => {
      if (req.url === '/ping') {
        res.end('pong');
        return;
      }
      const write = res.write.bind(res);
      res.write = ((chunk: Uint8Array, ...rest: never[]) => {
        sent += chunk.length;
        return write(chunk, ...rest);
      }) as typeof res.write;
      // Gzipped: one large family, whose blocks are all queued for compression at once.
      finished = streamBody(res, gzipped ? [{ name: 'all', parts: p }] : families(p), {}, gzipped ? gzip : undefined);
    });
    try {
      await new Promise<void>((resolve) => {
        // Reads nothing and leaves: its socket fills, then it is gone.
        const req = get({ host: '127.0.0.1', port, path: '/' }, (res) => {
          res.pause();
          setTimeout(() => {
            atLeave = gzip.compressedBytes;
            req.destroy();
            resolve();
          }, 200);
        });
      });
      // While that scrape waited for its reader, a probe was answered.
      const ping = await fetchAll(port, {}, '/ping');
      assert.equal(ping.body.toString(), 'pong');
      await finished;
      assert.ok(sent < total / 4, `sent ${sent} of ${total} bytes to a client that had left`);
      // What was on the thread pool when it left ends; nothing more is compressed for it.
      await new Promise((r) => setTimeout(r, 300));
      const after = gzip.compressedBytes - atLeave;
      assert.ok(after <= 4 * 1024 * 1024, `compressed ${after} of ${total} bytes after the client left`);
    } finally {
      server.close();
    }
  });

test('gzip: a family kept (the same parts array) is compressed once; a family replaced is compressed anew', async () => {
  const fams = families(parts());
  const gzip = new GzipCache();
  const { server, port } = await serve((_req, res) => void streamBody(res, fams, {}, gzip));
  try {
    const first = gunzipSync((await fetchAll(port)).body);
    assert.ok(first.equals(bytesOf(flatParts(fams))));
    // Changed in place (what a scrape cache never does): the kept compressed form shows the old bytes.
    const kept = fams[3].parts[0];
    fams[3].parts[0] = 'changed in place\n';
    assert.ok(gunzipSync((await fetchAll(port)).body).equals(first));
    fams[3].parts[0] = kept;
    // A new array, as a family changed by a push gets: its new bytes.
    fams[5] = { name: fams[5].name, parts: ['a new family\n', Buffer.from('of two parts\n')] };
    assert.ok(gunzipSync((await fetchAll(port)).body).equals(bytesOf(flatParts(fams))));
  } finally {
    server.close();
  }
});

/** One family of `runs` parts as a large family's runs are (a group's lines each), ~150 bytes a part. */
/**
 * Runs of one group each; every run ends with the same series and value, as runs do where the
 * group's label sorts before the others (`instance` before `series`): block ends must still vary.
 */
function runs(n: number, round = 0): string[] {
  return Array.from(
    { length: n },
    (_, i) =>
      `family{instance="host-${i}",job="fleet",series="a"} ${i * 3 + round}\nfamily{instance="host-${i}",job="fleet",series="the last series of every run"} 1\n`,
  );
}

test('gzip: told which parts changed, a scrape reads those blocks only, and sends the same bytes', async () => {
  const gzip = new GzipCache();
  let reads = 0;
  // Counts the parts read by index: with the change told, the unchanged blocks' parts are not.
  const counted = (p: string[]) =>
    new Proxy(p, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
  let parts = ['# TYPE family gauge\n', ...runs(20_000)];
  // A first family over a MiB: whether the body is small is known from its one part.
  const big = { name: 'big', parts: ['#'.repeat(1.2 * 2 ** 20) + '\n'] };
  let build = 1;
  // One array throughout the first rounds, changed in place.
  const same = counted(parts);
  let fams: FamilyParts = [big, { name: 'family', parts: same, build }];
  const { server, port } = await serve((_req, res) => void streamBody(res, fams, {}, gzip));
  try {
    await fetchAll(port);
    for (const [round, at] of [5, 10_000, 19_999, 20_000].entries()) {
      // In the same array (as a family's parts are used again once not sent), under a new build.
      parts[at] = `family{instance="host-${at}",job="fleet",series="a"} ${-round}\n`;
      fams = [big, { name: 'family', parts: same, build: ++build, since: { base: build - 1, changed: [at] } }];
      reads = 0;
      const before = gzip.compressedBytes;
      assert.ok(gunzipSync((await fetchAll(port)).body).equals(bytesOf([...big.parts, ...parts])), `round ${round}`);
      assert.ok(reads < 3_000, `round ${round}: ${reads} parts read of ${parts.length}`);
      assert.ok(gzip.compressedBytes - before <= 256 * 1024, `round ${round}`);
      // The same build again: nothing is compressed.
      const again = gzip.compressedBytes;
      assert.ok(gunzipSync((await fetchAll(port)).body).equals(bytesOf([...big.parts, ...parts])), `round ${round}`);
      assert.equal(gzip.compressedBytes, again);
    }
    // A run that grows by far: its block is compressed again with the same bounds, so the
    // blocks after it stay as they were (cut anew, its end moved and the next ends with it).
    for (const at of [3, 12_345]) {
      parts = parts.slice();
      parts[at] = `family{instance="host-${at}",job="fleet",series="a"} ${'9'.repeat(200_000)}\n`;
      fams = [
        big,
        { name: 'family', parts: counted(parts), build: ++build, since: { base: build - 1, changed: [at] } },
      ];
      const before = gzip.compressedBlocks;
      assert.ok(gunzipSync((await fetchAll(port)).body).equals(bytesOf([...big.parts, ...parts])), `at ${at}`);
      assert.equal(gzip.compressedBlocks - before, 1, `at ${at}`);
    }
    // Not told: every part is compared with the kept ones, and the bytes are the same.
    fams = [big, { name: 'family', parts: counted(parts.slice()) }];
    reads = 0;
    assert.ok(gunzipSync((await fetchAll(port)).body).equals(bytesOf([...big.parts, ...parts])));
    assert.ok(reads >= parts.length, `${reads}`);
  } finally {
    server.close();
  }
});

test('gzip: after a run of a large family changes, only the block holding it is compressed again', async () => {
  const gzip = new GzipCache();
  let fams: FamilyParts = [
    { name: 'a', parts: ['# TYPE a gauge\n', ...runs(20_000)] },
    { name: 'b', parts: ['# TYPE b gauge\n', ...runs(20_000, 1)] },
  ];
  const { server, port } = await serve((_req, res) => void streamBody(res, fams, {}, gzip));
  try {
    const total = bytesOf(flatParts(fams)).length;
    assert.ok(gunzipSync((await fetchAll(port)).body).equals(bytesOf(flatParts(fams))));
    assert.equal(gzip.compressedBytes, total);
    // Random edits, as pushes make them: a run replaced, a group added, a group deleted. Each
    // scrape shows the new bytes and compresses at most a few blocks of the family it changed.
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let round = 0; round < 12; round++) {
      const b = [...fams[1].parts];
      const at = 1 + random(b.length - 1);
      if (round % 3 === 0) b[at] = `family{instance="host-${at}",job="fleet"} changed ${round}\n`;
      else if (round % 3 === 1) b.splice(at, 0, `family{instance="new-${round}",job="fleet"} 1\n`);
      else b.splice(at, 1);
      fams = [fams[0], { name: 'b', parts: b }];
      const before = gzip.compressedBytes;
      assert.ok(gunzipSync((await fetchAll(port)).body).equals(bytesOf(flatParts(fams))), `round ${round}`);
      const again = gzip.compressedBytes - before;
      assert.ok(again > 0 && again <= 3 * 256 * 1024, `round ${round}: compressed ${again} of ${total} bytes again`);
    }
    // A family the last complete scrape did not have is forgotten: back again, it is compressed whole.
    const a = fams[0];
    fams = [fams[1]];
    await fetchAll(port);
    fams = [a, fams[0]];
    const before = gzip.compressedBytes;
    assert.ok(gunzipSync((await fetchAll(port)).body).equals(bytesOf(flatParts(fams))));
    assert.equal(gzip.compressedBytes - before, bytesOf(a.parts).length);
  } finally {
    server.close();
  }
});

/**
 * A server of one family of 20,000 runs gzipped through `gzip`, scraped once; `scrape()` sends the
 * parts as they are then (a build telling `changed`, or the family `make` gives) and checks the bytes.
 */
async function familyServer(gzip: GzipCache) {
  const parts = ['# TYPE family gauge\n', ...runs(20_000)];
  let build = 1;
  let fams: FamilyParts = [{ name: 'family', parts: parts.slice(), build }];
  const { server, port } = await serve((_req, res) => void streamBody(res, fams, {}, gzip));
  await fetchAll(port);
  const scrape = async (changed: number[] | ((p: string[]) => FamilyParts[number]), label = '') => {
    fams = [
      typeof changed === 'function'
        ? changed(parts.slice())
        : { name: 'family', parts: parts.slice(), build: ++build, since: { base: build - 1, changed } },
    ];
    assert.ok(gunzipSync((await fetchAll(port)).body).equals(bytesOf(parts)), label);
  };
  return { parts, server, scrape };
}

test('gzip: a block compressed again after a push copies only its changed parts; past the budget, every part', async () => {
  for (const laidMax of [undefined, 0]) {
    const gzip = new GzipCache(laidMax);
    const { parts, server, scrape } = await familyServer(gzip);
    try {
      assert.equal(gzip.partsRead, parts.length);
      // Compressed once, nothing changing: no bytes kept.
      assert.equal(gzip.bytesKept, 0);
      // Changes in several blocks, two in one block, one part told twice, the first and last
      // parts, runs that grow, shrink and keep their length; twice (the first time, the blocks
      // are compressed again from their parts, and keep their bytes).
      for (const pass of [0, 1]) {
        const edits: Array<[number, string]> = [
          [0, `# TYPE family counter${pass}\n`],
          [17, `family{instance="x"} ${pass}\n`],
          [18, `family{instance="host-18",job="fleet",series="a"} ${'7'.repeat(5_000 * pass)}\n`],
          [9_999, parts[9_999].replace(/fleet|FLEET\d/, `FLEET${pass}`)],
          [12_000, pass === 0 ? '' : 'x'.repeat(300)],
          [20_000, parts[20_000] + parts[20_000]],
        ];
        for (const [at, text] of edits) parts[at] = text;
        const before = gzip.partsRead;
        const blocks = gzip.compressedBlocks;
        await scrape([...edits.map(([at]) => at), 18]);
        const touched = gzip.compressedBlocks - blocks;
        assert.ok(touched >= 4 && touched <= edits.length, `${touched} blocks`);
        if (laidMax === 0 || pass === 0) assert.ok(gzip.partsRead - before > 500);
        else assert.equal(gzip.partsRead - before, edits.length);
        if (laidMax === 0) assert.equal(gzip.bytesKept, 0);
        else assert.ok(gzip.bytesKept > 100_000 && gzip.bytesKept < bytesOf(parts).length, `${gzip.bytesKept}`);
      }
      // Again on top of those bytes: a part changed back.
      parts[17] = runs(18)[17];
      await scrape([17]);
    } finally {
      server.close();
    }
  }
});

test('gzip: blocks written over in place through many rounds of random changes keep the parts’ bytes', async () => {
  const gzip = new GzipCache();
  const { parts, server, scrape } = await familyServer(gzip);
  let seed = 11;
  // The high bits of a 32-bit LCG (its low bits repeat within a few steps).
  const random = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) % n;
  try {
    for (let round = 0; round < 30; round++) {
      const changed: number[] = [];
      // Clusters of changes (several in one block) in the same four blocks each round, each part
      // longer, shorter, as long as it was or empty.
      for (const at of [100, 5_000, 11_000, 19_900]) {
        for (let k = 0; k < 6; k++) {
          const i = at + random(40);
          const len = random(3) === 0 ? parts[i].length : random(400);
          parts[i] = random(4) === 0 ? '' : `v{i="${i}",r="${round}"} ${'1'.repeat(len)}\n`.slice(-len);
          changed.push(i);
        }
      }
      await scrape(changed, `round ${round}`);
    }
    // Each of the four blocks read whole once more, when first compressed again.
    assert.ok(
      gzip.partsRead <= parts.length + 4 * 3_000 + 30 * 24,
      `${gzip.partsRead - parts.length} parts read since`,
    );
  } finally {
    server.close();
  }
});

test('gzip: not told what changed (no build, or a build after one never sent), the parts are compared in place', async () => {
  const gzip = new GzipCache();
  const { parts, server, scrape } = await familyServer(gzip);
  try {
    // The blocks compressed again from their parts first, as told; then as not told.
    parts[3] = parts[4] = parts[15_000] = '';
    await scrape([3, 4, 15_000]);
    const cases: Array<(p: string[]) => FamilyParts[number]> = [
      (p) => ({ name: 'family', parts: p }),
      (p) => ({ name: 'family', parts: p, build: 7, since: { base: 6, changed: [1] } }),
    ];
    for (const [round, make] of cases.entries()) {
      for (const at of [3, 4, 15_000]) parts[at] = `family{instance="x${at}"} ${round}\n`;
      const read = gzip.partsRead;
      const blocks = gzip.compressedBlocks;
      await scrape(make, `round ${round}`);
      assert.equal(gzip.partsRead - read, 3, `round ${round}`);
      assert.equal(gzip.compressedBlocks - blocks, 2, `round ${round}`);
    }
  } finally {
    server.close();
  }
});

test('gzip: a block that did not change at the compression before keeps no bytes', async () => {
  const gzip = new GzipCache();
  const { parts, server, scrape } = await familyServer(gzip);
  try {
    parts[5] = 'first\n';
    await scrape([5]);
    const hot = gzip.bytesKept;
    assert.ok(hot > 0);
    // Another block; then the first again, one compression later than the one after its last.
    parts[15_000] = 'other\n';
    await scrape([15_000]);
    assert.equal(gzip.bytesKept, hot);
    const read = gzip.partsRead;
    parts[5] = 'again\n';
    await scrape([5]);
    assert.equal(gzip.bytesKept, 0);
    assert.ok(gzip.partsRead - read > 500, `${gzip.partsRead - read}`);
  } finally {
    server.close();
  }
});

test('gzip: blocks side by side that change at every compression are joined into pieces; quiet again, cut back', async () => {
  const gzip = new GzipCache();
  const { parts, server, scrape } = await familyServer(gzip);
  try {
    const first = gzip.compressedBlocks;
    assert.ok(first > 15, `${first} blocks`);
    // A busy fleet: a run in every block changes between two scrapes.
    const busy = async (round: number) => {
      const changed: number[] = [];
      for (let at = 1 + (round % 50); at < parts.length; at += 50) {
        parts[at] = runs(at + 1, round + 1)[at];
        changed.push(at);
      }
      const before = gzip.compressedBlocks;
      const read = gzip.partsRead;
      await scrape(changed, `busy ${round}`);
      return { blocks: gzip.compressedBlocks - before, read: gzip.partsRead - read, changed: changed.length };
    };
    // Changed at the compression after the one that made them: up to a MiB in one compression
    // from then on, each piece keeping its bytes at once.
    const joined = await busy(0);
    assert.ok(joined.blocks <= Math.ceil(first / 6), `${joined.blocks} of ${first}`);
    assert.equal(joined.read, parts.length);
    const next = await busy(1);
    assert.ok(next.blocks <= joined.blocks, `${next.blocks} after ${joined.blocks}`);
    assert.equal(next.read, next.changed);
    assert.ok((await busy(2)).blocks <= joined.blocks);
    // Pushes now and then: a piece changed after a compression that left it as it was is cut at
    // the parts' own bounds again, so the push after it compresses one block of the usual size.
    parts[19_000] = 'elsewhere\n';
    await scrape([19_000], 'elsewhere');
    parts[10_000] = 'quiet\n';
    const blocks = gzip.compressedBlocks;
    await scrape([10_000], 'quiet');
    assert.ok(gzip.compressedBlocks - blocks > 2, `${gzip.compressedBlocks - blocks} blocks`);
    const bytes = gzip.compressedBytes;
    parts[10_001] = 'quiet again\n';
    await scrape([10_001], 'quiet again');
    assert.ok(gzip.compressedBytes - bytes < 400 * 1024, `${gzip.compressedBytes - bytes} bytes`);
  } finally {
    server.close();
  }
});

test('gzip: a changed block far down the body is compressed from the scrape’s start, not once the sending reaches it', async () => {
  const gzip = new GzipCache();
  let fams: FamilyParts = ['a', 'b', 'c'].map((name, k) => ({
    name,
    parts: [`# TYPE ${name} gauge\n`, ...runs(20_000, k)],
  }));
  // How many blocks had been handed to compression when the first family's first block was written.
  let atFirstBlock = -1;
  const { server, port } = await serve((_req, res) => {
    let writes = 0;
    const write = res.write.bind(res) as (...a: unknown[]) => boolean;
    res.write = ((...a: unknown[]) => {
      if (++writes === 2) atFirstBlock = gzip.compressedBlocks;
      return write(...a);
    }) as typeof res.write;
    void streamBody(res, fams, {}, gzip);
  });
  try {
    await fetchAll(port);
    const before = gzip.compressedBlocks;
    const c = [...fams[2].parts];
    c[10_000] = 'family{instance="host-10000",job="fleet",series="a"} 0.5\n';
    fams = [fams[0], fams[1], { name: 'c', parts: c }];
    assert.ok(gunzipSync((await fetchAll(port)).body).equals(bytesOf(flatParts(fams))));
    assert.equal(gzip.compressedBlocks, before + 1);
    assert.equal(atFirstBlock, before + 1);
  } finally {
    server.close();
  }
});
