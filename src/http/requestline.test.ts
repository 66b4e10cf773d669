import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { parseArgs } from '../config.js';
import { createGatewayServer } from './server.js';

async function rawAnswer(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(request));
    let data = '';
    s.on('data', (d) => (data += d.toString()));
    s.on('close', () => resolve(data));
    s.on('error', () => resolve(data));
    setTimeout(() => s.destroy(), 3000);
  });
}

test('a request line without an HTTP version is answered 400, a version other than 1.x 505, as Go answers', async () => {
  const outcome = parseArgs([]);
  assert.equal(outcome.kind, 'run');
  if (outcome.kind !== 'run') return;
  const server = createGatewayServer((_req, res) => res.end('routed'), outcome.config.web);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    assert.equal(
      await rawAnswer(port, 'GET /metrics\r\n\r\n'),
      'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request',
    );
    const v2 = '505 HTTP Version Not Supported: unsupported protocol version';
    assert.equal(
      await rawAnswer(port, 'GET /-/healthy HTTP/2.0\r\nHost: x\r\n\r\n'),
      `HTTP/1.1 ${v2}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${v2}`,
    );
    assert.match(await rawAnswer(port, 'GET /-/healthy HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 200 OK\r\n[^]*routed$/);
  } finally {
    server.close();
  }
});
