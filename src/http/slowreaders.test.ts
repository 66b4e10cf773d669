// Slow readers of a large scrape (issue #12): each must hold a bounded part of it, not a copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseArgs } from '../config.js';
import { testGateway } from '../testing/gateway.js';
import { createGatewayServer } from './server.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const READERS = 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Heap and off-heap bytes (Buffers) after a full collection. */
function held(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

test(`${READERS} slow readers of a 13 MB scrape hold a bounded part of it each, not a copy`, async () => {
  const gw = await testGateway();
  // One group's family is one stored string: the largest part a scrape is made of.
  let body = '# TYPE big gauge\n';
  for (let i = 0; body.length < 13_000_000; i++)
    body += `big{instance="host-${i}",path="/var/lib/some/path/${i}"} ${i}\n`;
  const pushed = await gw.request('PUT', '/metrics/job/big', body);
  assert.equal(pushed.status, 200);
  const outcome = parseArgs([]);
  if (outcome.kind !== 'run') throw new Error('no config');
  const server = createGatewayServer(gw.listener, outcome.config.web);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const readers: Socket[] = [];
  const received = new Array<number>(READERS).fill(0);
  try {
    const before = held();
    for (let i = 0; i < READERS; i++) {
      const s = connect(port, '127.0.0.1', () => s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.on('error', () => {});
      readers.push(s);
    }
    // Every 200 ms each reader takes what its socket has buffered (up to its high-water mark,
    // 16 KiB): the scrape would take them minutes.
    let peak = 0;
    for (let round = 0; round < 10 || (round < 60 && received.some((n) => n === 0)); round++) {
      readers.forEach((s, i) => {
        const got = s.read() as Buffer | null;
        if (got !== null) received[i] += got.length;
      });
      await sleep(200);
      peak = Math.max(peak, held() - before);
    }
    const total = received.reduce((a, b) => a + b, 0);
    const summary = `${READERS} readers received ${(total / 2 ** 20).toFixed(1)} MiB; held ${(peak / 2 ** 20).toFixed(1)} MiB more at most`;
    console.log(summary);
    assert.ok(
      received.every((n) => n > 0),
      summary,
    );
    assert.ok(
      received.every((n) => n < 13_000_000),
      `the readers are slow: ${summary}`,
    );
    // A copy each would be 390 MB; a bounded queue each (≤ 1 MiB, and a chunk) is ~32 MB.
    assert.ok(peak < 64 * 2 ** 20, summary);
  } finally {
    for (const s of readers) s.destroy();
    server.close();
  }
});
