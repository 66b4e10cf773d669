// Table-driven tests of the text format parser. Every expectation, error messages included, was
// checked against the reference Pushgateway 1.5.1 (expfmt.TextParser of prometheus/common 0.39):
// errors as the body of its 400 answer to a PUT, results through its /api/v1/metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabelPair, Metric, MetricFamily, MetricType } from '../model.js';
import {
  TextParseError,
  goFloatToUint64,
  parseGoInt64,
  parseText,
  parseTextBytes,
  parseTextBytesSliced,
} from './text.js';

export interface Case {
  name: string;
  /** A string is run through parseText and, as UTF-8, through parseTextBytes; bytes only the latter. */
  input: string | Uint8Array;
  want?: MetricFamily[];
  /** The exact message of the TextParseError. */
  error?: string;
}

const E = (line: number, msg: string): string => `text format parsing error in line ${line}: ${msg}`;
const EOF = (line: number): string => E(line, 'unexpected end of input stream');
/** Bytes given as a latin1 string: one char per byte. */
const B = (latin1: string): Uint8Array => new Uint8Array(Buffer.from(latin1, 'latin1'));

const L = (labels: Record<string, string> = {}): LabelPair[] =>
  Object.entries(labels).map(([name, value]) => ({ name, value }));
const fam = (name: string, type: MetricType, metrics: Metric[], help?: string): MetricFamily =>
  help === undefined ? { name, type, metrics } : { name, help, type, metrics };
const val = (labels: Record<string, string>, value: number, timestampMs?: number): Metric =>
  timestampMs === undefined ? { labels: L(labels), value } : { labels: L(labels), value, timestampMs };
const summary = (
  labels: Record<string, string>,
  sampleCount: number,
  sampleSum: number,
  quantiles: [number, number][] = [],
  timestampMs?: number,
): Metric => {
  const m: Metric = {
    labels: L(labels),
    summary: { sampleCount, sampleSum, quantiles: quantiles.map(([quantile, value]) => ({ quantile, value })) },
  };
  if (timestampMs !== undefined) m.timestampMs = timestampMs;
  return m;
};
const histogram = (
  labels: Record<string, string>,
  sampleCount: number,
  sampleSum: number,
  buckets: [number, number][] = [],
): Metric => ({
  labels: L(labels),
  histogram: {
    sampleCount,
    sampleSum,
    buckets: buckets.map(([upperBound, cumulativeCount]) => ({ upperBound, cumulativeCount })),
  },
});
/** One untyped family `foo` with one sample of the given value. */
const fooIs = (value: number): MetricFamily[] => [fam('foo', 'untyped', [val({}, value)])];
/** "foo <token>\n" must fail with the float error. */
const badValue = (token: string, quoted: string): Case => ({
  name: `value ${JSON.stringify(token)} is no Go float`,
  input: `foo ${token}\n`,
  error: E(1, `expected float as value, got ${quoted}`),
});
const goodValue = (token: string, value: number): Case => ({
  name: `value ${JSON.stringify(token)} is ${Object.is(value, -0) ? '-0' : String(value)}`,
  input: `foo ${token}\n`,
  want: fooIs(value),
});

const TWO63 = 2 ** 63;
const TWO64 = 2 ** 64;

