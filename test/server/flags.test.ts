// The command line against the reference's (kingpin 2.2): the same words and exit codes for bad
// flags, the same --version lines and --help layout. Needs the reference binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { OURS_MAIN, REFERENCE_BIN } from '../support/servers.js';

function run(bin: 'ours' | 'reference', args: string[]): { status: number | null; stdout: string; stderr: string } {
  // A listen address nobody can bind keeps a case that would start the server from serving.
  const r =
    bin === 'ours'
      ? spawnSync(process.execPath, [OURS_MAIN, ...args], { encoding: 'utf8', timeout: 10_000 })
      : spawnSync(REFERENCE_BIN, args, { encoding: 'utf8', timeout: 10_000 });
  const name = (s: string) => s.replaceAll('prometheus-pushgateway', 'pushgateway');
  return { status: r.status, stdout: name(r.stdout), stderr: name(r.stderr) };
}

const ERROR_CASES = [
  ['--foo'],
  ['--foo', '--version'],
  ['--help', '--foo'],
  ['-h', '-x'],
  ['-hx'],
  ['-'],
  ['extra', '--version'],
  ['--', 'x'],
  ['--=x'],
  ['--help=x'],
  ['--web.listen-address'],
  ['--web.listen-address', '--version'],
  ['--persistence.file', '-x'],
  ['--web.telemetry-path', '--help'],
  ['--help', '--web.listen-address'],
  ['--web.enable-lifecycle=maybe'],
  ['--web.enable-lifecycle=1', '--version'],
  ['--no-persistence.file'],
  ['--persistence.file=a', '--persistence.file=b'],
  ['--log.level=bad'],
  ['--log.format=bad'],
  ['--log.format=bad', '--log.level=bad'],
  ['--persistence.interval=bad', '--log.level=bad'],
  ['--web.external-url=:bad'],
  ['--web.external-url=http://x/y%zz'],
  ['--web.external-url=http://[::1'],
];

test('bad command lines: the reference words and exit code', () => {
  for (const args of ERROR_CASES) {
    const ref = run('reference', args);
    const ours = run('ours', args);
    assert.deepEqual(
      { status: ours.status, stderr: ours.stderr },
      { status: ref.status, stderr: ref.stderr },
      args.join(' '),
    );
  }
});

test('--version, also after values that are never checked, prints the reference lines', () => {
  for (const args of [['--version'], ['--log.level=bad', '--version'], ['--version', '--foo'], ['--version=x']]) {
    const ref = run('reference', args);
    const ours = run('ours', args);
    assert.equal(ours.status, 0, args.join(' '));
    assert.equal(ours.stderr, '');
    const labels = (s: string) => s.split('\n').map((l) => l.replace(/:\s.*$|, version .*$/, ''));
    // The reference (1.5.1) prints its version on stderr; upstream 1.9 and ours on stdout.
    assert.deepEqual(labels(ours.stdout), labels(ref.stderr), args.join(' '));
    assert.match(ours.stdout, /^pushgateway, version \d+\.\d+\.\d+ \(branch: .*, revision: .*\)\n/);
  }
});

/** Help text cut into one block per flag: its head and wrapped help lines, as printed. */
function blocks(help: string): Map<string, string> {
  const out = new Map<string, string>();
  let key = '';
  for (const line of help.split('\n')) {
    const head = /^ {2}(?:-h, )? {0,4}(--[a-z0-9.-]+)/.exec(line);
    if (head !== null) key = head[1];
    if (key !== '') out.set(key, (out.get(key) ?? '') + line + '\n');
  }
  return out;
}

test('--help, --help-long and --help-man lay the shared flags out as the reference does', () => {
  const ref = run('reference', ['--help']);
  const refLong = run('reference', ['--help-long']);
  // The reference (1.5.1) writes --help to stderr, --help-long to stdout; upstream 1.9 and ours both to stdout.
  assert.equal(refLong.stdout, ref.stderr);
  const ours = run('ours', ['--help']);
  assert.equal(ours.status, 0);
  assert.equal(run('ours', ['--help-long', '--foo']).stdout, ours.stdout);
  assert.equal(run('ours', ['-h']).stdout, ours.stdout);
  const theirs = blocks(ref.stderr);
  const mine = blocks(ours.stdout);
  // Debian's own flag and its own persistence default are not upstream's.
  theirs.delete('--web.local-assets');
  theirs.delete('--persistence.file');
  for (const [flag, block] of theirs) assert.equal(mine.get(flag), block, flag);
  assert.equal(ours.stdout.split('\n\n')[0], ref.stderr.split('\n\n')[0]);
  assert.ok(ours.stdout.endsWith('Show application version.\n\n'));

  const refMan = run('reference', ['--help-man']);
  const ourMan = run('ours', ['--help-man']);
  assert.equal(ourMan.status, 0);
  const section = (s: string) => s.slice(s.indexOf('.SH "NAME"'), s.indexOf('.SH "OPTIONS"'));
  assert.equal(section(ourMan.stdout), section(refMan.stdout));
  assert.match(ourMan.stdout, /^\.TH pushgateway 1 pushgateway, version [^]*platform: +\S+ ""\n/);
  for (const flag of ['--web.listen-address=:9091', '--log.level=info', '--web.enable-lifecycle']) {
    const entry = (s: string) => /\.TP\n\\fB(?:[^\n]*)\\fR\n[^\n]*\n/g.exec(s.slice(s.indexOf(`\\fB${flag}`) - 4));
    assert.equal(entry(ourMan.stdout)?.[0], entry(refMan.stdout)?.[0], flag);
  }
});

test('our own int flags: a number out of range says so', () => {
  const r = run('ours', ['--push.max-body-bytes=-5']);
  assert.equal(r.status, 1);
  assert.equal(
    r.stderr,
    'pushgateway: error: value -5 for flag --push.max-body-bytes is out of range: at least 1, try --help\n',
  );
  const x = run('ours', ['--push.max-groups=x']);
  assert.equal(x.stderr, 'pushgateway: error: strconv.ParseInt: parsing "x": invalid syntax, try --help\n');
});
