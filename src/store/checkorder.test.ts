// The check words a push's errors in the order of its family names (the reference's), whatever
// order the push carries them in: the order is remembered from push to push (consistency.ts
// byName) and must follow the names when they change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseText } from '../parse/text.js';
import { MemoryStore } from './memory.js';

test('errors are listed by family name, push after push, as the names and their order change', async () => {
  const store = new MemoryStore();
  const gauges = '# TYPE b gauge\nb 1\n# TYPE a gauge\na 1\n# TYPE c gauge\nc 1\n';
  assert.ok((await store.write({ labels: { job: 'x' }, families: parseText(gauges), replace: true, check: true })).ok);
  const failing = [
    '# TYPE b counter\nb 1\n# TYPE a counter\na 1\n',
    '# TYPE b counter\nb 1\n# TYPE a counter\na 1\n',
    '# TYPE a counter\na 1\n# TYPE b counter\nb 1\n',
    '# TYPE c counter\nc 1\n# TYPE b counter\nb 1\n# TYPE a counter\na 1\n',
    '# TYPE c counter\nc 1\n# TYPE b counter\nb 1\n',
  ];
  for (const body of failing) {
    const r = await store.write({ labels: { job: 'y' }, families: parseText(body), replace: true, check: true });
    assert.equal(r.ok, false);
    const named = [...(r.ok ? '' : r.error).matchAll(/collected metric "(\w)"/g)].map((m) => m[1]);
    const expected = [...body.matchAll(/^# TYPE (\w)/gm)].map((m) => m[1]).sort();
    assert.deepEqual(named, expected, body);
  }
});