export const cases: Case[] = [
  // --- Empty input, blank lines, line ends --------------------------------------------------
  { name: 'empty input', input: '', want: [] },
  { name: 'only newlines', input: '\n\n\n', want: [] },
  { name: 'only blanks without newline', input: '  \t ', want: [] },
  { name: 'blank lines', input: '  \n\t\n \t \n', want: [] },
  { name: 'simple untyped sample', input: 'foo 1\n', want: fooIs(1) },
  { name: 'last line without newline', input: 'foo 1', error: EOF(1) },
  { name: 'second line without newline', input: 'foo 1\nbar 2', error: EOF(2) },
  { name: 'metric name at end of input', input: 'foo', error: EOF(1) },
  { name: 'value with trailing blank at end of input', input: 'foo 1 ', error: EOF(1) },
  { name: 'timestamp at end of input', input: 'foo 1 2', error: EOF(1) },
  { name: 'label set at end of input', input: 'foo{a="b"}', error: EOF(1) },
  { name: 'label value at end of input', input: 'foo{a="b', error: EOF(1) },
  { name: 'escape at end of input', input: 'foo{a="b\\', error: EOF(1) },
  { name: 'label name at end of input', input: 'foo{a', error: EOF(1) },
  { name: 'comment at end of input', input: '# a comment', error: EOF(1) },
  { name: 'lone # at end of input', input: 'foo 1\n#', error: EOF(2) },
  { name: 'HELP at end of input', input: '# HELP foo some help', error: EOF(1) },
  { name: 'TYPE at end of input', input: '# TYPE foo counter', error: EOF(1) },
  { name: 'HELP name at end of input', input: '# HELP foo', error: EOF(1) },
  { name: 'trailing blanks after last newline', input: 'foo 1\n  \t', want: fooIs(1) },
  { name: 'leading blanks and tabs', input: ' \t foo 1\n', want: fooIs(1) },
  {
    name: 'blank lines between samples',
    input: 'foo 1\n\n\t\nbar 2\n',
    want: [fam('foo', 'untyped', [val({}, 1)]), fam('bar', 'untyped', [val({}, 2)])],
  },
  {
    name: 'line numbers count blank lines',
    input: '\n\n# x\nfoo abc\n',
    error: E(4, 'expected float as value, got "abc"'),
  },
  { name: 'CRLF line end', input: 'foo 1\r\n', error: E(1, 'expected float as value, got "1\\r"') },
  { name: 'CR before name', input: '\rfoo 1\n', error: E(1, 'invalid metric name') },

  // --- Comments, HELP and TYPE ----------------------------------------------------------------
  {
    name: 'HELP and TYPE counter',
    input: '# HELP foo The help.\n# TYPE foo counter\nfoo 3\n',
    want: [fam('foo', 'counter', [val({}, 3)], 'The help.')],
  },
  {
    name: 'TYPE before HELP, gauge',
    input: '# TYPE foo gauge\n# HELP foo The help.\nfoo -3\n',
    want: [fam('foo', 'gauge', [val({}, -3)], 'The help.')],
  },
  {
    name: 'HELP escapes \\\\ and \\n',
    input: '# HELP foo a\\\\b\\nc \\\\n\nfoo 1\n',
    want: [fam('foo', 'untyped', [val({}, 1)], 'a\\b\nc \\n')],
  },
  {
    name: 'HELP keeps quotes, inner and trailing whitespace',
    input: '# HELP foo  say "hi"  \t\nfoo 1\n',
    want: [fam('foo', 'untyped', [val({}, 1)], 'say "hi"  \t')],
  },
  {
    name: 'HELP escape \\" is invalid',
    input: '# HELP foo say \\"hi\\"\n',
    error: E(1, `invalid escape sequence '\\"'`),
  },
  {
    name: 'HELP escape \\t is invalid',
    input: 'foo 1\n# HELP foo a\\tb\n',
    error: E(2, "invalid escape sequence '\\t'"),
  },
  {
    name: 'HELP ending in a backslash',
    input: '# HELP foo bar\\\nfoo 1\n',
    error: E(1, "invalid escape sequence '\\\n'"),
  },
  {
    name: 'HELP escape of a non-ASCII char shows its first byte',
    input: '# HELP foo \\é\n',
    error: E(1, "invalid escape sequence '\\Ã'"),
  },
  { name: 'HELP without text leaves help unset', input: '# HELP foo\nfoo 1\n', want: fooIs(1) },
  { name: 'HELP with only blanks leaves help unset', input: '# HELP foo \t \nfoo 1\n', want: fooIs(1) },
  {
    name: 'second HELP line',
    input: '# HELP foo a\n# HELP foo b\nfoo 1\n',
    error: E(2, 'second HELP line for metric name "foo"'),
  },
  {
    name: 'second HELP line without text is no error',
    input: '# HELP foo a\n# HELP foo\n# HELP foo  \nfoo 1\n',
    want: [fam('foo', 'untyped', [val({}, 1)], 'a')],
  },
  {
    name: 'HELP after the samples',
    input: 'foo 1\n# HELP foo late\n',
    want: [fam('foo', 'untyped', [val({}, 1)], 'late')],
  },
  { name: 'HELP and TYPE without samples give no family', input: '# HELP foo x\n# TYPE foo counter\n', want: [] },
  { name: '#HELP without a space', input: '#HELP foo x\nfoo 1\n', want: [fam('foo', 'untyped', [val({}, 1)], 'x')] },
  {
    name: 'tabs in HELP and TYPE lines',
    input: '#\tTYPE\tfoo\tgauge\n#\t HELP \tfoo\t h\nfoo\t1\n',
    want: [fam('foo', 'gauge', [val({}, 1)], 'h')],
  },
  { name: 'lower-case help is a plain comment', input: '# help foo x\n# type foo counter\nfoo 1\n', want: fooIs(1) },
  { name: 'keywords without a name', input: '# HELP\n# TYPE\n# HELP \n# TYPE \t\nfoo 1\n', want: fooIs(1) },
  { name: 'plain comments', input: '# some comment here\n#\n# \n  # indented\n##\nfoo 1\n', want: fooIs(1) },
  { name: 'HELP with a bad metric name', input: '# HELP foo-bar x\n', error: E(1, 'invalid metric name in comment') },
  { name: 'TYPE with a digit first', input: '# TYPE 1foo counter\n', error: E(1, 'invalid metric name in comment') },
  { name: 'HELP with labels', input: '# HELP foo{a="b"} x\n', error: E(1, 'invalid metric name in comment') },
  {
    name: 'all types, any case',
    input:
      '# TYPE c COUNTER\nc 1\n# TYPE g Gauge\ng 2\n# TYPE u untyped\nu 3\n# TYPE s SUMMARY\ns_sum 4\n# TYPE h histogram\nh_sum 5\n',
    want: [
      fam('c', 'counter', [val({}, 1)]),
      fam('g', 'gauge', [val({}, 2)]),
      fam('u', 'untyped', [val({}, 3)]),
      fam('s', 'summary', [summary({}, 0, 4)]),
      fam('h', 'histogram', [histogram({}, 0, 5)]),
    ],
  },
  {
    name: 'gauge_histogram: metrics keep labels and timestamp but no value',
    input: '# TYPE foo gauge_histogram\nfoo{le="1"} 5\nfoo_count 3 7\n',
    want: [fam('foo', 'gaugehistogram', [{ labels: L({ le: '1' }) }]), fam('foo_count', 'untyped', [val({}, 3, 7)])],
  },
  {
    name: 'gauge_histogram value must still be a float',
    input: '# TYPE foo GAUGE_HISTOGRAM\nfoo x\n',
    error: E(2, 'expected float as value, got "x"'),
  },
  { name: 'unknown metric type', input: '# TYPE foo info\n', error: E(1, 'unknown metric type "info"') },
  {
    name: 'metric type with trailing blank',
    input: '# TYPE foo counter \n',
    error: E(1, 'unknown metric type "counter "'),
  },
  {
    name: 'backslashes in the TYPE line are dropped',
    input: '# TYPE foo coun\\ter\\\nfoo 1\n',
    want: [fam('foo', 'counter', [val({}, 1)])],
  },
  {
    name: 'unknown type is quoted without backslashes',
    input: '# TYPE foo a\\b\n',
    error: E(1, 'unknown metric type "ab"'),
  },
  {
    name: 'Go upper-cases the long s to S',
    input: '# TYPE foo ſummary\nfoo_count 1\n',
    want: [fam('foo', 'summary', [summary({}, 1, 0)])],
  },
  { name: 'non-ASCII unknown type', input: '# TYPE foo zähler\n', error: E(1, 'unknown metric type "zähler"') },
  {
    name: 'second TYPE line',
    input: '# TYPE foo counter\n# TYPE foo counter\nfoo 1\n',
    error: E(2, 'second TYPE line for metric name "foo", or TYPE reported after samples'),
  },
  {
    name: 'second TYPE line wins over unknown type',
    input: '# TYPE foo counter\n# TYPE foo bogus\n',
    error: E(2, 'second TYPE line for metric name "foo", or TYPE reported after samples'),
  },
  {
    name: 'TYPE after samples',
    input: 'foo 1\n# TYPE foo gauge\n',
    error: E(2, 'second TYPE line for metric name "foo", or TYPE reported after samples'),
  },
  {
    name: 'TYPE line without type sets nothing',
    input: '# TYPE foo\n# TYPE foo  \n# TYPE foo gauge\nfoo 1\n',
    want: [fam('foo', 'gauge', [val({}, 1)])],
  },
  {
    name: 'TYPE of x_count after TYPE x summary addresses x',
    input: '# TYPE x summary\n# TYPE x_count counter\n',
    error: E(2, 'second TYPE line for metric name "x", or TYPE reported after samples'),
  },
  {
    name: 'HELP of x_sum after TYPE x summary is the help of x',
    input: '# TYPE x summary\n# HELP x_sum about x\nx_sum 1\n',
    want: [fam('x', 'summary', [summary({}, 0, 1)], 'about x')],
  },
  {
    name: 'HELP of x_count after HELP of summary x',
    input: '# TYPE x summary\n# HELP x a\n# HELP x_count b\n',
    error: E(3, 'second HELP line for metric name "x"'),
  },
  {
    name: 'x_count named before TYPE x summary stays its own family',
    input: '# HELP x_count cnt\n# TYPE x summary\nx_count 3\nx_sum 1\n',
    want: [fam('x_count', 'untyped', [val({}, 3)], 'cnt'), fam('x', 'summary', [summary({}, 0, 1)])],
  },
  {
    name: 'foo_total is not folded into counter foo',
    input: '# TYPE foo counter\nfoo_total 1\n',
    want: [fam('foo_total', 'untyped', [val({}, 1)])],
  },

  // --- Family order -------------------------------------------------------------------------------
  {
    name: 'families in order of first appearance, samples in input order',
    input: 'a 1\nb 2\na 3\n',
    want: [fam('a', 'untyped', [val({}, 1), val({}, 3)]), fam('b', 'untyped', [val({}, 2)])],
  },
  {
    name: 'a HELP line with text names the family first',
    input: '# HELP b x\na 1\nb 2\n',
    want: [fam('b', 'untyped', [val({}, 2)], 'x'), fam('a', 'untyped', [val({}, 1)])],
  },
  {
    name: 'a TYPE line with a blank after the name names the family first',
    input: '# TYPE b \na 1\nb 2\n',
    want: [fam('b', 'untyped', [val({}, 2)]), fam('a', 'untyped', [val({}, 1)])],
  },
  {
    name: 'a HELP line ending at the name does not',
    input: '# HELP b\na 1\nb 2\n',
    want: [fam('a', 'untyped', [val({}, 1)]), fam('b', 'untyped', [val({}, 2)])],
  },

  // --- Metric names and values -------------------------------------------------------------------
  {
    name: 'metric names with colons and underscores',
    input: 'a:b_c 1\n:x 2\n_y9 3\n',
    want: [
      fam('a:b_c', 'untyped', [val({}, 1)]),
      fam(':x', 'untyped', [val({}, 2)]),
      fam('_y9', 'untyped', [val({}, 3)]),
    ],
  },
  { name: 'metric name starting with a digit', input: '1foo 1\n', error: E(1, 'invalid metric name') },
  { name: 'sample without metric name', input: '{a="b"} 1\n', error: E(1, 'invalid metric name') },
  { name: 'non-ASCII metric name start', input: 'été 1\n', error: E(1, 'invalid metric name') },
  { name: 'value glued to the name: foo.5', input: 'foo.5\n', want: fooIs(0.5) },
  { name: 'value glued to the name: foo-1', input: 'foo-1\n', want: fooIs(-1) },
  { name: 'value glued to the name: foo+Inf', input: 'foo+Inf\n', want: fooIs(Infinity) },
  {
    name: 'non-ASCII after the name starts the value',
    input: 'fooé 1\n',
    error: E(1, 'expected float as value, got "é"'),
  },
  { name: 'missing value', input: 'foo\n', error: E(1, 'expected float as value, got ""') },
  { name: 'missing value after blank', input: 'foo \n', error: E(1, 'expected float as value, got ""') },
  { name: 'missing value after labels', input: 'foo{a="b"}\n', error: E(1, 'expected float as value, got ""') },
  {
    name: 'value after labels without blank',
    input: 'foo{a="b"}1\n',
    want: [fam('foo', 'untyped', [val({ a: 'b' }, 1)])],
  },
  goodValue('1', 1),
  goodValue('-1', -1),
  goodValue('+1', 1),
  goodValue('1.5', 1.5),
  goodValue('.5', 0.5),
  goodValue('5.', 5),
  goodValue('-.5e1', -5),
  goodValue('1e3', 1000),
  goodValue('1E3', 1000),
  goodValue('1e+3', 1000),
  goodValue('1.5e-3', 0.0015),
  goodValue('5.e2', 500),
  goodValue('007', 7),
  goodValue('-0', -0),
  goodValue('0.0', 0),
  goodValue('NaN', NaN),
  goodValue('nan', NaN),
  goodValue('nAN', NaN),
  goodValue('Inf', Infinity),
  goodValue('+Inf', Infinity),
  goodValue('-Inf', -Infinity),
  goodValue('inf', Infinity),
  goodValue('-INFINITY', -Infinity),
  goodValue('+InFiNiTy', Infinity),
  goodValue('1e-400', 0),
  goodValue('-1e-400', -0),
  goodValue('4.9e-324', 5e-324),
  goodValue('1.7976931348623157e308', 1.7976931348623157e308),
  goodValue('123456789012345678901234567890', 1.2345678901234568e29),
  goodValue('0.1000000000000000055511151231257827021181583404541015625', 0.1),
  badValue('abc', '"abc"'),
  badValue('1e400', '"1e400"'),
  badValue('-1e309', '"-1e309"'),
  badValue('0x10', '"0x10"'),
  badValue('0x1p3', '"0x1p3"'),
  badValue('1_000', '"1_000"'),
  badValue('1e', '"1e"'),
  badValue('1e+', '"1e+"'),
  badValue('.', '"."'),
  badValue('-', '"-"'),
  badValue('++1', '"++1"'),
  badValue('1.2.3', '"1.2.3"'),
  badValue('+nan', '"+nan"'),
  badValue('-NaN', '"-NaN"'),
  badValue('infin', '"infin"'),
  badValue('infinityy', '"infinityy"'),
  badValue('Infx', '"Infx"'),
  badValue('1,5', '"1,5"'),
  badValue('0b1', '"0b1"'),
  badValue('Infinity!', '"Infinity!"'),
  badValue('"1"', '"\\"1\\""'),
  badValue('\\', '"\\\\"'),
  badValue('\x01\x7f', '"\\x01\\x7f"'),
  badValue('1\u00a0', '"1\\u00a0"'),
  badValue('\u200b', '"\\u200b"'),
  badValue('😀', '"😀"'),
  badValue("1'", `"1'"`),

  // --- Timestamps ---------------------------------------------------------------------------------
  { name: 'timestamp', input: 'foo 1 1234567890123\n', want: [fam('foo', 'untyped', [val({}, 1, 1234567890123)])] },
  { name: 'timestamp after tabs', input: 'foo\t1\t\t-5\n', want: [fam('foo', 'untyped', [val({}, 1, -5)])] },
  { name: 'timestamp +0', input: 'foo 1 +0\n', want: [fam('foo', 'untyped', [val({}, 1, 0)])] },
  { name: 'timestamp -0 is 0', input: 'foo 1 -0\n', want: [fam('foo', 'untyped', [val({}, 1, 0)])] },
  {
    name: 'timestamp int64 max',
    input: 'foo 1 9223372036854775807\n',
    want: [fam('foo', 'untyped', [val({}, 1, 2 ** 63)])], // 2^63 - 1 as the nearest double
  },
  {
    name: 'timestamp int64 min',
    input: 'foo 1 -9223372036854775808\n',
    want: [fam('foo', 'untyped', [val({}, 1, -9223372036854775808)])],
  },
  {
    name: 'timestamp beyond int64',
    input: 'foo 1 9223372036854775808\n',
    error: E(1, 'expected integer as timestamp, got "9223372036854775808"'),
  },
  { name: 'timestamp as float', input: 'foo 1 1.5\n', error: E(1, 'expected integer as timestamp, got "1.5"') },
  { name: 'timestamp with exponent', input: 'foo 1 1e3\n', error: E(1, 'expected integer as timestamp, got "1e3"') },
  { name: 'timestamp in hex', input: 'foo 1 0x10\n', error: E(1, 'expected integer as timestamp, got "0x10"') },
  {
    name: 'timestamp with underscore',
    input: 'foo 1 1_000\n',
    error: E(1, 'expected integer as timestamp, got "1_000"'),
  },
  { name: 'timestamp sign only', input: 'foo 1 -\n', error: E(1, 'expected integer as timestamp, got "-"') },
  { name: 'blank after the value', input: 'foo 1 \n', error: E(1, 'expected integer as timestamp, got ""') },
  { name: 'tab after the value', input: 'foo 1\t\n', error: E(1, 'expected integer as timestamp, got ""') },
  { name: 'blank after the timestamp', input: 'foo 1 2 \n', error: E(1, 'spurious string after timestamp: " "') },
  { name: 'third field', input: 'foo 1 2 3\n', error: E(1, 'spurious string after timestamp: " 3"') },
  {
    name: 'backslashes after the timestamp are dropped',
    input: 'foo 1 2 a\\b\n',
    error: E(1, 'spurious string after timestamp: " ab"'),
  },
  { name: 'bad value wins over bad timestamp', input: 'foo x y\n', error: E(1, 'expected float as value, got "x"') },

  // --- Labels -------------------------------------------------------------------------------------
  {
    name: 'labels keep their order',
    input: 'foo{b="1",a="2",c="3"} 1\n',
    want: [fam('foo', 'untyped', [val({ b: '1', a: '2', c: '3' }, 1)])],
  },
  { name: 'empty label set', input: 'foo{} 1\n', want: fooIs(1) },
  { name: 'empty label set with blanks', input: 'foo { \t } 1\n', want: fooIs(1) },
  { name: 'trailing comma', input: 'foo{a="1",} 1\n', want: [fam('foo', 'untyped', [val({ a: '1' }, 1)])] },
  {
    name: 'blanks and tabs everywhere in the label set',
    input: 'foo \t{ a = "1" ,\tb\t=\t"2"\t,\t}\t1\t2\n',
    want: [fam('foo', 'untyped', [val({ a: '1', b: '2' }, 1, 2)])],
  },
  { name: 'empty label value', input: 'foo{a=""} 1\n', want: [fam('foo', 'untyped', [val({ a: '' }, 1)])] },
  {
    name: 'label value escapes \\\\ \\" \\n',
    input: 'foo{a="x\\\\y",b="q\\"r",c="l\\nm",d="\\\\n"} 1\n',
    want: [fam('foo', 'untyped', [val({ a: 'x\\y', b: 'q"r', c: 'l\nm', d: '\\n' }, 1)])],
  },
  {
    name: 'label value with special chars and Unicode',
    input: 'foo{a="{},= #\'\t",b="äß€😀"} 1\n',
    want: [fam('foo', 'untyped', [val({ a: "{},= #'\t", b: 'äß€😀' }, 1)])],
  },
  { name: 'label value escape \\t', input: 'foo{a="\\t"} 1\n', error: E(1, "invalid escape sequence '\\t'") },
  { name: "label value escape \\'", input: 'foo{a="\\\'"} 1\n', error: E(1, "invalid escape sequence '\\''") },
  {
    name: 'label value escape of a newline',
    input: 'foo{a="\\\n"} 1\n',
    error: E(1, "invalid escape sequence '\\\n'"),
  },
  {
    name: 'label value escape of a non-ASCII char',
    input: 'foo{a="\\€"} 1\n',
    error: E(1, "invalid escape sequence '\\â'"),
  },
  {
    name: 'unescaped newline in label value',
    input: 'foo 1\nfoo{a="x\ny"} 1\n',
    error: E(2, 'label value "x" contains unescaped new-line'),
  },
  {
    name: 'unescaped newline after escapes',
    input: 'foo{a="a\\"b\\\\\nc"} 1\n',
    error: E(1, 'label value "a\\"b\\\\" contains unescaped new-line'),
  },
  { name: 'empty label name', input: 'foo{="b"} 1\n', error: E(1, 'invalid label name for metric "foo"') },
  {
    name: 'label name starting with a digit',
    input: 'foo{1a="b"} 1\n',
    error: E(1, 'invalid label name for metric "foo"'),
  },
  { name: 'double comma', input: 'foo{a="1",,} 1\n', error: E(1, 'invalid label name for metric "foo"') },
  { name: 'label set cut by a newline', input: 'foo{\n', error: E(1, 'invalid label name for metric "foo"') },
  { name: 'colon in label name', input: 'foo{a:b="c"} 1\n', error: E(1, "expected '=' after label name, found ':'") },
  { name: 'missing =', input: 'foo{a "b"} 1\n', error: E(1, `expected '=' after label name, found '"'`) },
  { name: 'label name only', input: 'foo{a} 1\n', error: E(1, "expected '=' after label name, found '}'") },
  { name: 'newline after label name', input: 'foo{a\n', error: E(1, "expected '=' after label name, found '\\n'") },
  {
    name: 'quote after label name',
    input: 'foo{a\'="1"} 1\n',
    error: E(1, "expected '=' after label name, found '\\''"),
  },
  {
    name: 'backslash after label name',
    input: 'foo{a\\="1"} 1\n',
    error: E(1, "expected '=' after label name, found '\\\\'"),
  },
  {
    name: 'non-ASCII in label name',
    input: 'foo{a€="1"} 1\n',
    error: E(1, "expected '=' after label name, found 'â'"),
  },
  {
    name: 'U+0085 in label name',
    input: 'foo{a\u0085="1"} 1\n',
    error: E(1, "expected '=' after label name, found 'Â'"),
  },
  { name: '__name__ is reserved', input: 'foo{__name__="bar"} 1\n', error: E(1, 'label name "__name__" is reserved') },
  {
    name: 'other __ label names pass the parser',
    input: 'foo{__x="1"} 1\n',
    want: [fam('foo', 'untyped', [val({ __x: '1' }, 1)])],
  },
  {
    name: 'duplicate label name',
    input: 'foo{a="1",a="2"} 1\n',
    error: E(1, 'duplicate label names for metric "foo"'),
  },
  {
    name: 'duplicate label name, not adjacent',
    input: 'foo{a="1",b="2",a="1"} 1\n',
    error: E(1, 'duplicate label names for metric "foo"'),
  },
  {
    name: 'missing = wins over duplicate',
    input: 'foo{a="1",a} 1\n',
    error: E(1, "expected '=' after label name, found '}'"),
  },
  {
    name: 'unquoted label value',
    input: 'foo{a=b} 1\n',
    error: E(1, `expected '"' at start of label value, found 'b'`),
  },
  {
    name: 'non-ASCII unquoted label value',
    input: 'foo{a=€} 1\n',
    error: E(1, `expected '"' at start of label value, found 'â'`),
  },
  { name: 'missing comma', input: 'foo{a="1" b="2"} 1\n', error: E(1, 'unexpected end of label value "1"') },
  { name: 'label set cut after a value', input: 'foo{a="1"\n', error: E(1, 'unexpected end of label value "1"') },
  {
    name: 'unexpected end of label value quotes escapes',
    input: 'foo{a="x\\ny\\"" 1\n',
    error: E(1, 'unexpected end of label value "x\\ny\\""'),
  },
  {
    name: 'lone surrogate in a label value is invalid UTF-8',
    input: 'foo{a="x\ud800"} 1\n',
    error: E(1, 'invalid label value "x\\xed\\xa0\\x80"'),
  },
  {
    name: 'the same series twice is kept twice',
    input: 'foo{a="1"} 1\nfoo{a="1"} 2\n',
    want: [fam('foo', 'untyped', [val({ a: '1' }, 1), val({ a: '1' }, 2)])],
  },
  {
    name: 'quantile and le are plain labels outside summaries and histograms',
    input: '# TYPE g gauge\ng{quantile="x",le="y"} 1\n',
    want: [fam('g', 'gauge', [val({ quantile: 'x', le: 'y' }, 1)])],
  },

  // --- Raw bytes (parseTextBytes) -----------------------------------------------------------------
  {
    name: 'bytes: invalid UTF-8 in a label value',
    input: B('foo{a="\xff"} 1\n'),
    error: E(1, 'invalid label value "\\xff"'),
  },
  {
    name: 'bytes: truncated UTF-8 in a label value',
    input: B('foo{a="a\xc3"} 1\n'),
    error: E(1, 'invalid label value "a\\xc3"'),
  },
  {
    name: 'bytes: UTF-8 encoded surrogate in a label value',
    input: B('foo{a="\xed\xa0\x80"} 1\n'),
    error: E(1, 'invalid label value "\\xed\\xa0\\x80"'),
  },
  {
    name: 'bytes: overlong UTF-8 in a label value',
    input: B('foo 1\nfoo{a="\xc0\xaf\xe2\x82\xac"} 1\n'),
    error: E(2, 'invalid label value "\\xc0\\xaf€"'),
  },
  {
    name: 'bytes: valid UTF-8 label value is decoded',
    input: B('foo{a="\xc3\xa4\xef\xbf\xbd"} 1\n'),
    want: [fam('foo', 'untyped', [val({ a: 'ä\ufffd' }, 1)])],
  },
  {
    name: 'bytes: invalid UTF-8 in HELP is kept as the raw byte (a lone surrogate)',
    input: B('# HELP foo a\xffb\nfoo 1\n'),
    want: [fam('foo', 'untyped', [val({}, 1)], 'a\udcffb')],
  },
  { name: 'bytes: invalid UTF-8 in a comment is ignored', input: B('# zz \xff\nfoo 1\n'), want: fooIs(1) },
  {
    name: 'bytes: invalid UTF-8 in the value',
    input: B('foo 1\xff\n'),
    error: E(1, 'expected float as value, got "1\\xff"'),
  },
  {
    name: 'bytes: invalid UTF-8 in the type',
    input: B('# TYPE foo \xff\n'),
    error: E(1, 'unknown metric type "\\xff"'),
  },
  {
    name: 'bytes: invalid UTF-8 in the timestamp',
    input: B('foo 1 \xff\n'),
    error: E(1, 'expected integer as timestamp, got "\\xff"'),
  },
  {
    name: 'bytes: 0xff after a label name',
    input: B('foo{a\xff="1"} 1\n'),
    error: E(1, "expected '=' after label name, found 'ÿ'"),
  },
  {
    name: 'bytes: 0x80 after a label name',
    input: B('foo{a\x80="1"} 1\n'),
    error: E(1, "expected '=' after label name, found '\\u0080'"),
  },
  {
    name: 'bytes: 0xa0 after a label name',
    input: B('foo{a\xa0="1"} 1\n'),
    error: E(1, "expected '=' after label name, found '\\u00a0'"),
  },
  {
    name: 'bytes: 0xad after a label name',
    input: B('foo{a\xad="1"} 1\n'),
    error: E(1, "expected '=' after label name, found '\\u00ad'"),
  },
  { name: 'bytes: escape of 0xff', input: B('foo{a="\\\xff"} 1\n'), error: E(1, "invalid escape sequence '\\ÿ'") },
  { name: 'bytes: 0xff as metric name', input: B('\xff 1\n'), error: E(1, 'invalid metric name') },
  {
    name: 'bytes: invalid UTF-8 before an unescaped newline',
    input: B('foo{a="\xfe\n"} 1\n'),
    error: E(1, 'label value "\\xfe" contains unescaped new-line'),
  },

  // --- Summaries --------------------------------------------------------------------------------
  {
    name: 'summary',
    input:
      '# HELP s A summary.\n# TYPE s summary\ns{quantile="0.5"} 1\ns{quantile="0.9"} 2\ns{quantile="0.99"} 3\ns_sum 10\ns_count 4\n',
    want: [
      fam(
        's',
        'summary',
        [
          summary({}, 4, 10, [
            [0.5, 1],
            [0.9, 2],
            [0.99, 3],
          ]),
        ],
        'A summary.',
      ),
    ],
  },
  {
    name: 'summary lines grouped by labels, interleaved',
    input:
      '# TYPE s summary\ns{a="1",quantile="0.5"} 1\ns{a="2",quantile="0.5"} 2\ns_sum{a="1"} 3\ns_count{a="2"} 4\ns{quantile="0.9",a="1"} 5\n',
    want: [
      fam('s', 'summary', [
        summary({ a: '1' }, 0, 3, [
          [0.5, 1],
          [0.9, 5],
        ]),
        summary({ a: '2' }, 4, 0, [[0.5, 2]]),
      ]),
    ],
  },
  {
    name: 'summary grouping ignores label order; the first line fixes it',
    input: '# TYPE s summary\ns{b="2",a="1",quantile="0.5"} 1\ns_sum{a="1",b="2"} 3\n',
    want: [fam('s', 'summary', [summary({ b: '2', a: '1' }, 0, 3, [[0.5, 1]])])],
  },
  {
    name: 'summary grouping tells values apart',
    input: '# TYPE s summary\ns_sum{a="1:x,b=",b=""} 1\ns_sum{a="1:x",b=",b="} 2\n',
    want: [fam('s', 'summary', [summary({ a: '1:x,b=', b: '' }, 0, 1), summary({ a: '1:x', b: ',b=' }, 0, 2)])],
  },
  {
    name: 'quantile label in the middle is left out of the labels',
    input: '# TYPE s summary\ns{a="1",quantile="0.5",b="2"} 7\n',
    want: [fam('s', 'summary', [summary({ a: '1', b: '2' }, 0, 0, [[0.5, 7]])])],
  },
  {
    name: 'x_count and x_sum without TYPE are their own families',
    input: 'x_count 1\nx_sum 2\nx 3\n',
    want: [
      fam('x_count', 'untyped', [val({}, 1)]),
      fam('x_sum', 'untyped', [val({}, 2)]),
      fam('x', 'untyped', [val({}, 3)]),
    ],
  },
  {
    name: 'x_count of a summary declared with TYPE',
    input: '# TYPE x summary\nx_count 2\n',
    want: [fam('x', 'summary', [summary({}, 2, 0)])],
  },
  {
    name: 'x_bucket of a summary is its own family',
    input: '# TYPE x summary\nx_bucket{le="1"} 2\n',
    want: [fam('x_bucket', 'untyped', [val({ le: '1' }, 2)])],
  },
  {
    name: 'summary line without quantile',
    input: '# TYPE s summary\ns{a="b"} 5\n',
    want: [fam('s', 'summary', [summary({ a: 'b' }, 0, 0)])],
  },
  {
    name: 'quantile NaN is ignored',
    input: '# TYPE s summary\ns{quantile="NaN"} 5\ns{quantile="-Inf"} 6\n',
    want: [fam('s', 'summary', [summary({}, 0, 0, [[-Infinity, 6]])])],
  },
  {
    name: 'quantile that is no float',
    input: '# TYPE s summary\ns{quantile="x"} 1\n',
    error: E(2, `expected float as value for 'quantile' label, got "x"`),
  },
  {
    name: 'quantile with an escaped newline',
    input: '# TYPE s summary\ns{quantile="0.5\\n"} 1\n',
    error: E(2, `expected float as value for 'quantile' label, got "0.5\\n"`),
  },
  {
    name: 'second quantile label wins',
    input: '# TYPE s summary\ns{quantile="0.1",quantile="0.2"} 1\n',
    want: [fam('s', 'summary', [summary({}, 0, 0, [[0.2, 1]])])],
  },
  {
    name: 'le is a grouping label in a summary',
    input: '# TYPE s summary\ns{le="1",quantile="0.5"} 1\ns{le="2",quantile="0.5"} 2\n',
    want: [fam('s', 'summary', [summary({ le: '1' }, 0, 0, [[0.5, 1]]), summary({ le: '2' }, 0, 0, [[0.5, 2]])])],
  },
  {
    name: 'summary _count with a quantile label',
    input: '# TYPE s summary\ns_count{quantile="0.5"} 7\n',
    want: [fam('s', 'summary', [summary({}, 7, 0)])],
  },
  {
    name: 'repeated lines: sum and count overwrite, quantiles append',
    input: '# TYPE s summary\ns_sum 1\ns_sum 2\ns_count 3\ns_count 4\ns{quantile="0.5"} 5\ns{quantile="0.5"} 6\n',
    want: [
      fam('s', 'summary', [
        summary({}, 4, 2, [
          [0.5, 5],
          [0.5, 6],
        ]),
      ]),
    ],
  },
  {
    name: 'summary sum keeps NaN and -Inf',
    input: '# TYPE s summary\ns_sum{a="1"} NaN\ns_sum{a="2"} -Inf\n',
    want: [fam('s', 'summary', [summary({ a: '1' }, 0, NaN), summary({ a: '2' }, 0, -Infinity)])],
  },
  {
    name: 'summary timestamps: the last one given wins',
    input: '# TYPE s summary\ns{quantile="0.5"} 1 100\ns_sum 2 200\ns_count 3\n',
    want: [fam('s', 'summary', [summary({}, 3, 2, [[0.5, 1]], 200)])],
  },
  {
    name: 'sample counts convert like Go uint64(float64) on amd64',
    input:
      '# TYPE s summary\n' +
      's_count{c="1.5"} 1.5\ns_count{c="-0.5"} -0.5\ns_count{c="-1"} -1\ns_count{c="NaN"} NaN\n' +
      's_count{c="+Inf"} +Inf\ns_count{c="-Inf"} -Inf\ns_count{c="1e19"} 1e19\ns_count{c="1e20"} 1e20\n' +
      's_count{c="-1e19"} -1e19\ns_count{c="2^53+1"} 9007199254740993\n',
    want: [
      fam('s', 'summary', [
        summary({ c: '1.5' }, 1, 0),
        summary({ c: '-0.5' }, 0, 0),
        summary({ c: '-1' }, TWO64, 0),
        summary({ c: 'NaN' }, TWO63, 0),
        summary({ c: '+Inf' }, TWO63, 0),
        summary({ c: '-Inf' }, TWO63, 0),
        summary({ c: '1e19' }, 1e19, 0),
        summary({ c: '1e20' }, TWO63, 0),
        summary({ c: '-1e19' }, TWO63, 0),
        summary({ c: '2^53+1' }, 9007199254740992, 0),
      ]),
    ],
  },
  {
    name: 'invalid label name in x_count names the summary',
    input: '# TYPE x summary\nx_count{1="a"} 1\n',
    error: E(2, 'invalid label name for metric "x"'),
  },
  {
    name: 'duplicate label in x_sum names the summary',
    input: '# TYPE x summary\nx_sum{a="1",a="1"} 1\n',
    error: E(2, 'duplicate label names for metric "x"'),
  },

  // --- Histograms -------------------------------------------------------------------------------
  {
    name: 'histogram',
    input:
      '# HELP h A histogram.\n# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 3\nh_sum 4.5\nh_count 3\n',
    want: [
      fam(
        'h',
        'histogram',
        [
          histogram({}, 3, 4.5, [
            [0.1, 1],
            [1, 2],
            [Infinity, 3],
          ]),
        ],
        'A histogram.',
      ),
    ],
  },
  {
    name: 'histogram bucket on the base name',
    input: '# TYPE h histogram\nh{le="1"} 1\n',
    want: [fam('h', 'histogram', [histogram({}, 0, 0, [[1, 1]])])],
  },
  {
    name: 'le that is no float',
    input: '# TYPE h histogram\nh_bucket{le="x"} 1\n',
    error: E(2, `expected float as value for 'le' label, got "x"`),
  },
  {
    name: 'le 0x1p3 is no float for the parser',
    input: '# TYPE h histogram\nh_bucket{le="0x1p3"} 1\n',
    error: E(2, `expected float as value for 'le' label, got "0x1p3"`),
  },
  {
    name: 'le NaN is ignored, bucket without le too',
    input: '# TYPE h histogram\nh_bucket{le="NaN"} 1\nh_bucket 2\n',
    want: [fam('h', 'histogram', [histogram({}, 0, 0)])],
  },
  {
    name: 'bucket counts convert like uint64',
    input: '# TYPE h histogram\nh_bucket{le="1"} -1\nh_bucket{le="2"} 2.7\nh_count 1e20\n',
    want: [
      fam('h', 'histogram', [
        histogram({}, TWO63, 0, [
          [1, TWO64],
          [2, 2],
        ]),
      ]),
    ],
  },
  {
    name: 'histogram lines grouped by labels, quantile being one of them',
    input:
      '# TYPE h histogram\nh_bucket{x="a",le="1"} 1\nh_bucket{quantile="q",le="1"} 5\nh_sum{x="a"} 2\nh_count{quantile="q"} 6\nh_count{x="a"} 3\n',
    want: [
      fam('h', 'histogram', [histogram({ x: 'a' }, 3, 2, [[1, 1]]), histogram({ quantile: 'q' }, 6, 0, [[1, 5]])]),
    ],
  },
  {
    name: 'histogram _count with an le label',
    input: '# TYPE h histogram\nh_count{le="1"} 5\n',
    want: [fam('h', 'histogram', [histogram({}, 5, 0)])],
  },
  {
    name: 'h_bucket without TYPE is an untyped family',
    input: 'h_bucket{le="1"} 1\nh_count 1\n',
    want: [fam('h_bucket', 'untyped', [val({ le: '1' }, 1)]), fam('h_count', 'untyped', [val({}, 1)])],
  },
  {
    name: 'client_golang style exposition',
    input: [
      '# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.',
      '# TYPE go_gc_duration_seconds summary',
      'go_gc_duration_seconds{quantile="0"} 4.9351e-05',
      'go_gc_duration_seconds{quantile="1"} 0.000168034',
      'go_gc_duration_seconds_sum 0.002154433',
      'go_gc_duration_seconds_count 21',
      '# HELP http_requests_total Total requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027',
      'http_requests_total{method="post",code="400"}    3',
      '# HELP req_seconds Latency.',
      '# TYPE req_seconds histogram',
      'req_seconds_bucket{le="0.05"} 24054',
      'req_seconds_bucket{le="+Inf"} 144320',
      'req_seconds_sum 53423',
      'req_seconds_count 144320',
      '',
    ].join('\n'),
    want: [
      fam(
        'go_gc_duration_seconds',
        'summary',
        [
          summary({}, 21, 0.002154433, [
            [0, 4.9351e-5],
            [1, 0.000168034],
          ]),
        ],
        'A summary of the pause duration of garbage collection cycles.',
      ),
      fam(
        'http_requests_total',
        'counter',
        [val({ method: 'post', code: '200' }, 1027), val({ method: 'post', code: '400' }, 3)],
        'Total requests.',
      ),
      fam(
        'req_seconds',
        'histogram',
        [
          histogram({}, 144320, 53423, [
            [0.05, 24054],
            [Infinity, 144320],
          ]),
        ],
        'Latency.',
      ),
    ],
  },
];

