// --web.systemd-socket: the gateway serves on a listening socket it inherits as systemd passes
// one (descriptor 3, LISTEN_FDS=1, LISTEN_PID its own PID), as the reference does. No systemd
// needed: the test opens the socket, hands it to the child and closes its own copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { NODE_FLAGS } from '../../src/nodeflags.js';
import { OURS_MAIN, REFERENCE_BIN, waitReady } from '../support/servers.js';

function command(kind: 'ours' | 'reference'): string[] {
  const flags = ['--web.systemd-socket', '--persistence.file=', '--web.listen-address=127.0.0.1:1'];
  return kind === 'ours' ? [process.execPath, ...NODE_FLAGS, OURS_MAIN, ...flags] : [REFERENCE_BIN, ...flags];
}

// LISTEN_PID must be the gateway's PID, known only once it runs: sh sets it and execs in place.
const EXEC_WITH_PID = 'LISTEN_PID=$$ exec "$0" "$@"';

async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

async function activated(kind: 'ours' | 'reference'): Promise<void> {
  const { server, port } = await listening();
  const [bin, ...args] = command(kind);
  // The listening socket's descriptor (Node hands a Server to a child only over IPC), made the
  // child's descriptor 3.
  const fd3 = (server as unknown as { _handle: { fd: number } })._handle.fd;
  const proc = spawn('/bin/sh', ['-c', EXEC_WITH_PID, bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe', fd3],
    env: { ...process.env, LISTEN_FDS: '1', LISTEN_FDNAMES: 'pushgateway.socket' },
  });
  // Only the child may accept now.
  server.close();
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitReady(url, proc, () => out, 15_000);
    const push = await fetch(`${url}/metrics/job/socket`, { method: 'PUT', body: 'activated 1\n' });
    assert.equal(push.status, 200);
    assert.match(await (await fetch(`${url}/metrics`)).text(), /^activated\{instance="",job="socket"\} 1$/m);
    assert.match(out, /msg="Listening on systemd activated listeners instead of port listeners\."/);
    assert.match(out, new RegExp(`msg="Listening on" address=127\\.0\\.0\\.1:${port}\\b`));
    assert.doesNotMatch(out, /127\.0\.0\.1:1\b/, 'the listen address is not used');
  } finally {
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, out);
  }
}

test('ours serves on the socket systemd would pass', () => activated('ours'));
test('the reference serves on it too', () => activated('reference'));

test('without a socket meant for it, each says "no socket activation file descriptors found"', () => {
  for (const kind of ['ours', 'reference'] as const) {
    // LISTEN_PID of another process: the descriptors are not ours.
    for (const env of [{}, { LISTEN_FDS: '1', LISTEN_PID: '1' }]) {
      const [bin, ...args] = command(kind);
      const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 15_000, env: { ...process.env, ...env } });
      // The reference then exits 0 (as on any listen failure); ours 1, so a supervisor sees it.
      assert.equal(r.status, kind === 'ours' ? 1 : 0, `${kind} ${JSON.stringify(env)}: ${r.stderr}`);
      assert.match(r.stderr, /msg="HTTP server stopped" err="no socket activation file descriptors found"/, kind);
    }
  }
});
