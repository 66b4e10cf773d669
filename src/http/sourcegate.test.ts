// An address blocked for guessing passwords is answered at the accept, its request never parsed,
// keep-alive or not, while a client with a verified credential from another address (or from
// one it shares with the guesser) is served throughout.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { parseArgs } from '../config.js';
import { BcryptPool } from './bcryptpool.js';
import { createGatewayServer } from './server.js';
import { SourceGate, type SourceGateOptions } from './sourcegate.js';
import { Authenticator, webConfigGuard } from './webconfig.js';
import { fixedWebConfig } from '../testing/webconfig.js';

/** bcrypt('secret') at cost 4: the test is about who gets checked, not about bcrypt's cost. */
const HASH = '$2b$04$t7s7VRA54f2joLWhpKVz5Oeceye1xlp5WaLuk9c.CZUbP7k2hTlmS';
const basic = (password: string) => 'Basic ' + Buffer.from(`alice:${password}`).toString('base64');
const HOLD_MS = 200;

async function serve(gate: SourceGateOptions = {}): Promise<{ server: Server; port: number; parsed: string[] }> {
  const source = fixedWebConfig(
    `basic_auth_users:\n  alice: ${HASH}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n`,
  );
  // Blocked at the first failure, for a minute; refusals per request not held.
  const pool = new BcryptPool({ size: 1, freeFailures: 0, blockMs: 60_000, refusalDelayMs: 0, maxHoldMs: 0 });
  const guard = webConfigGuard(source, undefined, new Authenticator(100, pool), {
    gate: { holdMs: HOLD_MS, ...gate },
  });
  const outcome = parseArgs([]);
  if (outcome.kind !== 'run') throw new Error('no config');
  const server = createGatewayServer(
    guard((_req, res) => res.end('inner')),
    outcome.config.web,
    undefined,
    undefined,
    guard.gate,
  );
  // Every request Node parsed, by the address it came from.
  const parsed: string[] = [];
  server.prependListener('request', (req) => parsed.push(String(req.socket.remoteAddress)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await pool.close();
  });
  return { server, port: (server.address() as AddressInfo).port, parsed };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  ms: number;
}

function get(port: number, from: string, password: string, keepAlive = false): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        localAddress: from,
        agent: false,
        headers: { Authorization: basic(password), Connection: keepAlive ? 'keep-alive' : 'close' },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, ms: performance.now() - t0 }),
        );
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error('no answer in 5 s')));
    req.on('error', reject);
    req.end();
  });
}

test('a blocked address is answered 429 at the accept, unparsed, keep-alive or not; others are served', async () => {
  // Enough answers for all 50 (the bucket is another test's).
  const { port, parsed } = await serve({ answersPerSec: 1000 });
  assert.equal((await get(port, '127.0.0.1', 'secret')).status, 200);

  // A keep-alive connection from the guesser, opened before its block.
  const kept = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
  let keptData = '';
  let keptClosed = false;
  kept.on('data', (d: Buffer) => (keptData += d.toString()));
  kept.on('error', () => {});
  const keptGone = new Promise<void>((r) => kept.on('close', () => ((keptClosed = true), r())));
  const ask = (password: string) => `GET / HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic(password)}\r\n\r\n`;
  kept.write(ask('wrong1'));
  while (!keptData.includes('Unauthorized')) await new Promise((r) => setTimeout(r, 10));
  assert.match(keptData, /^HTTP\/1\.1 401 /, 'the first wrong password is checked and answered 401');
  assert.equal(keptClosed, false);

  // Blocked now: its next request on the kept connection is refused and the connection closed.
  keptData = '';
  kept.write(ask('wrong2'));
  await keptGone;
  assert.match(keptData, /^HTTP\/1\.1 429 /);
  assert.match(keptData, /\r\nconnection: close\r\n/i);

  // New connections from it: answered without their requests being parsed, held HOLD_MS.
  const before = parsed.length;
  const flood = await Promise.all(Array.from({ length: 50 }, (_, i) => get(port, '127.0.0.2', `w${i}`, true)));
  for (const r of flood) {
    assert.equal(r.status, 429);
    assert.equal(r.text, 'too many failed password checks from your address; try again in 60 s\n');
    assert.equal(r.headers['retry-after'], '60');
    assert.equal(r.headers.connection, 'close');
    assert.equal(r.headers['x-frame-options'], 'deny', 'the configured headers, as on every answer');
    assert.ok(r.ms >= HOLD_MS - 20, `held ${r.ms.toFixed(0)} ms`);
  }
  const good = await Promise.all(Array.from({ length: 10 }, () => get(port, '127.0.0.1', 'secret', true)));
  for (const r of good) assert.equal(r.status, 200);
  assert.deepEqual(
    parsed.slice(before).filter((a) => a !== '127.0.0.1'),
    [],
    'no request from the blocked address was parsed',
  );
});