// --- Running the table ------------------------------------------------------------------------

function check(c: Case, parse: () => MetricFamily[]): void {
  if (c.error !== undefined) {
    let caught: unknown;
    try {
      parse();
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof TextParseError, `expected a TextParseError, got ${String(caught)}`);
    assert.equal(caught.message, c.error);
  } else {
    assert.deepStrictEqual(parse(), c.want);
  }
}

const wellFormed = (s: string): boolean =>
  !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

for (const c of cases) {
  test(c.name, () => {
    assert.ok((c.error === undefined) !== (c.want === undefined), 'a case needs want or error');
    const input = c.input;
    if (typeof input === 'string') {
      check(c, () => parseText(input));
      if (wellFormed(input)) check(c, () => parseTextBytes(Buffer.from(input, 'utf8')));
    } else {
      check(c, () => parseTextBytes(input));
    }
  });
}

test('case names are unique', () => {
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
});

test('TextParseError carries line and message', () => {
  try {
    parseText('a 1\nb 2\nc abc\n');
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof TextParseError);
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'TextParseError');
    assert.equal(e.line, 3);
    assert.equal(e.msg, 'expected float as value, got "abc"');
    assert.equal(e.message, 'text format parsing error in line 3: expected float as value, got "abc"');
  }
});

test('parseTextBytes honours the view of a larger buffer', () => {
  const whole = Buffer.from('xxfoo 1\nyy', 'latin1');
  assert.deepStrictEqual(parseTextBytes(whole.subarray(2, 8)), fooIs(1));
});

