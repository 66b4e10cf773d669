// The npm package holds the gateway only: what `npm pack` would publish, checked against the
// `files` field's intent (no tests, benchmarks, goldens or TypeScript sources; main and every
// module it loads included); and the packed tarball installs into a fresh prefix as a working
// `pushgateway` command, with the production dependencies alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort, waitReady } from '../support/servers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function packedFiles(): Set<string> {
  // --ignore-scripts: `prepare` would rebuild dist, which the test run already did.
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const [pack] = JSON.parse(r.stdout) as [{ files: { path: string }[] }];
  return new Set(pack.files.map((f) => f.path));
}

const files = packedFiles();

test('no test, benchmark, golden, script or TypeScript source is packed', () => {
  const unwanted = [...files].filter(
    (f) =>
      /\.test\.js$|\.ts$|\.map$|golden/.test(f) ||
      /^(src|test|bench|scripts|docs|dist\/(test|bench|scripts))\//.test(f),
  );
  assert.deepEqual(unwanted, []);
  const outside = [...files].filter((f) => !f.startsWith('dist/src/') && !['package.json', 'README.md'].includes(f));
  assert.deepEqual(outside, []);
});

test('main.js and every module it loads are packed', () => {
  assert.ok(files.has('dist/src/main.js'));
  // Walks relative imports (and the UI's browser script, read from disk) from main.js.
  const seen = new Set<string>();
  const todo = ['dist/src/main.js'];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    assert.ok(files.has(f), `${f} is loaded at run time but not packed`);
    const source = readFileSync(path.join(ROOT, f), 'utf8');
    for (const m of source.matchAll(/(?:from|import|new URL\()\s*\(?\s*'(\.\.?\/[^']+\.js)'/g)) {
      todo.push(path.posix.normalize(path.posix.join(path.posix.dirname(f), m[1])));
    }
  }
  assert.ok(seen.has('dist/src/ui/client/app.js'), 'the walk reaches the browser script');
  assert.ok(seen.has('dist/src/http/bcryptworker.js'), 'the walk reaches the bcrypt worker thread script');
  assert.ok(seen.size > 30, `only ${seen.size} modules reached from main.js`);
});

test('no packed module is test code under another name (e.g. a shared *.suite.js)', () => {
  const testCode = [...files].filter(
    (f) =>
      f.endsWith('.js') && /'node:test'|'node:assert|\/test\/support\//.test(readFileSync(path.join(ROOT, f), 'utf8')),
  );
  assert.deepEqual(testCode, []);
});

test('installed from the packed tarball, the bcrypt pool finds its worker and checks a password', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pgw-pack-'));
  try {
    const packed = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(packed.status, 0, packed.stderr);
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    const untar = spawnSync('tar', ['-xzf', path.join(dir, filename), '-C', dir], { encoding: 'utf8' });
    assert.equal(untar.status, 0, untar.stderr);
    const pkg = path.join(dir, 'package');
    // The dependencies as npm would install them beside the package.
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
    const pool = pathToFileURL(path.join(pkg, 'dist/src/http/bcryptpool.js')).href;
    const script =
      `const { BcryptPool, BCRYPT_WORKER } = await import(${JSON.stringify(pool)});\n` +
      "const ok = await new BcryptPool({ size: 1 }).compare('secret', " +
      "'$2b$04$jIRwvpyeshN0xsCZGg4QpevEogccWe83rCEAhXnqFiloe1b760SGS', 'test');\n" +
      'process.stdout.write(JSON.stringify({ ok, worker: BCRYPT_WORKER.href }));\n';
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      ok: true,
      worker: pathToFileURL(path.join(pkg, 'dist/src/http/bcryptworker.js')).href,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the build leaves the bin executable; run directly (as npx does) it starts', () => {
  const main = path.join(ROOT, 'dist/src/main.js');
  assert.equal(statSync(main).mode & 0o111, 0o111, 'dist/src/main.js is not executable after the build');
  const r = spawnSync(main, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^pushgateway, version /);
});

test('npm pack, then npm install -g of the tarball: a working pushgateway command', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pgw-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const npm = (args: string[]) => {
    const r = spawnSync('npm', [...args, '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `npm ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  // --ignore-scripts: `prepack` would rebuild dist, which the test run already did.
  const [packed] = JSON.parse(npm(['pack', ROOT, '--ignore-scripts', '--json'])) as [{ filename: string }];
  // Dependencies come from the npm cache where it has them (--prefer-offline), else the registry.
  const prefix = path.join(dir, 'prefix');
  npm(['install', '--global', '--prefix', prefix, '--prefer-offline', path.join(dir, packed.filename)]);
  const installed = path.join(prefix, 'lib/node_modules/pushgateway-ts');
  // Production dependencies only: the compiler and test tools stay out.
  for (const dev of ['typescript', 'eslint', 'light-my-request']) {
    assert.throws(() => statSync(path.join(installed, 'node_modules', dev)), `${dev} installed`);
  }
  // contrib/pushgateway.service runs main.js from this place under /usr/local.
  assert.ok(statSync(path.join(installed, 'dist/src/main.js')).isFile());

  const bin = path.join(prefix, 'bin/pushgateway');
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(version.status, 0, version.stderr);
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.ok(version.stdout.startsWith(`pushgateway, version ${pkg.version} `), version.stdout);

  const port = await freePort();
  const proc = spawn(bin, [`--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    await waitReady(`http://127.0.0.1:${port}`, proc, () => out, 20_000);
  } finally {
    proc.kill('SIGTERM');
  }
  assert.equal(await exited, 0, out);
});
