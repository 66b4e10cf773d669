import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { parseArgs } from '../config.js';
import { testGateway } from '../testing/gateway.js';
import { createGatewayServer } from './server.js';

const PUSHES = 20;

test('a health check read in the same pass of the event loop as pushes is answered before they are parsed', async () => {
  const gw = await testGateway();
  const outcome = parseArgs([]);
  if (outcome.kind !== 'run') throw new Error('no config');
  const server = createGatewayServer(gw.listener, outcome.config.web);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i <= PUSHES; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      await new Promise<void>((r) => s.once('connect', () => r()));
      sockets.push(s);
    }
    // The server has taken every connection before any request is sent.
    await new Promise((r) => setTimeout(r, 50));
    const answered: string[] = [];
    const done = sockets.map(
      (s, i) =>
        new Promise<void>((resolve) => {
          let text = '';
          s.on('data', (d: Buffer) => {
            if (text === '') answered.push(i < PUSHES ? 'push' : 'health');
            text += d.toString();
            if (/\r\n\r\n/.test(text)) resolve();
          });
        }),
    );
    let body = '# TYPE work gauge\n';
    for (let k = 0; k < 500; k++) body += `work{k="${k}"} ${k}\n`;
    // Written at once, the health check last: the server reads them all in one pass.
    for (let i = 0; i < PUSHES; i++) {
      sockets[i].write(
        `PUT /metrics/job/turn/instance/${i} HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    sockets[PUSHES].write('GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n');
    await Promise.race([Promise.all(done), new Promise((r) => setTimeout(r, 10_000))]);
    assert.equal(answered.length, PUSHES + 1, 'every request answered');
    assert.equal(answered[0], 'health', `answers in the order ${answered.join(' ')}`);
    const stored = await gw.request('GET', '/api/v1/metrics');
    assert.equal((JSON.parse(stored.body.toString()) as { data: unknown[] }).data.length, PUSHES);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
});
