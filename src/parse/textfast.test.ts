// The parser's shortcuts for large pushes (issue #12): values read in place and the family of a
// repeated sample name reused. Oracles: parseGoFloat on the token, and each family parsed apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoFloat } from '../lib/gofloat.js';
import { seeded } from '../../test/support/random.js';
import { parseText, parseTextByteString, parseTextBytes, parseTextBytesSliced, parseTextPlain } from './text.js';

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

// Random bodies built from the pieces the shortcuts look at: names that repeat, extend or end in
// _count/_sum/_bucket, label names repeated at a position or extended, values with escapes,
// newlines, UTF-8 (valid or not) and values of the same length (colliding in the pairs' table),
// HELP with escapes, TYPE words in any case, timestamps, blanks, and bodies cut anywhere.
function randomBody(random: () => number): Uint8Array {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const names = ['a', 'aa', 'a_count', 'a_sum', 'a_bucket', 'ab:c', 'b', 'b_total', 's', 's_count', 's_sum', 'h'];
  const labelNames = ['x', 'xy', 'le', 'quantile', 'y', '__name__', 'x1'];
  const values = [
    '1',
    '2',
    '10',
    '+Inf',
    '0.5',
    'NaN',
    '',
    'v',
    'vv',
    'w',
    'a\\"b',
    'a\\\\',
    'a\\n',
    'a\\t',
    'é',
    '\xff',
  ].concat(['ab\ncd', 'item-1', 'item-2', 'item-12', 'meti-1', 'x"y']);
  const types = [
    'counter',
    'gauge',
    'summary',
    'histogram',
    'untyped',
    'GAUGE',
    'Counter',
    'gauge_histogram',
    'foo',
  ].concat(['gau\\ge', 'histogram ', '']);
  const helps = ['text', 'with \\\\ backslash', 'new\\nline', 'bad \\x escape', 'é ü', '\xfe\xff', ''];
  const lines: string[] = [];
  const count = 1 + Math.floor(random() * 14);
  for (let k = 0; k < count; k++) {
    const r = random();
    const name = pick(names);
    if (r < 0.15) lines.push(`# HELP ${name} ${pick(helps)}`);
    else if (r < 0.3) lines.push(`#${pick([' ', '\t', '  '])}TYPE ${name} ${pick(types)}`);
    else if (r < 0.33) lines.push(pick(['# other comment', '', '   ', '#', '# HELP', `# TYPE ${name}`]));
    else {
      let labels = '';
      const n = Math.floor(random() * 4);
      if (n > 0 || random() < 0.2) {
        const pairs: string[] = [];
        for (let j = 0; j < n; j++) {
          pairs.push(`${pick(labelNames)}${pick(['', '', ' '])}=${pick(['', ' '])}"${pick(values)}"`);
        }
        labels = `{${pairs.join(pick([',', ', ']))}${pick(['', '', ','])}}`;
      }
      const value = pick(['1', '2.5', '-3', '1e3', 'NaN', '+Inf', '12345678901234567', 'x', '0.1']);
      const ts = pick(['', '', ' 123', ' -5', ' x', ' 1 2']);
      lines.push(`${name}${pick(['', ' '])}${labels} ${value}${ts}`);
    }
  }
  let text = lines.join('\n') + '\n';
  if (random() < 0.1) text = text.slice(0, Math.floor(random() * text.length));
  return Buffer.from(text, 'latin1');
}

function outcome(parse: () => unknown): unknown {
  try {
    return parse();
  } catch (e) {
    return (e as Error).message;
  }
}

test('the shortcuts give what the plain reading gives, on random bodies', async () => {
  const random = seeded(12);
  for (let k = 0; k < 4000; k++) {
    const body = randomBody(random);
    const latin1 = Buffer.from(body).toString('latin1');
    for (const utf8Names of [false, true]) {
      const want = outcome(() => parseTextPlain(body, { utf8Names }));
      assert.deepEqual(
        outcome(() => parseTextBytes(body, { utf8Names })),
        want,
        latin1,
      );
      for (const pieceBytes of [1 << 20, 1 + (k % 23)]) {
        // In pieces of a few bytes (cut after the next newline), line numbers of errors included.
        const sliced = await parseTextBytesSliced(body, { utf8Names }, 10, pieceBytes).then(
          (r) => r,
          (e: Error) => e.message,
        );
        assert.deepEqual(sliced, want, `${pieceBytes}: ${latin1}`);
      }
      const text = Buffer.from(body).toString('utf8');
      assert.deepEqual(
        outcome(() => parseText(text, { utf8Names })),
        outcome(() => parseTextPlain(text, { utf8Names })),
        text,
      );
    }
    assert.deepEqual(
      outcome(() => parseTextByteString(latin1)),
      outcome(() => parseTextPlain(body)),
    );
  }
});

test('label pairs read again are the same pairs, whatever collides in their table', () => {
  // 5,000 values of one length and 64 repeated ones: every value is the one of its line.
  const lines = ['# TYPE g gauge'];
  for (let i = 0; i < 5000; i++) lines.push(`g{item="i-${String(i).padStart(5, '0')}",shard="${i % 64}"} ${i}`);
  const body = Buffer.from(lines.join('\n') + '\n');
  const got = parseTextBytes(body)[0].metrics;
  assert.deepEqual(got, parseTextPlain(body)[0].metrics);
  assert.equal(got[3].labels[1], got[67].labels[1]); // shard="3" twice: one pair
  assert.equal(got[3].labels[1].value, '3');
});
