// The layering rule, checked by `npm run lint:deps` (dependency-cruiser). Imports point one way:
//   src/model.ts (leaf) <- src/lib/ <- src/parse/ <- src/store/ <- src/expose/, src/persist/
//     <- the app modules (config, log, ...) <- src/http/, src/ui/ <- src/main.ts
// so a store change never has to reach into rendering or persistence, and the store can be
// reused (and tested) without either. Tests (*.test.ts, shared *.suite.ts) may cross layers;
// they still count for cycles.
const TEST = '\\.(test|suite)\\.ts$';
// Top-level modules the app is wired from; they may use the layers below, nothing under src/ may
// use main.ts. Any other file directly in src/ is a helper that belongs in a layer (src/lib/).
const APP = '^src/(selfmetrics|config|log|duration|idlegc|nodeflags)\\.ts$';

/** A production file under `from` must not import anything matching one of `to`. */
function forbid(name, comment, from, to) {
  return { name, comment, severity: 'error', from: { path: from, pathNot: TEST }, to: { path: to } };
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle makes the modules in it one unit: none can load, change or be tested alone.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-main',
      comment: 'main.ts wires the process together; nothing may depend on it.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/main\\.ts$' },
    },
    {
      name: 'model-is-a-leaf',
      comment: 'src/model.ts holds the shared data types every layer uses, so it may use none of them.',
      severity: 'error',
      from: { path: '^src/model\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'lib-is-a-leaf',
      comment:
        'src/lib/ (Go-compatible strings and numbers, text-format helpers) uses only node builtins and model.ts.',
      severity: 'error',
      from: { path: '^src/lib/' },
      to: { pathNot: ['^src/lib/', '^src/model\\.ts$'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'helpers-in-lib',
      comment: 'Files directly in src/ are main, model and the app modules; a shared helper belongs in src/lib/.',
      severity: 'error',
      from: {},
      to: { path: '^src/[^/]+\\.ts$', pathNot: ['^src/(model|main)\\.ts$', APP] },
    },
    forbid(
      'parse-below-store',
      'Parsers turn bytes into model values; they know nothing of storage, rendering or HTTP.',
      '^src/parse/',
      ['^src/(store|expose|persist|http|ui)/', APP],
    ),
    forbid(
      'store-below-expose-and-persist',
      'The store holds groups; rendering (expose) and persistence build on it, never the reverse.',
      '^src/store/',
      ['^src/(expose|persist|http|ui)/', APP],
    ),
    forbid(
      'persist-beside-expose',
      'Persistence reads and restores the store; it needs neither rendering nor HTTP.',
      '^src/persist/',
      ['^src/(expose|http|ui)/', APP],
    ),
    forbid(
      'expose-beside-persist',
      'Rendering reads the store; it needs neither persistence nor HTTP nor the UI.',
      '^src/expose/',
      ['^src/(persist|http|ui)/', APP],
    ),
    forbid(
      'app-modules-below-http-and-ui',
      'The app modules (config, self-metrics, ...) are used by http and ui, so they must not use them.',
      APP,
      ['^src/(http|ui)/'],
    ),
    forbid('ui-below-http', 'The HTTP server serves the UI; the UI does not call into the server.', '^src/ui/', [
      '^src/http/',
    ]),
    forbid('src-not-to-tests-or-tools', 'The gateway ships without test/, bench/ and scripts/.', '^src/', [
      '^(test|bench|scripts)/',
    ]),
    {
      name: 'src-not-to-dev-dependencies',
      comment: 'The published package installs only dependencies, not devDependencies.',
      severity: 'error',
      from: { path: '^src/', pathNot: TEST },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'known-packages-only',
      comment: 'Every npm package imported is declared in package.json.',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'resolvable',
      comment: 'An import the checker cannot resolve would slip through every other rule.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    // Type-only imports couple layers as much as value imports do.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
