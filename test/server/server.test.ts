// What needs a real gateway process: quitting it, its exit codes on bad flags, how it is started.
// Requests and answers are tested in-process (src/http/*.test.ts, src/expose/scrape.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { send } from '../support/http.js';
import { startServer, OURS_MAIN } from '../support/servers.js';
import { NODE_FLAGS } from '../../src/nodeflags.js';

test('/-/quit with --web.enable-lifecycle answers, then the process exits 0', async () => {
  const q = await startServer('ours', ['--web.enable-lifecycle']);
  const exited = new Promise<number | null>((r) => q.proc.once('exit', (code) => r(code)));
  const r = await send(q.url, 'POST', '/-/quit');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'Requesting termination... Goodbye!');
  assert.equal(await exited, 0);
});

test('flags: unknown flag and bad duration exit 1 with kingpin-style errors; --help and --version exit 0', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [OURS_MAIN, ...args], { encoding: 'utf8', timeout: 10_000 });
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
  for (const flag of [
    '--web.listen-address',
    '--web.telemetry-path',
    '--push.disable-consistency-check',
    '--log.format',
    '--persistence.interval',
  ]) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  const version = run('--version');
  assert.equal(version.status, 0);
  assert.match(version.stdout, /^pushgateway, version \d+\.\d+\.\d+/);
});

test('the bin #! line, npm start, the Dockerfile, the unit and the tests run node with the same V8 flags', () => {
  const root = path.resolve(path.dirname(OURS_MAIN), '../..');
  const shebang = readFileSync(OURS_MAIN, 'utf8').split('\n')[0];
  assert.equal(shebang, `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    scripts: { start: string };
    bin: { pushgateway: string };
  };
  assert.match(pkg.scripts.start, new RegExp(`exec node ${NODE_FLAGS.join(' ')} dist/src/main\\.js$`));
  assert.equal(path.resolve(root, pkg.bin.pushgateway), OURS_MAIN);
  // The container's entry point and the systemd unit run node with them too.
  const entrypoint = /^ENTRYPOINT (.*)$/m.exec(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
  assert.deepEqual(JSON.parse(entrypoint![1]), ['node', ...NODE_FLAGS, 'dist/src/main.js']);
  const unit = readFileSync(path.join(root, 'contrib/pushgateway.service'), 'utf8').replace(/\\\n\s*/g, '');
  assert.match(unit, new RegExp(`^ExecStart=/usr/bin/node ${NODE_FLAGS.join(' ')} /`, 'm'));
  // The #! line works as env -S reads it.
  const run = spawnSync(
    '/usr/bin/env',
    ['-S', shebang.slice(2).replace('/usr/bin/env -S ', ''), OURS_MAIN, '--version'],
    { encoding: 'utf8', timeout: 10_000 },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^pushgateway, version /);
});