test('an address a verified credential came from is not shut out: its guesser gets 429 per request', async () => {
  const { port, parsed } = await serve();
  assert.equal((await get(port, '127.0.0.3', 'secret')).status, 200);
  assert.equal((await get(port, '127.0.0.3', 'wrong')).status, 401);
  const refused = await get(port, '127.0.0.3', 'wrong again');
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.connection, 'close');
  const verified = await get(port, '127.0.0.3', 'secret');
  assert.equal(verified.status, 200, 'its verified credential is served during the block');
  assert.equal(parsed.filter((a) => a === '127.0.0.3').length, 4);
});

test('beyond answersPerSec, held connections from a blocked address are closed without an answer', async () => {
  const { port, parsed } = await serve({ holdMs: 50, answersPerSec: 3 });
  assert.equal((await get(port, '127.0.0.2', 'wrong')).status, 401);
  const before = parsed.length;
  const replies = await Promise.all(
    Array.from(
      { length: 20 },
      () =>
        new Promise<string>((resolve) => {
          const c = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
          let text = '';
          c.on('data', (d: Buffer) => (text += d.toString()));
          c.on('error', () => {}); // a close without an answer may come as a reset
          c.on('close', () => resolve(text));
          c.write(`GET / HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic('w')}\r\n\r\n`);
        }),
    ),
  );
  const answered = replies.filter((t) => /^HTTP\/1\.1 429 /.test(t)).length;
  assert.ok(answered >= 1 && answered <= 4, `${answered} answered: the bucket holds 1, refilled 3 a second`);
  assert.equal(replies.filter((t) => t === '').length, 20 - answered, 'the others closed without a byte');
  assert.equal(parsed.length, before, 'none of them parsed');
});

test('by default a blocked address gets a few answers at once: a burst of sockets would hold the event loop', async () => {
  const { port } = await serve({ holdMs: 50 });
  assert.equal((await get(port, '127.0.0.2', 'wrong')).status, 401);
  const replies = await Promise.all(
    Array.from(
      { length: 60 },
      () =>
        new Promise<string>((resolve) => {
          const c = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
          let text = '';
          c.on('data', (d: Buffer) => (text += d.toString()));
          c.on('error', () => {});
          c.on('close', () => resolve(text));
          c.write(`GET / HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic('w')}\r\n\r\n`);
        }),
    ),
  );
  const answered = replies.filter((t) => /^HTTP\/1\.1 429 /.test(t)).length;
  // 2 at once (a tenth of 20 a second), and 20 a second after them: 60 held connections due
  // together get a few answers, not 60.
  assert.ok(answered >= 1 && answered <= 8, `${answered} of 60 answered`);
});

/** A gate whose holds end after 10 ms, answering none. */
function quietGate(): SourceGate {
  return new SourceGate(
    () => 60_000,
    () => [],
    { holdMs: 10, answersPerSec: 0 },
  );
}

/** Counts turns of the event loop (one setImmediate each) until stopped. */
function turnCounter(): { turn: () => number; stop: () => void } {
  let turn = 0;
  let turning = true;
  const spin = () => {
    turn++;
    if (turning) setImmediate(spin);
  };
  spin();
  return { turn: () => turn, stop: () => (turning = false) };
}

test('holds that end together end a chunk per turn of the event loop, closed without a socket', async () => {
  const gate = quietGate();
  const turns = turnCounter();
  const closedAt: number[] = [];
  for (let i = 0; i < 300; i++) gate.refuse({ close: () => closedAt.push(turns.turn()) }, 60, false);
  while (closedAt.length < 300) await new Promise((r) => setTimeout(r, 5));
  turns.stop();
  const perTurn = new Map<number, number>();
  for (const t of closedAt) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
  assert.ok(Math.max(...perTurn.values()) <= 64, `at most 64 a turn: ${JSON.stringify([...perTurn])}`);
  assert.ok(perTurn.size >= 5);
});

test('holds due one after another end together, every 50 ms at most, not each on its own timer', async () => {
  const gate = quietGate();
  const turns = turnCounter();
  const closedAt: number[] = [];
  const count = 100;
  const started = performance.now();
  // One connection a millisecond (or as often as a busy machine's timers allow), as a flood comes.
  for (let i = 0; i < count; i++) {
    gate.refuse({ close: () => closedAt.push(turns.turn()) }, 60, false);
    await new Promise((r) => setTimeout(r, 1));
  }
  const elapsed = performance.now() - started;
  while (closedAt.length < count) await new Promise((r) => setTimeout(r, 5));
  turns.stop();
  const batches = new Set(closedAt).size;
  assert.ok(
    batches <= elapsed / 50 + 3,
    `${count} holds, arriving over ${elapsed.toFixed(0)} ms, ended in ${batches} batches`,
  );
});
