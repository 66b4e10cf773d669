// Limits on connections, which need real sockets: slow headers and too many connections. The
// limits on what one push may carry are tested in-process (src/http/push.test.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../support/servers.js';

let gw: RunningServer;
let withWebConfig: RunningServer;
const dir = mkdtempSync(path.join(tmpdir(), 'pgw-limits-'));
before(async () => {
  // A web config file without TLS: the server is made by the web-config code, with the same limits.
  const webConfig = path.join(dir, 'web.yml');
  writeFileSync(webConfig, 'http_server_config:\n  headers:\n    X-Frame-Options: deny\n');
  [gw, withWebConfig] = await Promise.all([
    startServer('ours', ['--web.max-connections=4', '--web.read-header-timeout=1s']),
    startServer('ours', ['--web.read-header-timeout=1s', `--web.config.file=${webConfig}`]),
  ]);
});
after(async () => {
  await Promise.all([gw.stop(), withWebConfig.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

for (const [name, server] of [
  ['', () => gw],
  [' (with --web.config.file)', () => withWebConfig],
] as const) {
  test(`a client that never finishes its headers is disconnected (slowloris)${name}`, async () => {
    const started = Date.now();
    const closed = await new Promise<string>((resolve) => {
      const sock = connect(server().port, '127.0.0.1', () =>
        sock.write('PUT /metrics/job/slow HTTP/1.1\r\nHost: x\r\n'),
      );
      let data = '';
      sock.on('data', (d) => (data += d.toString()));
      sock.on('close', () => resolve(data));
      setTimeout(() => sock.destroy(), 8000);
    });
    // Node's default sweep is every 30 s: within seconds only if the factory set the interval.
    assert.ok(Date.now() - started < 4000, `still open after ${Date.now() - started} ms`);
    assert.match(closed, /^HTTP\/1\.1 408|^$/);
  });
}

test('connections beyond --web.max-connections are refused', async () => {
  const socks = await Promise.all(
    [0, 1, 2, 3].map(
      () =>
        new Promise<import('node:net').Socket>((resolve) => {
          const s = connect(gw.port, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const extra = await new Promise<boolean>((resolve) => {
    const s = connect(gw.port, '127.0.0.1');
    s.on('close', () => resolve(true));
    s.on('error', () => resolve(true));
    setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 3000);
  });
  for (const s of socks) s.destroy();
  assert.equal(extra, true, 'the fifth connection should be closed by the server');
});