test('helpers: parseGoInt64, goFloatToUint64', () => {
  assert.equal(parseGoInt64(''), undefined);
  assert.equal(parseGoInt64('+'), undefined);
  assert.equal(parseGoInt64('-9223372036854775809'), undefined);
  assert.equal(parseGoInt64('000000000000000000000000001'), 1);
  assert.equal(goFloatToUint64(-(2 ** 63)), TWO63);
  assert.equal(goFloatToUint64(2 ** 63), TWO63);
  assert.equal(goFloatToUint64(2 ** 64), TWO63);
  assert.ok(Object.is(goFloatToUint64(-0), 0));
});

test('a large body parses in linear time', () => {
  const lines: string[] = ['# TYPE big gauge'];
  for (let k = 0; k < 20000; k++) lines.push(`big{instance="host-${k}",path="/a/b/${k}"} ${k}.5 ${k}`);
  const fams = parseText(lines.join('\n') + '\n');
  assert.equal(fams.length, 1);
  assert.equal(fams[0].metrics.length, 20000);
  assert.deepStrictEqual(fams[0].metrics[19999], val({ instance: 'host-19999', path: '/a/b/19999' }, 19999.5, 19999));
});

// --- UTF-8 names (--push.enable-utf8-names) ---------------------------------------------------
// The quoted-name syntax as the parser of Pushgateway 1.11 reads it (expfmt.TextParser of
// prometheus/common 0.6x with model.UTF8Validation). Cases marked "common" are the scenarios of
// common's own text_parse_test.go (5-11 and the errors 35-42, 47) with its messages.

