import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGob, GobError } from './gob.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const values = (s: string) => decodeGob(hex(s)).map((v) => v.value);

test("encoding/gob's own example (doc.go): type Point struct {X, Y int}, Point{22, 33}, sent twice", () => {
  const def = '1f ff 81 03 01 01 05 50 6f 69 6e 74 01 ff 82 00 01 02 01 01 58 01 04 00 01 01 59 01 04 00 00 00';
  const point = '07 ff 82 01 2c 01 42 00';
  assert.deepEqual(values(def + point + point), [
    Object.assign(Object.create(null) as object, { X: 22, Y: 33 }),
    Object.assign(Object.create(null) as object, { X: 22, Y: 33 }),
  ]);
  // A zero field is not sent: Point{0, 33}.
  assert.deepEqual(values(def + '05 ff 82 02 42 00'), [Object.assign(Object.create(null) as object, { Y: 33 })]);
});

test('top-level values of the basic types, with the numbers of doc.go', () => {
  assert.deepEqual(values('03 04 00 06'), [3]); // int 3
  assert.deepEqual(values('05 04 00 fe 01 01'), [-129]);
  assert.deepEqual(values('05 06 00 fe 01 00'), [256]); // uint
  assert.deepEqual(values('05 08 00 fe 31 40'), [17]); // float 17.0, byte-reversed
  assert.deepEqual(values('03 08 00 00'), [0]);
  assert.deepEqual(values('05 08 00 fe f8 7f'), [NaN]);
  assert.deepEqual(values('05 0c 00 02 68 69'), ['hi']); // string
  assert.deepEqual(values('05 0c 00 02 c3 bc'), ['ü']);
  assert.deepEqual(values('05 0a 00 02 00 ff'), [Uint8Array.from([0, 255])]); // []byte
  assert.deepEqual(values('03 02 00 01'), [true]);
});

test('damage is a GobError at the byte where it is found', () => {
  const cases: [string, number, RegExp][] = [
    ['05 0c 00 02 68', 0, /message of 5 bytes with 4 left/],
    ['04 0c 00 05 68', 3, /byte string of 5 entries in 1 bytes/],
    ['03 04 00 06 00', 4, /an empty message/],
    ['04 04 00 06 00', 4, /1 bytes left over/],
    ['03 ff 82 00', 1, /type id 65, which the stream has not defined/],
    ['04 04 01 06 00', 2, /without its zero field delta/],
    ['03 10 00 00', 3, /a value of interface type, which this reader does not take/],
    ['0b 04 00 f7 00 00 00 00 00 00 00 00', 3, /unsigned integer of 9 bytes/],
    ['03 02 00 02', 3, /a bool of value 2/],
    // A struct field number past the struct's fields: Point has two.
    [
      '1f ff 81 03 01 01 05 50 6f 69 6e 74 01 ff 82 00 01 02 01 01 58 01 04 00 01 01 59 01 04 00 00 00' +
        '05 ff 82 03 2c 00',
      35,
      /field 2 of struct Point, which has 2/,
    ],
  ];
  for (const [bytes, offset, message] of cases) {
    assert.throws(
      () => decodeGob(hex(bytes)),
      (e: unknown) => e instanceof GobError && e.offset === offset && message.test(e.message),
      bytes,
    );
  }
});

test('a type defined twice, or a predefined one redefined, is refused', () => {
  const def = '1f ff 81 03 01 01 05 50 6f 69 6e 74 01 ff 82 00 01 02 01 01 58 01 04 00 01 01 59 01 04 00 00 00';
  assert.throws(() => decodeGob(hex(def + def)), /type id 65 defined twice/);
  assert.throws(() => decodeGob(hex('03 0b 03 00')), /definition of type id 6, which is predefined/);
});

test('nesting is bounded: a self-referencing slice type nested deeply is an error, not a stack overflow', () => {
  // type T []T (slice of itself, id 65): wireType{SliceT: {CommonType{Name "T", Id 65}, Elem 65}}.
  const def = Buffer.from([
    0xff, 0x81, 0x02, 0x01, 0x01, 0x01, 0x54, 0x01, 0xff, 0x82, 0x00, 0x01, 0xff, 0x82, 0x00, 0x00,
  ]);
  const body = Buffer.concat([Buffer.from([0xff, 0x82, 0x00]), Buffer.alloc(100, 1), Buffer.from([0])]);
  const stream = Buffer.concat([Buffer.from([def.length]), def, Buffer.from([body.length]), body]);
  assert.throws(() => decodeGob(stream), /nested more than 64 deep/);
});
