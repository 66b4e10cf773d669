import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, Agent, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { guardConnections, sourceOf, type ConnectionLimits } from './connections.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Every test's client sockets and servers, closed after it whatever its outcome. */
const opened: Socket[] = [];
const servers: Server[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.destroy();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

async function serve(
  limits: ConnectionLimits,
): Promise<{ server: Server; port: number; logs: Array<Record<string, unknown>> }> {
  const logs: Array<Record<string, unknown>> = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n'))
        if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const server = createServer((req, res) => {
    // A body is read as it comes, as the push handler reads it.
    req.on('data', () => {});
    req.on('end', () => res.end('ok'));
  });
  guardConnections(server, limits, pino({ base: null }, out));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, logs };
}

/** A connection from `from` that sends `first` (if any); resolves once connected. */
function open(port: number, from: string, first = ''): Promise<Socket & { gone: boolean; data: string }> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from }) as Socket & { gone: boolean; data: string };
    opened.push(s);
    s.gone = false;
    s.data = '';
    s.on('data', (d) => (s.data += d.toString()));
    s.on('error', () => {});
    s.on('close', () => (s.gone = true));
    s.on('connect', () => {
      if (first !== '') s.write(first);
      resolve(s);
    });
  });
}

function get(port: number, from: string, agent: Agent | false = false): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', localAddress: from, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

test('sources: an IPv4 address, IPv4-mapped included, or an IPv6 /64', () => {
  assert.equal(sourceOf('10.1.2.3'), '10.1.2.3');
  assert.equal(sourceOf('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(sourceOf('2001:db8:0:1:aaaa::1'), '2001:db8:0:1::/64');
  assert.equal(sourceOf('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(sourceOf('::1'), '0:0:0:0::/64');
  assert.equal(sourceOf('fe80::1%eth0'), 'fe80:0:0:0::/64');
});

test('when full, a newcomer from another source takes the place of the busiest source, and is not refused', async () => {
  const { server, port, logs } = await serve({ maxConnections: 3, minUploadRate: 1 });
  try {
    const hogs = [await open(port, '127.0.0.1'), await open(port, '127.0.0.1'), await open(port, '127.0.0.1')];
    await sleep(50);
    assert.equal(await get(port, '127.0.0.2'), '200');
    assert.equal(hogs.filter((s) => s.gone).length, 1, 'one of the busiest source closed');
    const other = await open(port, '127.0.0.2');
    await sleep(50);
    assert.equal(other.gone, false);
    assert.equal(hogs.filter((s) => s.gone).length, 1, 'the first answered is gone: room without closing any');
    // The busiest source itself gets no more than it has: refused while nothing of it is too slow.
    const more = await open(port, '127.0.0.1');
    await sleep(100);
    assert.equal(more.gone, true);
    assert.equal(hogs.filter((s) => s.gone).length, 1);
    assert.equal(logs.length, 1, 'the first refusal or closing is logged at once, the next ones later');
    assert.equal(logs[0].closed_slowest, 1);
    for (const s of [...hogs, more, other]) s.destroy();
  } finally {
    server.close();
  }
});

test('when full, the longest idle keep-alive connection goes first', async () => {
  const { server, port } = await serve({ maxConnections: 3, minUploadRate: 1 });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    assert.equal(await get(port, '127.0.0.2', agent), '200');
    const busy = [await open(port, '127.0.0.1'), await open(port, '127.0.0.1')];
    await sleep(50);
    // From the busiest source: admitted in the idle one's place, not refused.
    const newcomer = await open(port, '127.0.0.1');
    await sleep(100);
    assert.equal(newcomer.gone, false);
    assert.equal(busy.filter((s) => s.gone).length, 0);
    for (const s of [...busy, newcomer]) s.destroy();
  } finally {
    agent.destroy();
    server.close();
  }
});

test('a body slower than the minimum rate after the grace period is answered 408; one fast enough is not', async () => {
  const { server, port, logs } = await serve({ maxConnections: 100, minUploadRate: 1000, graceMs: 200 });
  try {
    const head = (n: number) => `PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: ${n}\r\n\r\n`;
    const slow = await open(port, '127.0.0.1', head(1_000_000) + 'abcd');
    const fast = await open(port, '127.0.0.1', head(1_000_000));
    const feed = setInterval(() => fast.write('x'.repeat(500)), 100); // 5,000 bytes/s
    const deadline = Date.now() + 5000;
    while (!slow.gone && Date.now() < deadline) await sleep(50);
    clearInterval(feed);
    assert.equal(slow.gone, true);
    assert.match(slow.data, /^HTTP\/1\.1 408 /);
    assert.match(slow.data, /--web\.min-upload-rate/);
    assert.equal(fast.gone, false);
    assert.equal(logs[0].slow_uploads_cut, 1);
    fast.destroy();
  } finally {
    server.close();
  }
});

test('refusals are logged at most once per 10 s, with their count', async () => {
  const { server, port, logs } = await serve({ maxConnections: 1, minUploadRate: 1 });
  try {
    const holder = await open(port, '127.0.0.1');
    await sleep(50);
    const refused = await Promise.all([1, 2, 3, 4].map(() => open(port, '127.0.0.1')));
    await sleep(200);
    assert.equal(refused.filter((s) => s.gone).length, 4);
    assert.equal(logs.length, 1);
    assert.equal(logs[0].refused, 1);
    for (const s of [holder, ...refused]) s.destroy();
  } finally {
    server.close();
  }
});
