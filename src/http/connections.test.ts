import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, Agent, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { guardConnections, sourceOf, type ConnectionGuard, type ConnectionLimits } from './connections.js';

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
): Promise<{ server: Server; port: number; logs: Array<Record<string, unknown>>; guard: ConnectionGuard }> {
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
  const guard = guardConnections(server, limits, pino({ base: null }, out));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, logs, guard };
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

const GET = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what() && Date.now() < deadline) await sleep(20);
}

test('when full, a newcomer from another source takes the place of the busiest source, and is not refused', async () => {
  const { server, port, logs } = await serve({ maxConnections: 3, minUploadRate: 1, reserved: 0 });
  try {
    const hogs = [await open(port, '127.0.0.1'), await open(port, '127.0.0.1'), await open(port, '127.0.0.1')];
    await sleep(50);
    assert.equal(await get(port, '127.0.0.2'), '200');
    assert.equal(hogs.filter((s) => s.gone).length, 1, 'one of the busiest source closed');
    const other = await open(port, '127.0.0.2');
    await sleep(50);
    assert.equal(other.gone, false);
    assert.equal(hogs.filter((s) => s.gone).length, 1, 'the first answered is gone: room without closing any');
    // The busiest source itself gets no more than it has: its newcomer waits, unread, for a place.
    const more = await open(port, '127.0.0.1', GET);
    await sleep(150);
    assert.equal(more.gone, false);
    assert.equal(more.data, '', 'not read while it waits');
    assert.equal(hogs.filter((s) => s.gone).length, 1);
    hogs.find((s) => !s.gone)!.destroy();
    await until(() => more.data !== '');
    assert.match(more.data, /^HTTP\/1\.1 200 /, 'let in once a place freed');
    assert.equal(logs.length, 1, 'the first refusal or closing is logged at once, the next ones later');
    assert.equal(logs[0].closed_slowest, 1);
    for (const s of [...hogs, more, other]) s.destroy();
  } finally {
    server.close();
  }
});

test('when full, the longest idle keep-alive connection goes first, but not to a big source', async () => {
  const { server, port } = await serve({ maxConnections: 3, minUploadRate: 1, reserved: 0 });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    assert.equal(await get(port, '127.0.0.2', agent), '200');
    const busy = [await open(port, '127.0.0.1'), await open(port, '127.0.0.1')];
    await sleep(50);
    // A crowd's newcomer waits rather than close another client's keep-alive connection.
    const crowd = await open(port, '127.0.0.1', GET);
    await sleep(100);
    assert.equal(crowd.data, '');
    assert.equal(await get(port, '127.0.0.2', agent), '200', 'the idle connection still serves');
    // A newcomer from a new source: admitted in the idle one's place, not refused, closing no busy one.
    const newcomer = await open(port, '127.0.0.3', GET);
    await until(() => newcomer.data !== '');
    assert.match(newcomer.data, /^HTTP\/1\.1 200 /);
    assert.equal(busy.filter((s) => s.gone).length, 0);
    for (const s of [...busy, newcomer, crowd]) s.destroy();
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
  const { server, port, logs } = await serve({ maxConnections: 1, minUploadRate: 1, maxWaiting: 0 });
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

test('a crowd from one source cannot take the reserved places; others get them without closing any', async () => {
  const { server, port, guard } = await serve({ maxConnections: 4, minUploadRate: 1, reserved: 2 });
  try {
    // Requests whose bodies never come: the two let in stay busy.
    const put = 'PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n';
    const crowd = await Promise.all([1, 2, 3, 4, 5].map(() => open(port, '127.0.0.1', put)));
    await until(() => guard.waitingCount === 3);
    assert.equal(guard.waitingCount, 3, 'two let in, three wait');
    assert.equal(await get(port, '127.0.0.2'), '200');
    assert.equal(await get(port, '127.0.0.3'), '200');
    await sleep(50);
    assert.equal(crowd.filter((s) => s.gone).length, 0, 'nobody closed to make room');
  } finally {
    server.close();
  }
});

test('waiting: at most maxWaiting, let in oldest first, closed after the header timeout', async () => {
  const { server, port, logs, guard } = await serve({
    maxConnections: 1,
    minUploadRate: 1,
    reserved: 0,
    maxWaiting: 2,
    readHeaderTimeoutMs: 300,
  });
  try {
    const holder = await open(port, '127.0.0.1');
    await sleep(50);
    const first = await open(port, '127.0.0.1', GET);
    await sleep(30);
    const second = await open(port, '127.0.0.1', GET);
    const third = await open(port, '127.0.0.1', GET);
    await until(() => third.gone);
    assert.equal(third.gone, true, 'refused: the queue is full');
    assert.equal(guard.waitingCount, 2);
    holder.destroy();
    await until(() => first.data !== '');
    assert.match(first.data, /^HTTP\/1\.1 200 /);
    assert.equal(second.data, '', 'the younger one still waits: the place is taken');
    // A sweep (every second) closes it once it has waited longer than the header timeout.
    await until(() => second.gone, 3000);
    assert.equal(second.gone, true);
    assert.equal(second.data, '');
    assert.equal(guard.waitingCount, 0);
    assert.equal(logs[0].held_waiting, 1);
  } finally {
    server.close();
  }
});

test('slow uploads are cut a bounded number per sweep, so a crowd that came at once is not cut at once', async () => {
  const { server, port } = await serve({ maxConnections: 100, minUploadRate: 1000, graceMs: 200 });
  try {
    const head = `PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabcd`;
    const slow = await Promise.all(Array.from({ length: 20 }, () => open(port, '127.0.0.1', head)));
    const closedAt: number[] = [];
    for (const s of slow) s.on('close', () => closedAt.push(performance.now()));
    await until(() => slow.every((s) => s.gone));
    assert.equal(closedAt.length, 20);
    for (const s of slow) assert.match(s.data, /^HTTP\/1\.1 408 /);
    // All due at the first sweep past the grace period: 16 cut then, the other 4 a sweep (1 s) later.
    const gap = closedAt[16] - closedAt[15];
    assert.ok(gap > 500, `the 17th cut came ${gap.toFixed(0)} ms after the 16th`);
    assert.ok(closedAt[15] - closedAt[0] < gap, 'the first 16 together');
  } finally {
    server.close();
  }
});