const UTF8 = { utf8Names: true } as const;

const utf8Cases: Case[] = [
  {
    name: 'utf8: quoted metric name and quoted label name with dots (common 5)',
    input:
      '\n# HELP "my.noncompliant.metric" help text\n# TYPE "my.noncompliant.metric" counter\n{"my.noncompliant.metric","label.name"="value"} 1\n',
    want: [fam('my.noncompliant.metric', 'counter', [val({ 'label.name': 'value' }, 1)], 'help text')],
  },
  {
    name: 'utf8: dotted family with classic labels and a timestamp (common 6)',
    input: [
      '# HELP "name.with.dots" boring help',
      '# TYPE "name.with.dots" counter',
      '{"name.with.dots",labelname="val1",basename="basevalue"} 42.0',
      '{"name.with.dots",labelname="val2",basename="basevalue"} 0.23 1234567890',
      '',
    ].join('\n'),
    want: [
      fam(
        'name.with.dots',
        'counter',
        [
          val({ labelname: 'val1', basename: 'basevalue' }, 42),
          val({ labelname: 'val2', basename: 'basevalue' }, 0.23, 1234567890),
        ],
        'boring help',
      ),
    ],
  },
  {
    name: 'utf8: dotted family without labels, indented lines (common 7)',
    input:
      '\n\t\t\t\t# HELP "name.with.dots" boring help\n\t\t\t\t# TYPE "name.with.dots" counter\n\t\t\t\t{"name.with.dots"} 42.0\n\t\t\t\t{"name.with.dots"} 0.23 1234567890\n\t\t\t\t',
    want: [fam('name.with.dots', 'counter', [val({}, 42), val({}, 0.23, 1234567890)], 'boring help')],
  },
  {
    name: 'utf8: special characters in label values, \\" in HELP (common 8)',
    input: [
      '# HELP "gauge.name" gauge\\ndoc\\nstr\\"ing',
      '# TYPE "gauge.name" gauge',
      '{"gauge.name","name.1"="val with\\nnew line","name*2"="val with \\\\backslash and \\"quotes\\""} +Inf',
      '{"gauge.name","name.1"="Björn","name*2"="佖佥"} 3.14e+42',
      '',
    ].join('\n'),
    want: [
      fam(
        'gauge.name',
        'gauge',
        [
          val({ 'name.1': 'val with\nnew line', 'name*2': 'val with \\backslash and "quotes"' }, Infinity),
          val({ 'name.1': 'Björn', 'name*2': '佖佥' }, 3.14e42),
        ],
        'gauge\ndoc\nstr"ing',
      ),
    ],
  },
  {
    name: 'utf8: escaped quote, newline and backslash in names (common 9)',
    input:
      '\n# HELP "my\\"noncompliant\\nmetric\\\\" help text\n# TYPE "my\\"noncompliant\\nmetric\\\\" counter\n{"my\\"noncompliant\\nmetric\\\\","label\\"name\\n"="value"} 1\n',
    want: [fam('my"noncompliant\nmetric\\', 'counter', [val({ 'label"name\n': 'value' }, 1)], 'help text')],
  },
  {
    name: 'utf8: the metric name after a label inside the braces (common 10)',
    input:
      '\n# HELP "my.noncompliant.metric" help text\n# TYPE "my.noncompliant.metric" counter\n{labelname="value", "my.noncompliant.metric"} 1\n',
    want: [fam('my.noncompliant.metric', 'counter', [val({ labelname: 'value' }, 1)], 'help text')],
  },
  {
    name: 'utf8: several minimal quoted families (common 11)',
    input: '\n{"name.1"} 1\n{"name.2"} 1\n{"name.3"} 1\n',
    want: [
      fam('name.1', 'untyped', [val({}, 1)]),
      fam('name.2', 'untyped', [val({}, 1)]),
      fam('name.3', 'untyped', [val({}, 1)]),
    ],
  },
  {
    name: 'utf8: classic metric name with quoted label names',
    input: 'metric_name{"foo"="bar", "dotted.label"="bla"} 3.14\n',
    want: [fam('metric_name', 'untyped', [val({ foo: 'bar', 'dotted.label': 'bla' }, 3.14)])],
  },
  {
    name: 'utf8: a quoted name outside the braces, as Go reads it',
    input: '"my.metric" 1\n"my.metric"{"a.b"="c"} 2\n',
    want: [fam('my.metric', 'untyped', [val({}, 1), val({ 'a.b': 'c' }, 2)])],
  },
  {
    name: 'utf8: a quoted part continues an unquoted name, as Go reads it',
    input: 'foo"b.r" 1\n',
    want: [fam('foob.r', 'untyped', [val({}, 1)])],
  },
  {
    name: 'utf8: an unquoted name inside the braces, a trailing comma',
    input: '{foo} 1\n{foo,a="1",} 2\n{"a.b",} 3\n',
    want: [fam('foo', 'untyped', [val({}, 1), val({ a: '1' }, 2)]), fam('a.b', 'untyped', [val({}, 3)])],
  },
  {
    name: 'utf8: non-ASCII names',
    input: '# TYPE "é.ü" gauge\n{"é.ü","日本"="値"} 1\n{"😀"} 2\n',
    want: [fam('é.ü', 'gauge', [val({ 日本: '値' }, 1)]), fam('😀', 'untyped', [val({}, 2)])],
  },
  {
    name: 'utf8: summary with a quoted name, _sum and _count folded in, quantile before the name',
    input:
      '# TYPE "rpc.seconds" summary\n{"rpc.seconds",quantile="0.5"} 1\n{"rpc.seconds_sum"} 2\n{"rpc.seconds_count"} 3\n{quantile="0.9","rpc.seconds"} 4\n',
    want: [
      fam('rpc.seconds', 'summary', [
        summary({}, 3, 2, [
          [0.5, 1],
          [0.9, 4],
        ]),
      ]),
    ],
  },
  {
    name: 'utf8: histogram with a quoted name and label',
    input:
      '# TYPE "req.seconds" histogram\n{"req.seconds_bucket","a.b"="x",le="1"} 2\n{"req.seconds_bucket","a.b"="x",le="+Inf"} 3\n{"req.seconds_sum","a.b"="x"} 4\n{"req.seconds_count","a.b"="x"} 3\n',
    want: [
      fam('req.seconds', 'histogram', [
        histogram({ 'a.b': 'x' }, 3, 4, [
          [1, 2],
          [Infinity, 3],
        ]),
      ]),
    ],
  },
  {
    name: 'utf8: classic input parses as without the option',
    input: '# HELP foo h\n# TYPE foo counter\nfoo{a="1"} 2 3\n',
    want: [fam('foo', 'counter', [val({ a: '1' }, 2, 3)], 'h')],
  },
  {
    name: 'utf8: a HELP or TYPE line with only a quoted name is no error',
    input: '# HELP "a.b"\n# TYPE "\xff"\nfoo 1\n',
    want: fooIs(1),
  },
  {
    name: 'utf8 error: multiple quoted metric names (common 35)',
    input: '{"one.name","another.name"} 3.14\n',
    error: E(1, 'multiple metric names for metric "one.name"'),
  },
  {
    name: 'utf8 error: invalid escape in a quoted metric name (common 36)',
    input: '{"a\\xc5z",label="bla"} 3.14\n',
    error: E(1, "invalid escape sequence '\\x'"),
  },
  {
    name: 'utf8 error: unexpected end of quoted metric name (common 37)',
    input: '{"metric.name".label="bla"} 3.14\n',
    error: E(1, "unexpected end of metric name '.'"),
  },
  {
    name: 'utf8 error: invalid escape in a name in TYPE (common 38)',
    input: '\n# TYPE "metric.name\\t" counter\n{"metric.name\\t",label="bla"} 3.14\n',
    error: E(2, "invalid escape sequence '\\t'"),
  },
  {
    name: 'utf8 error: newline in a quoted metric name (common 39)',
    input: '\n# TYPE "metric\nname" counter\n{"metric\nname",label="bla"} 3.14\n',
    error: E(2, 'metric name "metric" contains unescaped new-line'),
  },
  {
    name: 'utf8 error: newline in a quoted label name (common 40)',
    input: '\n{"metric.name","new\nline"="bla"} 3.14\n',
    error: E(2, 'label name "new" contains unescaped new-line'),
  },
  { name: 'utf8 error: empty braces (common 47)', input: '{} 3.14\n', error: E(1, 'invalid metric name') },
  {
    name: 'utf8 error: braces without a metric name (common 18)',
    input: '{label="bla"} 3.14 2\n',
    error: E(1, 'invalid metric name'),
  },
  // Go attaches such a line to the metric of the line before (and counts it twice); here it is an error.
  {
    name: 'utf8 error: braces without a metric name after another line',
    input: 'foo 1\n{a="1"} 2\n',
    error: E(2, 'invalid metric name'),
  },
  { name: 'utf8 error: empty quoted metric name', input: '"" 1\n', error: E(1, 'invalid metric name') },
  {
    name: 'utf8 error: empty quoted metric name in HELP',
    input: '# HELP "" x\n',
    error: E(1, 'invalid metric name ""'),
  },
  {
    name: 'utf8 error: empty quoted name inside braces',
    input: 'foo 1\n{"",x="1"} 1\n',
    error: E(2, 'invalid label name for metric "foo"'),
  },
  {
    name: 'utf8 error: invalid UTF-8 in a metric name',
    input: B('{"\xff"} 1\n'),
    error: E(1, 'invalid metric name "\\xff"'),
  },
  {
    name: 'utf8 error: invalid UTF-8 in a metric name in HELP',
    input: B('# HELP "a\xc3" x\n'),
    error: E(1, 'invalid metric name "a\\xc3"'),
  },
  {
    name: 'utf8 error: invalid UTF-8 in a label name',
    input: B('foo{"\xff"="v"} 1\n'),
    error: E(1, 'invalid label name "\\xff"'),
  },
  {
    name: 'utf8 error: quoted __name__ is reserved',
    input: 'foo{"__name__"="x"} 1\n',
    error: E(1, 'label name "__name__" is reserved'),
  },
  {
    name: 'utf8 error: duplicate label names, quoted or not',
    input: 'foo{a="1","a"="2"} 1\n',
    error: E(1, 'duplicate label names for metric "foo"'),
  },
  {
    name: 'utf8 error: duplicate label names across the metric name',
    input: '{a="1","foo",a="2"} 1\n',
    error: E(1, 'duplicate label names for metric "foo"'),
  },
  {
    name: 'utf8 error: duplicate quoted label names in a quoted family',
    input: '{"a.b","c.d"="1","c.d"="2"} 1\n',
    error: E(1, 'duplicate label names for metric "a.b"'),
  },
  {
    name: 'utf8 error: a name without = after a classic metric name',
    input: 'foo{"x"} 1\n',
    error: E(1, "expected '=' after label name, found '}'"),
  },
  {
    name: 'utf8 error: something else after the metric name in braces',
    input: '{"a.b" x="1"} 1\n',
    error: E(1, "unexpected end of metric name 'x'"),
  },
  { name: 'utf8 error: a quoted name running to the end of the input', input: '{"a.b', error: EOF(1) },
  { name: 'utf8 error: no value after the braces', input: '{"a.b"}\n', error: E(1, 'expected float as value, got ""') },
  {
    name: 'utf8 error: invalid escape in HELP still',
    input: '# HELP "a.b" x\\ty\n',
    error: E(1, "invalid escape sequence '\\t'"),
  },
  {
    name: 'utf8 error: second HELP of a quoted family',
    input: '# HELP "a.b" x\n# HELP "a.b" y\n',
    error: E(2, 'second HELP line for metric name "a.b"'),
  },
  {
    name: 'utf8 error: TYPE after samples of a quoted family',
    input: '{"a.b"} 1\n# TYPE "a.b" gauge\n',
    error: E(2, 'second TYPE line for metric name "a.b", or TYPE reported after samples'),
  },
  {
    name: 'utf8 error: quantile of a quoted summary',
    input: '# TYPE "s.x" summary\n{"s.x",quantile="x"} 1\n',
    error: E(2, 'expected float as value for \'quantile\' label, got "x"'),
  },
  {
    name: 'utf8 error: quantile before the name of a quoted summary',
    input: '# TYPE "s.x" summary\n{quantile="x","s.x"} 1\n',
    error: E(2, 'expected float as value for \'quantile\' label, got "x"'),
  },
  {
    name: 'utf8 error: a message quotes a non-ASCII family name as Go does',
    input: '{"é\\u"} 1\n',
    error: E(1, "invalid escape sequence '\\u'"),
  },
  {
    name: 'utf8 error: second HELP of a non-ASCII family',
    input: '# HELP "é" x\n# HELP "é" y\n',
    error: E(2, 'second HELP line for metric name "é"'),
  },
];

