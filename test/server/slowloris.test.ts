// Slow uploads must not lock other clients out (issue #12): one source (127.0.0.1) holds 2,000
// connections that each announce a 10 MB push body and send 4 bytes every 5 s, reconnecting
// whenever the gateway closes one; meanwhile another source (127.0.0.2, Linux routes all of
// 127/8 to lo) pushes, scrapes and probes health on fresh connections, and must see no error.
// SLOWLORIS_TARGET=reference runs the same attack against the Go reference (for the numbers in
// docs/security.md); the assertions are on ours.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, referenceAvailable, type RunningServer } from '../support/servers.js';

const ATTACKERS = Number(process.env.SLOWLORIS_CONNECTIONS ?? 2000);
const ATTACK_MS = Number(process.env.SLOWLORIS_MS ?? 12_000);
const kind = process.env.SLOWLORIS_TARGET === 'reference' ? 'reference' : 'ours';

let gw: RunningServer;
before(async () => {
  // Default flags: --web.max-connections=1024 is what the attack fills.
  gw = await startServer(kind);
});
after(async () => {
  await gw.stop();
});

interface Attack {
  /** The attacker's last report: connections open, and closed or refused by the gateway. */
  last: () => { open: number; closed: number };
  stop: () => void;
}

function slowloris(port: number, count: number): Attack {
  const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../support/slowloris.js');
  const child = spawn(process.execPath, [script, String(port), String(count)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let last = { open: 0, closed: 0 };
  let buffered = '';
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) last = JSON.parse(line) as typeof last;
  });
  return { last: () => last, stop: () => child.kill('SIGKILL') };
}

/** One request from 127.0.0.2 on a fresh connection; its status, or the error's code. */
function probe(port: number, method: string, path: string, body?: string): Promise<{ ms: number; outcome: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, localAddress: '127.0.0.2', agent: false, timeout: 20_000 },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve({ ms: performance.now() - started, outcome: String(res.statusCode) }));
        res.on('error', (e: NodeJS.ErrnoException) =>
          resolve({ ms: performance.now() - started, outcome: e.code ?? e.message }),
        );
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) =>
      resolve({ ms: performance.now() - started, outcome: e.code ?? e.message }),
    );
    req.end(body);
  });
}

test(
  `${ATTACKERS} slow uploads from one source do not lock out another`,
  { skip: kind === 'reference' && !referenceAvailable() },
  async () => {
    const attack = slowloris(gw.port, ATTACKERS);
    const latencies: number[] = [];
    const failures = new Map<string, number>();
    try {
      // Let the attack fill the gateway's connections first.
      const deadline = Date.now() + 5000;
      while (attack.last().open + attack.last().closed < ATTACKERS && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const end = Date.now() + ATTACK_MS;
      const checks: Array<[string, string, string?]> = [
        ['GET', '/-/healthy'],
        ['PUT', '/metrics/job/good/instance/a', 'good_metric 1\n'],
        ['GET', '/metrics'],
        ['GET', '/-/ready'],
      ];
      for (let i = 0; Date.now() < end; i++) {
        const [method, path, body] = checks[i % checks.length];
        const { ms, outcome } = await probe(gw.port, method, path, body);
        latencies.push(ms);
        if (outcome !== '200')
          failures.set(`${method} ${path}: ${outcome}`, (failures.get(`${method} ${path}: ${outcome}`) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      attack.stop();
    }
    latencies.sort((a, b) => a - b);
    const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
    const summary =
      `${kind}: ${latencies.length} requests, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms; ` +
      `attacker connections open ${attack.last().open}, closed or refused by the gateway ${attack.last().closed}; ` +
      `failures ${JSON.stringify(Object.fromEntries(failures))}`;
    console.log(summary);
    assert.deepEqual(Object.fromEntries(failures), {}, summary + '\n' + gw.output().slice(-3000));
    // Generous: on a shared machine the answers compete for the CPU with everything else; the
    // point here is that every request is answered. The measured figures are in docs/security.md.
    assert.ok(Number(p(0.5)) < 1000 && Number(p(0.99)) < 10_000, summary);
    // What kept the event loop busy: the crowd's members refused (or cut) and back each second,
    // a thousand accepts and closes a second. Beyond the places they wait instead, and cuts are
    // bounded per second, so over the attack far fewer than the crowd are closed.
    assert.ok(attack.last().closed < ATTACKERS / 2, summary);
  },
);

test(
  'a push whose client leaves while it waits behind another push to its group does not stop the gateway',
  { skip: kind === 'reference' },
  async () => {
    const open = () => {
      const s = connect(gw.port, '127.0.0.2');
      s.on('error', () => {});
      s.write('PUT /metrics/job/queued HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\na 1\n');
      return s;
    };
    const first = open();
    await new Promise((r) => setTimeout(r, 200));
    const second = open();
    await new Promise((r) => setTimeout(r, 300));
    second.destroy();
    await new Promise((r) => setTimeout(r, 300));
    first.destroy();
    await new Promise((r) => setTimeout(r, 300));
    const { outcome } = await probe(gw.port, 'GET', '/-/healthy');
    assert.equal(outcome, '200', gw.output().slice(-2000));
  },
);
