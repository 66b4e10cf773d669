// Behaviours of our server over real HTTP that the conformance suite cannot compare with the
// reference: ordering guarantees, compression bounds, process lifecycle and flags.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { gzipSync, gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'node:http';
import { send, type Reply } from '../support/http.js';
import { startServer, OURS_MAIN, type RunningServer } from '../support/servers.js';
import { NODE_FLAGS } from '../../src/nodeflags.js';
import { encodeSnappyFramed } from '../../src/http/snappy.js';

let gw: RunningServer;
before(async () => {
  gw = await startServer('ours', ['--web.enable-admin-api']);
});
after(async () => {
  await gw.stop();
});

test('writes to one group apply in arrival order, even when an earlier body arrives later', async () => {
  // A: request line and headers now, body later. B: whole request after A started.
  const slow = new Promise<Reply>((resolve, reject) => {
    const req = request(gw.url + '/metrics/job/order', { method: 'PUT', headers: { 'Content-Length': '4' }, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0) }));
    });
    req.on('error', reject);
    req.write('x ');
    req.flushHeaders();
    setTimeout(() => req.end('1\n'), 300);
  });
  await new Promise((r) => setTimeout(r, 100));
  const fast = send(gw.url, 'PUT', '/metrics/job/order', 'x 2\n');
  const [a, b] = await Promise.all([slow, fast]);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  const json = JSON.parse((await send(gw.url, 'GET', '/api/v1/metrics')).body.toString()) as { data: Array<Record<string, { metrics: Array<{ value: string }> }>> };
  const group = json.data.find((g) => 'x' in g)!;
  assert.equal(group.x.metrics[0].value, '2', 'the later request must win');
});

test('a client reads its own write right after the answer', async () => {
  for (let i = 0; i < 20; i++) {
    const put = await send(gw.url, 'PUT', '/metrics/job/ryw', `v ${i}\n`);
    assert.equal(put.status, 200);
    const scrape = (await send(gw.url, 'GET', '/metrics')).body.toString();
    assert.match(scrape, new RegExp(`\\nv\\{instance="",job="ryw"\\} ${i}\\n`));
  }
});

test('gzip push bodies are accepted; a gzip bomb gets 413 and stores nothing', async () => {
  const ok = await send(gw.url, 'PUT', '/metrics/job/gz', gzipSync('gz_metric 7\n'), { 'Content-Encoding': 'gzip' });
  assert.equal(ok.status, 200);
  assert.match((await send(gw.url, 'GET', '/metrics')).body.toString(), /gz_metric\{instance="",job="gz"\} 7/);
  const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024, 0x20));
  assert.ok(bomb.length < 1024 * 1024);
  const r = await send(gw.url, 'PUT', '/metrics/job/bomb', bomb, { 'Content-Encoding': 'gzip' });
  assert.equal(r.status, 413);
  assert.match(r.body.toString(), /decompressed request body exceeds the limit of \d+ bytes/);
  assert.doesNotMatch((await send(gw.url, 'GET', '/api/v1/metrics')).body.toString(), /"bomb"/);
  const bad = await send(gw.url, 'PUT', '/metrics/job/gz', Buffer.from('not gzip at all'), { 'Content-Encoding': 'gzip' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.toString(), 'gzip: invalid header\n');
  // Shorter than gzip's 10-byte header: Go's reader reports the early end.
  const short = await send(gw.url, 'PUT', '/metrics/job/gz', Buffer.from('short'), { 'Content-Encoding': 'gzip' });
  assert.equal(short.body.toString(), 'unexpected EOF\n');
});

