// The layering rule (.dependency-cruiser.cjs, `npm run lint:deps`) must reject an import against
// the intended direction and name it, and must accept a tree that follows it: run the real
// checker with the repository's config on small trees written to a temporary directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

const TSCONFIG = JSON.stringify({
  compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true },
  include: ['src/**/*.ts'],
});

/** Writes `files` (path -> source) under a fresh directory and runs the checker on its src/. */
function check(files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'layering-'));
  try {
    writeFileSync(path.join(dir, 'tsconfig.json'), TSCONFIG);
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'fixture', type: 'module' }));
    for (const [file, source] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), source);
    }
    const r = spawnSync(process.execPath, [DEPCRUISE, '--config', CONFIG, 'src'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: r.status, output: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// A tree in the intended direction: lib <- parse <- store <- expose, persist <- http, ui <- main.
const clean: Record<string, string> = {
  'src/model.ts': 'export type Sample = { value: number };\n',
  'src/lib/quote.ts':
    "import { Buffer } from 'node:buffer';\nexport const quote = (s: string) => Buffer.from(s).toString();\n",
  'src/parse/text.ts': "import { quote } from '../lib/quote.js';\nexport const parse = (s: string) => quote(s);\n",
  'src/store/x.ts': "import { parse } from '../parse/text.js';\nexport const x = parse('x');\n",
  'src/expose/y.ts': "import { x } from '../store/x.js';\nexport const y = x;\n",
  'src/persist/z.ts':
    "import type { Sample } from '../model.js';\nimport { x } from '../store/x.js';\n" +
    'export const z: Sample = { value: x.length };\n',
  'src/config.ts': "import { y } from './expose/y.js';\nexport const config = y;\n",
  'src/http/server.ts':
    "import { config } from '../config.js';\nimport { page } from '../ui/index.js';\n" +
    'export const serve = () => config + page;\n',
  'src/ui/index.ts': "import { y } from '../expose/y.js';\nexport const page = y;\n",
  'src/main.ts': "import { serve } from './http/server.js';\nimport { z } from './persist/z.js';\nserve();\nvoid z;\n",
  // Unit tests may cross layers to test a round trip.
  'src/parse/text.test.ts': "import { y } from '../expose/y.js';\nvoid y;\n",
};

test('a tree that follows the layering passes', () => {
  const r = check(clean);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /no dependency violations found/);
});

// Each checker run costs seconds, so one tree carries every deliberate mistake.
test('a tree with imports against the layering fails, naming each', () => {
  const r = check({
    ...clean,
    'src/store/x.ts': "import { y } from '../expose/y.js';\nexport const x = String(y);\n",
    'src/store/w.ts': "import { z } from '../persist/z.js';\nexport const w = z;\n",
    'src/lib/bad.ts': "import { parse } from '../parse/text.js';\nexport const bad = parse;\n",
    'src/ui/boot.ts': "import '../main.js';\n",
    'src/parse/a.ts': "import { b } from './b.js';\nexport const a = () => b();\n",
    'src/parse/b.ts': "import { a } from './a.js';\nexport const b = (): unknown => a;\n",
  });
  assert.notEqual(r.status, 0, r.output);
  const named = [
    /store-below-expose-and-persist: src\/store\/x\.ts → src\/expose\/y\.ts/,
    /store-below-expose-and-persist: src\/store\/w\.ts → src\/persist\/z\.ts/,
    /lib-is-a-leaf: src\/lib\/bad\.ts → src\/parse\/text\.ts/,
    /not-to-main: src\/ui\/boot\.ts → src\/main\.ts/,
    /no-circular: src\/parse\/(a|b)\.ts → /,
  ];
  for (const re of named) assert.match(r.output, re);
  // persist -> store is the allowed direction of the pair.
  assert.doesNotMatch(r.output, /src\/persist\/z\.ts → src\/store\/x\.ts/);
});
