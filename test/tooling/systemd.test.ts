// contrib/pushgateway.service as systemd reads it: `systemd-analyze verify` (Debian's systemd
// package) finds no error and no warning, and the unit keeps what running as a service needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { OURS_MAIN } from '../support/servers.js';

const UNIT = path.resolve(path.dirname(OURS_MAIN), '../../contrib/pushgateway.service');
const ANALYZE = '/usr/bin/systemd-analyze';

test('systemd-analyze verify accepts the unit without a warning', (t) => {
  if (!existsSync(ANALYZE)) return t.skip(`${ANALYZE} missing (Debian package systemd)`);
  const r = spawnSync(ANALYZE, ['verify', UNIT], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  // Unknown or misspelt settings are only warnings, exit status 0.
  assert.equal(r.stderr, '');
});

test('the unit stops the gateway by SIGTERM, restarts it on failure and confines it', () => {
  const settings = readFileSync(UNIT, 'utf8')
    .replace(/\\\n\s*/g, '')
    .split('\n');
  for (const want of [
    'Type=simple',
    'User=pushgateway',
    'KillSignal=SIGTERM',
    'Restart=on-failure',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'StateDirectory=pushgateway',
    'ReadWritePaths=/var/lib/pushgateway',
  ]) {
    assert.ok(settings.includes(want), want);
  }
  const exec = settings.find((s) => s.startsWith('ExecStart='));
  assert.match(exec ?? '', /--persistence\.file=\/var\/lib\/pushgateway\//);
  assert.ok(/^TimeoutStopSec=\d+$/m.test(settings.join('\n')));
});

test('contrib/pushgateway.socket: verified, on the default port, for the service beside it', (t) => {
  const socket = UNIT.replace(/\.service$/, '.socket');
  const text = readFileSync(socket, 'utf8');
  assert.match(text, /^ListenStream=9091$/m);
  assert.match(text, /--web\.systemd-socket/, 'says which flag the service needs');
  if (!existsSync(ANALYZE)) return t.skip(`${ANALYZE} missing (Debian package systemd)`);
  const r = spawnSync(ANALYZE, ['verify', socket], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});