test('snappy (framed) push bodies are accepted; a damaged one gets the reason', async () => {
  const ok = await send(gw.url, 'PUT', '/metrics/job/snap', encodeSnappyFramed(Buffer.from('snappy_metric 3\n')), { 'Content-Encoding': 'snappy' });
  assert.equal(ok.status, 200);
  assert.match((await send(gw.url, 'GET', '/metrics')).body.toString(), /snappy_metric\{instance="",job="snap"\} 3/);
  const bad = await send(gw.url, 'PUT', '/metrics/job/snap', Buffer.from('not snappy'), { 'Content-Encoding': 'snappy' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.toString(), 'snappy: corrupt input\n');
});

test('scrapes are gzipped when the client accepts it', async () => {
  await send(gw.url, 'PUT', '/metrics/job/zip', 'zipped 1\n');
  const r = await send(gw.url, 'GET', '/metrics', undefined, { 'Accept-Encoding': 'gzip' });
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.match(gunzipSync(r.body).toString(), /zipped\{instance="",job="zip"\} 1/);
});

test('self-metrics count pushes and stored groups', async () => {
  await send(gw.url, 'PUT', '/metrics/job/count', 'c 1\n');
  const text = (await send(gw.url, 'GET', '/metrics')).body.toString();
  assert.match(text, /pushgateway_http_requests_total\{code="200",handler="push",method="put"\} \d+/);
  assert.match(text, /# TYPE pushgateway_http_push_duration_seconds summary/);
  assert.match(text, /pushgateway_build_info\{branch="",goarch="[^"]+",goos="linux",goversion="node[^"]+",revision="",version="[^"]+"\} 1/);
  assert.match(text, /\npushgateway_groups [1-9]\d*\n/);
  assert.match(text, /\nprocess_resident_memory_bytes \d/);
});

test('--web.route-prefix moves every route under the prefix', async () => {
  const p = await startServer('ours', ['--web.route-prefix=/pfx/'], { routePrefix: '/pfx' });
  try {
    assert.equal((await send(p.url, 'PUT', '/pfx/metrics/job/a', 'm 1\n')).status, 200);
    assert.match((await send(p.url, 'GET', '/pfx/metrics')).body.toString(), /m\{instance="",job="a"\} 1/);
    assert.equal((await send(p.url, 'GET', '/metrics')).status, 404);
    assert.equal((await send(p.url, 'GET', '/pfx/api/v1/status')).status, 200);
  } finally {
    await p.stop();
  }
});

test('/-/quit with --web.enable-lifecycle answers, then the process exits 0', async () => {
  const q = await startServer('ours', ['--web.enable-lifecycle']);
  const exited = new Promise<number | null>((r) => q.proc.once('exit', (code) => r(code)));
  const r = await send(q.url, 'POST', '/-/quit');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'Requesting termination... Goodbye!');
  assert.equal(await exited, 0);
});

test('flags: unknown flag and bad duration exit 1 with kingpin-style errors; --help and --version exit 0', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [OURS_MAIN, ...args], { encoding: 'utf8', timeout: 10_000 });
  const unknown = run('--foo');
  assert.equal(unknown.status, 1);
  assert.equal(unknown.stderr, "pushgateway: error: unknown long flag '--foo', try --help\n");
  const dur = run('--persistence.interval=x');
  assert.equal(dur.status, 1);
  assert.equal(dur.stderr, 'pushgateway: error: time: invalid duration "x", try --help\n');
  const missing = run('--web.listen-address');
  assert.equal(missing.stderr, "pushgateway: error: expected argument for flag '--web.listen-address', try --help\n");
  const help = run('--help');
  assert.equal(help.status, 0);
  for (const flag of ['--web.listen-address', '--web.telemetry-path', '--push.disable-consistency-check', '--log.format', '--persistence.interval']) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  const version = run('--version');
  assert.equal(version.status, 0);
  assert.match(version.stdout, /^pushgateway, version \d+\.\d+\.\d+/);
});

test('the bin #! line, npm start and the tests run node with the same V8 flags', () => {
  const root = path.resolve(path.dirname(OURS_MAIN), '../..');
  const shebang = readFileSync(OURS_MAIN, 'utf8').split('\n')[0];
  assert.equal(shebang, `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string }; bin: { pushgateway: string } };
  assert.match(pkg.scripts.start, new RegExp(`&& node ${NODE_FLAGS.join(' ')} dist/src/main\\.js$`));
  assert.equal(path.resolve(root, pkg.bin.pushgateway), OURS_MAIN);
  // The #! line works as env -S reads it.
  const run = spawnSync('/usr/bin/env', ['-S', shebang.slice(2).replace('/usr/bin/env -S ', ''), OURS_MAIN, '--version'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^pushgateway, version /);
});
