// The parser's shortcuts for large pushes (issue #12): values read in place and the family of a
// repeated sample name reused. Oracles: parseGoFloat on the token, and each family parsed apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoFloat } from '../lib/gofloat.js';
import { parseText, parseTextBytes } from './text.js';

test('values read in place are the doubles parseGoFloat reads, or the same error', () => {
  let seed = 3;
  const random = (k: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % k;
  const tokens = ['0', '-0', '-0.0', '00012', '1.', '.5', '-.5', '+1', '1.2.3', '1e5', '1_0', '0x1p3', '-']
    .concat(['123456789012345', '1234567890123456', '0.000000000000001', '9.99999999999999', '-999999999999999'])
    .concat(['0.1', '0.3', '2.675', '1.0000000000000002', 'NaN', '+Inf', '-Inf', '1..2', '12-3', '4.5x']);
  const digits = '0123456789';
  for (let k = 0; k < 3000; k++) {
    let t = random(3) === 0 ? '-' : '';
    const len = 1 + random(18);
    const dot = random(3) === 0 ? -1 : random(len + 1);
    for (let d = 0; d < len; d++) t += (d === dot ? '.' : '') + digits[random(10)];
    tokens.push(t);
  }
  for (const token of tokens) {
    for (const end of ['\n', ' 17\n', '\t17\n']) {
      const body = `m ${token}${end}`;
      const want = parseGoFloat(token);
      let got: number | undefined;
      let ts: number | undefined;
      let error = '';
      try {
        ({ value: got, timestampMs: ts } = parseText(body)[0].metrics[0]);
      } catch (e) {
        error = (e as Error).message;
      }
      if (want === undefined) assert.match(error, /expected float as value/, JSON.stringify(body));
      else assert.ok(Object.is(got, want), `${JSON.stringify(body)}: ${got} for ${want}`);
      if (want !== undefined) assert.equal(ts, end === '\n' ? undefined : 17);
    }
  }
  assert.throws(() => parseText('m 12'), /unexpected end of input stream/);
});

test('a repeated sample name names its family as a fresh read does', () => {
  const bodies = [
    // _count and _sum of a summary declared before, and after it a name of their own.
    '# TYPE s summary\ns_count 1\ns_count{a="1"} 2\ns_sum 3\ns_sum 4\nx_count 5\nx_count 6\n',
    // The same names before the TYPE line: their own families; the TYPE line then errs or not.
    's_count 1\ns_count 2\n# TYPE s summary\ns{quantile="0.5"} 1\ns_count 3\n',
    'h_bucket{le="1"} 1\nh_bucket{le="2"} 1\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 2\n',
    // Families alternating, comments and HELP/TYPE in between, a name that extends the last one.
    'a 1\nb 2\na 3\n# HELP a again\na 4\n# any comment\naa 5\na 6\n# TYPE c counter\nc 7\nc 8\na 9\n',
    // Timestamps, NaN and Inf on repeated names.
    'g{x="1"} NaN 5\ng{x="2"} +Inf\ng{x="3"} -Inf 6\n',
  ];
  for (const body of bodies) {
    let whole: unknown;
    try {
      whole = parseText(body);
    } catch (e) {
      whole = (e as Error).message;
    }
    let bytes: unknown;
    try {
      bytes = parseTextBytes(Buffer.from(body));
    } catch (e) {
      bytes = (e as Error).message;
    }
    assert.deepEqual(bytes, whole, body);
    // Each line after a blank line of its own: the same families, the same errors.
    const spaced = body.split('\n').join('\n\n');
    let apart: unknown;
    try {
      apart = parseText(spaced);
    } catch (e) {
      apart = (e as Error).message.replace(/line (\d+)/, (_, n) => `line ${(Number(n) + 1) / 2}`);
    }
    assert.deepEqual(apart, whole, body);
  }
});

test('samples go to the family their own name names', () => {
  const body = 'a 1\nb 2\na 3\n# HELP a again\na 4\n# any comment\naa 5\na 6\n# TYPE c counter\nc 7\nc 8\nb 9\n';
  const got = parseText(body).map((f) => [f.name, f.type, f.metrics.map((m) => m.value)]);
  assert.deepEqual(got, [
    ['a', 'untyped', [1, 3, 4, 6]],
    ['b', 'untyped', [2, 9]],
    ['aa', 'untyped', [5]],
    ['c', 'counter', [7, 8]],
  ]);
  const summary = parseText('x_count 1\n# TYPE s summary\ns_count 2\ns_sum 3\nx_count 4\ns_count{a="1"} 5\n');
  assert.deepEqual(
    summary.map((f) => [f.name, f.metrics.length]),
    [
      ['x_count', 2],
      ['s', 2],
    ],
  );
  assert.equal(summary[1].metrics[0].summary?.sampleCount, 2);
  assert.equal(summary[1].metrics[0].summary?.sampleSum, 3);
});
