// The HTTP layer answers a ParseError with 400 and anything else with 500: so every parser must
// throw nothing but a ParseError for bad input, whatever the bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeProtobufDelimited } from '../expose/protobuf.js';
import { decodeSnappyFramed, encodeSnappyFramed, SnappyError } from '../http/snappy.js';
import { ParseError } from './errors.js';
import { OpenMetricsParseError, parseOpenMetricsBytes } from './openmetrics.js';
import { ProtobufParseError, parseProtobufDelimited } from './protobuf.js';
import { parseTextBytes, TextParseError } from './text.js';

const text = Buffer.from(
  '# HELP a_total help\n# TYPE a_total counter\na_total{x="1"} 1\n' +
    '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
);
const openMetrics = Buffer.from(
  '# TYPE a counter\n# HELP a help\na_total{x="1"} 1 # {t="1"} 1 1.5\n' +
    '# TYPE s summary\ns{quantile="0.5"} 1\ns_count 1\ns_sum 1\n# EOF\n',
);
const protobuf = Buffer.from(encodeProtobufDelimited(parseTextBytes(text)));

const parsers: Array<[string, (b: Uint8Array) => unknown, Buffer]> = [
  ['text', (b) => parseTextBytes(b), text],
  ['text, UTF-8 names', (b) => parseTextBytes(b, { utf8Names: true }), text],
  ['OpenMetrics', parseOpenMetricsBytes, openMetrics],
  ['protobuf', (b) => parseProtobufDelimited(b), protobuf],
  ['framed snappy', (b) => decodeSnappyFramed(b, 1 << 20), encodeSnappyFramed(text)],
];

test('each parser error class is a ParseError, its message as before', () => {
  const cases: Array<[Error, string]> = [
    [new TextParseError(3, 'bad'), 'text format parsing error in line 3: bad'],
    [new OpenMetricsParseError(2, 'bad'), 'openmetrics format parsing error in line 2: bad'],
    [new ProtobufParseError('unexpected-eof', 'unexpected EOF', 0), 'unexpected EOF'],
    [new SnappyError('snappy: corrupt input'), 'snappy: corrupt input'],
  ];
  for (const [e, message] of cases) {
    assert.ok(e instanceof ParseError, e.constructor.name);
    assert.equal(e.message, message);
  }
  assert.equal(String(new TextParseError(1, 'x')), 'TextParseError: text format parsing error in line 1: x');
});

const edit = (length: number) =>
  fc.tuple(fc.nat({ max: length }), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'add'));

/** A valid body with some bytes overwritten, some removed and some inserted. */
const mutated = (valid: Buffer) =>
  fc.array(edit(valid.length), { minLength: 1, maxLength: 6 }).map((edits) => {
    let b = Buffer.from(valid);
    for (const [at, byte, how] of edits) {
      const i = Math.min(at, b.length);
      if (how === 'set' && i < b.length) b[i] = byte;
      else if (how === 'cut') b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
      else b = Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
    }
    return b;
  });

for (const [name, parse, valid] of parsers) {
  test(`${name}: damaged and random bodies parse or throw a ParseError, nothing else`, () => {
    assert.doesNotThrow(() => parse(valid));
    const body = fc.oneof(
      mutated(valid),
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    );
    fc.assert(
      fc.property(body, (b) => {
        try {
          parse(b);
        } catch (e) {
          assert.ok(e instanceof ParseError, `${String(e)}\n${(e as Error).stack}`);
        }
      }),
      { seed: 20261206, numRuns: 3000 },
    );
  });
}
