// The npm package holds the gateway only: what `npm pack` would publish, checked against the
// `files` field's intent (no tests, benchmarks, goldens or TypeScript sources; main and every
// module it loads included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

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