for (const c of utf8Cases) {
  test(c.name, () => {
    assert.ok((c.error === undefined) !== (c.want === undefined), 'a case needs want or error');
    const input = c.input;
    if (typeof input === 'string') {
      check(c, () => parseText(input, UTF8));
      if (wellFormed(input)) check(c, () => parseTextBytes(Buffer.from(input, 'utf8'), UTF8));
    } else {
      check(c, () => parseTextBytes(input, UTF8));
    }
  });
}

test('utf8: case names are unique', () => {
  assert.equal(new Set([...cases, ...utf8Cases].map((c) => c.name)).size, cases.length + utf8Cases.length);
});

test('utf8: without the option, quoted names are the errors of Pushgateway 1.5.1', () => {
  const err = (input: string): string => {
    try {
      parseText(input);
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  assert.equal(err('{"my.metric"} 1\n'), E(1, 'invalid metric name'));
  assert.equal(err('"my.metric" 1\n'), E(1, 'invalid metric name'));
  assert.equal(err('foo{"a.b"="c"} 1\n'), E(1, 'invalid label name for metric "foo"'));
  assert.equal(err('# TYPE "my.metric" counter\n'), E(1, 'invalid metric name in comment'));
  assert.equal(err('# HELP foo say \\"hi\\"\n'), E(1, "invalid escape sequence '\\\"'"));
});

// Everything the option does not concern parses as without it: the whole table above, except
// the cases whose input uses what the option adds (a leading '{', a '"' starting a name, \" in HELP).
const UTF8_DIFFERS = new Set<string>(['HELP escape \\" is invalid']);
test('utf8: the classic table gives the same results with the option', () => {
  const run = (c: Case, opts?: { utf8Names: boolean }): string => {
    try {
      const input = c.input;
      return JSON.stringify(typeof input === 'string' ? parseText(input, opts) : parseTextBytes(input, opts));
    } catch (e) {
      return (e as Error).message;
    }
  };
  const differing = cases.filter((c) => run(c) !== run(c, UTF8)).map((c) => c.name);
  assert.deepEqual(
    differing.filter((n) => !UTF8_DIFFERS.has(n)),
    [],
  );
});

// Large pushes are parsed in slices; the result, and every error with its line number, must be
// those of the parse in one go, wherever the slices fall.
test('parseTextBytesSliced: same families and errors as parseTextBytes, and others get turns meanwhile', async () => {
  const lines = ['# HELP big A big family.', '# TYPE big summary'];
  for (let i = 0; i < 4_000; i++) {
    lines.push(`big{s="${i}",quantile="0.5"} ${i}`, `big_sum{s="${i}"} ${i * 2}`, `big_count{s="${i}"} ${i}`);
    if (i % 500 === 0) lines.push(`# HELP other_${i} x`, `other_${i}{a="é"} ${i}`);
  }
  const body = Buffer.from(lines.join('\n') + '\n');
  let turns = 0;
  const ticker = setInterval(() => turns++, 0);
  const sliced = await parseTextBytesSliced(body, undefined, 1);
  clearInterval(ticker);
  assert.deepEqual(sliced, parseTextBytes(body));
  assert.ok(turns > 2, `the event loop turned ${turns} times during the parse`);

  for (const at of [3, 2047, 2049, 9_001, lines.length - 1]) {
    const bad = [...lines];
    bad[at] = at % 2 === 0 ? 'big{s="x"} notanumber' : 'big{s="x" 1';
    const b = Buffer.from(bad.join('\n') + '\n');
    let expected: unknown;
    try {
      parseTextBytes(b);
    } catch (e) {
      expected = e;
    }
    assert.ok(expected instanceof TextParseError, `line ${at + 1} must fail`);
    await assert.rejects(parseTextBytesSliced(b, undefined, 1), (e: unknown) => {
      assert.ok(e instanceof TextParseError);
      assert.equal(e.message, expected.message);
      return true;
    });
  }
});
