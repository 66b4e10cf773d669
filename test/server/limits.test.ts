// Limits on what a client may send or hold: each refusal names the limit and stores nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { startServer, type RunningServer } from '../support/servers.js';

function send(base: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, { method, headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

let gw: RunningServer;
before(async () => {
  gw = await startServer('ours', [
    '--push.max-body-bytes=1000',
    '--push.max-series-per-push=5',
    '--push.max-name-length=20',
    '--push.max-label-value-length=30',
    '--web.max-connections=4',
    '--web.read-header-timeout=1s',
  ]);
});
after(async () => {
  await gw.stop();
});

const refusals: Array<[string, string, string, number, RegExp]> = [
  ['declared body too large', '/metrics/job/a', 'x 1\n'.repeat(300), 413, /request body of 1200 bytes exceeds the limit of 1000 bytes \(--push\.max-body-bytes\)/],
  ['too many series', '/metrics/job/a', [1, 2, 3, 4, 5, 6].map((i) => `s{i="${i}"} 1\n`).join(''), 413, /the push carries 6 series, more than the limit of 5 \(--push\.max-series-per-push\)/],
  ['metric name too long', '/metrics/job/a', 'a_very_long_metric_name_indeed 1\n', 400, /metric name "a_very_long_metric_name_indeed" is 30 bytes long, more than the limit of 20 bytes \(--push\.max-name-length\)/],
  ['label name too long', '/metrics/job/a', 'm{a_very_long_label_name_x="1"} 1\n', 400, /label name .* more than the limit of 20 bytes/],
  ['label value too long', '/metrics/job/a', `m{l="${'v'.repeat(31)}"} 1\n`, 400, /label l value .* is 31 bytes long, more than the limit of 30 bytes \(--push\.max-label-value-length\)/],
  ['grouping value too long', `/metrics/job/a/g/${'w'.repeat(31)}`, 'm 1\n', 400, /grouping label g value .* more than the limit of 30 bytes/],
];
for (const [name, path, body, status, message] of refusals) {
  test(`refused, nothing stored: ${name}`, async () => {
    const before = (await send(gw.url, 'GET', '/api/v1/metrics')).body;
    const r = await send(gw.url, 'PUT', path, body);
    assert.equal(r.status, status, r.body);
    assert.match(r.body, message);
    assert.equal((await send(gw.url, 'GET', '/api/v1/metrics')).body, before);
  });
}

test('a chunked body past the limit is refused too', async () => {
  const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(gw.url + '/metrics/job/chunked', { method: 'PUT', timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    for (let i = 0; i < 30; i++) req.write('x 1\n'.repeat(10));
    req.end();
  });
  assert.equal(r.status, 413);
  assert.match(r.body, /request body exceeds the limit of 1000 bytes/);
});

test('within the limits a push is stored', async () => {
  assert.equal((await send(gw.url, 'PUT', '/metrics/job/ok', 'm{l="short"} 1\n')).status, 200);
});

test('a client that never finishes its headers is disconnected (slowloris)', async () => {
  const started = Date.now();
  const closed = await new Promise<string>((resolve) => {
    const sock = connect(gw.port, '127.0.0.1', () => sock.write('PUT /metrics/job/slow HTTP/1.1\r\nHost: x\r\n'));
    let data = '';
    sock.on('data', (d) => (data += d.toString()));
    sock.on('close', () => resolve(data));
    setTimeout(() => sock.destroy(), 8000);
  });
  assert.ok(Date.now() - started < 7000, `still open after ${Date.now() - started} ms`);
  assert.match(closed, /^HTTP\/1\.1 408|^$/);
});

test('connections beyond --web.max-connections are refused', async () => {
  const socks = await Promise.all(
    [0, 1, 2, 3].map(() => new Promise<import('node:net').Socket>((resolve) => {
      const s = connect(gw.port, '127.0.0.1', () => resolve(s));
    })),
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
