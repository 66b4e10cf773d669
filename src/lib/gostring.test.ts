import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { byteString, decodeGoString, decodeRune, encodeGoString, textBytes } from './gostring.js';

// Byte strings and the JavaScript strings that hold them; the rows hold both ways (decode, then
// encode back). Which byte sequences are invalid is utf8.DecodeRune's verdict.
const cases: { name: string; bytes: number[]; string: string }[] = [
  { name: 'empty', bytes: [], string: '' },
  { name: 'ASCII', bytes: [...Buffer.from('abc')], string: 'abc' },
  { name: 'long ASCII', bytes: [...Buffer.from('x'.repeat(100))], string: 'x'.repeat(100) },
  { name: 'UTF-8 of 2, 3 and 4 bytes', bytes: [...Buffer.from('ä€😀')], string: 'ä€😀' },
  { name: 'a lone continuation byte', bytes: [0x80], string: '\udc80' },
  { name: '0xff', bytes: [0x61, 0xff, 0x62], string: 'a\udcffb' },
  { name: 'an overlong encoding', bytes: [0xc0, 0xaf], string: '\udcc0\udcaf' },
  { name: 'an encoded surrogate', bytes: [0xed, 0xa0, 0x80], string: '\udced\udca0\udc80' },
  { name: 'beyond U+10FFFF', bytes: [0xf4, 0x90, 0x80, 0x80], string: '\udcf4\udc90\udc80\udc80' },
  { name: 'a sequence cut short', bytes: [0xe2, 0x82], string: '\udce2\udc82' },
  { name: 'valid after invalid', bytes: [0xff, ...Buffer.from('€')], string: '\udcff€' },
  {
    name: 'invalid between valid 4-byte runes',
    bytes: [0xf0, 0x9f, 0x98, 0x80, 0xfe, 0xf0, 0x9f, 0x98, 0x80],
    string: '😀\udcfe😀',
  },
];

describe('Go strings', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(decodeGoString(Uint8Array.from(c.bytes)), c.string);
      assert.deepStrictEqual([...encodeGoString(c.string)], c.bytes);
      assert.deepStrictEqual([...textBytes(c.string)], c.bytes);
      assert.equal(byteString(c.string), Buffer.from(c.bytes).toString('latin1'));
    });
  }
  test('a slice of a larger buffer', () => {
    assert.equal(decodeGoString(Uint8Array.from([0x61, 0x62, 0xff, 0x63]), 1, 3), 'b\udcff');
  });
  test('other lone surrogates encode as their WTF-8 bytes (invalid UTF-8 for Go as well)', () => {
    assert.deepStrictEqual([...encodeGoString('\ud800')], [0xed, 0xa0, 0x80]);
    assert.deepStrictEqual([...encodeGoString('a\udfffb')], [0x61, 0xed, 0xbf, 0xbf, 0x62]);
  });
});

// [bytes, utf8.DecodeRune's rune, its width (0 for RuneError of width 1)].
const runes: Array<[number[], number, number]> = [
  [[0x41], 0x41, 1],
  [[0xc2, 0xa0], 0xa0, 2],
  [[0xc1, 0xbf], 0, 0],
  [[0xe2, 0x80, 0x8b], 0x200b, 3],
  [[0xe0, 0x9f, 0xbf], 0, 0],
  [[0xed, 0x9f, 0xbf], 0xd7ff, 3],
  [[0xed, 0xa0, 0x80], 0, 0],
  [[0xf0, 0x90, 0x80, 0x80], 0x10000, 4],
  [[0xf4, 0x8f, 0xbf, 0xbf], 0x10ffff, 4],
  [[0xf0, 0x8f, 0xbf, 0xbf], 0, 0],
  [[0xf5, 0x80, 0x80, 0x80], 0, 0],
  [[0xe2, 0x82], 0, 0],
];

for (const [bytes, rune, width] of runes) {
  test(`decodeRune(${Buffer.from(bytes).toString('hex')})`, () => {
    assert.deepStrictEqual(decodeRune(bytes, 0), [rune, width]);
  });
}
