// A decoder for Go's encoding/gob streams, as far as the Go Pushgateway's persistence file needs it
// (see gofile.ts): type definitions, structs, maps, slices, arrays, bools, ints, uints, floats,
// strings, byte slices and values of types with their own encoding (GobEncoder, BinaryMarshaler,
// TextMarshaler), which are handed back as their bytes. Interface and complex values are refused.
//
// Why by hand: the format is small and specified byte for byte (encoding/gob's doc.go), decoding
// it is a few hundred lines, and npm has no gob decoder in wide use to depend on instead. Decoding
// is driven by the type definitions in the stream itself, not by Go's struct definitions, so a
// field the reference adds one day is read (and ignored by gofile.ts) rather than misread.
//
// Nothing here trusts the input: every length is checked against the bytes left, nesting is
// bounded, and every failure is a GobError with the byte offset where it was found.

export class GobError extends Error {
  constructor(
    message: string,
    /** Byte offset in the stream where the problem was found. */
    readonly offset: number,
  ) {
    super(message);
  }
}

/** A struct value: its fields by name (fields holding their zero value are absent, as gob sends them). */
export type GobStruct = { [field: string]: GobValue };
export type GobValue = boolean | number | string | Uint8Array | GobValue[] | Map<GobValue, GobValue> | GobStruct;

type GobType =
  | { kind: 'bool' | 'int' | 'uint' | 'float' | 'bytes' | 'string' | 'complex' | 'interface' }
  | { kind: 'struct'; name: string; fields: { name: string; type: number }[] }
  | { kind: 'map'; key: number; elem: number }
  | { kind: 'slice'; elem: number }
  | { kind: 'array'; elem: number; len: number }
  /** A type that encodes itself (GobEncoder, BinaryMarshaler, TextMarshaler): sent as its bytes. */
  | { kind: 'encoded'; name: string };

// Type ids every gob stream knows without defining them (doc.go, "Their ids are").
const BOOL = 1;
const INT = 2;
const UINT = 3;
const FLOAT = 4;
const BYTES = 5;
const STRING = 6;
const COMPLEX = 7;
const INTERFACE = 8;
const WIRE_TYPE = 16;
const ARRAY_TYPE = 17;
const COMMON_TYPE = 18;
const SLICE_TYPE = 19;
const STRUCT_TYPE = 20;
const FIELD_TYPE = 21;
const FIELD_SLICE = 22;
const MAP_TYPE = 23;
/** Not an id on the wire: gobEncoderType's is never sent, so any free id below the users' will do. */
const ENCODER_TYPE = 24;
/** Ids below this are the package's own; a stream defines only ids from here on. */
const FIRST_USER_ID = 64;

const struct = (name: string, ...fields: [string, number][]): GobType => ({
  kind: 'struct',
  name,
  fields: fields.map(([n, type]) => ({ name: n, type })),
});

/** The predefined types, the ones describing types (wireType and its parts) included. */
function predefined(): Map<number, GobType> {
  return new Map<number, GobType>([
    [BOOL, { kind: 'bool' }],
    [INT, { kind: 'int' }],
    [UINT, { kind: 'uint' }],
    [FLOAT, { kind: 'float' }],
    [BYTES, { kind: 'bytes' }],
    [STRING, { kind: 'string' }],
    [COMPLEX, { kind: 'complex' }],
    [INTERFACE, { kind: 'interface' }],
    [
      WIRE_TYPE,
      struct(
        'wireType',
        ['ArrayT', ARRAY_TYPE],
        ['SliceT', SLICE_TYPE],
        ['StructT', STRUCT_TYPE],
        ['MapT', MAP_TYPE],
        ['GobEncoderT', ENCODER_TYPE],
        ['BinaryMarshalerT', ENCODER_TYPE],
        ['TextMarshalerT', ENCODER_TYPE],
      ),
    ],
    [ARRAY_TYPE, struct('arrayType', ['CommonType', COMMON_TYPE], ['Elem', INT], ['Len', INT])],
    [COMMON_TYPE, struct('CommonType', ['Name', STRING], ['Id', INT])],
    [SLICE_TYPE, struct('sliceType', ['CommonType', COMMON_TYPE], ['Elem', INT])],
    [STRUCT_TYPE, struct('structType', ['CommonType', COMMON_TYPE], ['Field', FIELD_SLICE])],
    [FIELD_TYPE, struct('fieldType', ['Name', STRING], ['Id', INT])],
    [FIELD_SLICE, { kind: 'slice', elem: FIELD_TYPE }],
    [MAP_TYPE, struct('mapType', ['CommonType', COMMON_TYPE], ['Key', INT], ['Elem', INT])],
    [ENCODER_TYPE, struct('gobEncoderType', ['CommonType', COMMON_TYPE])],
  ]);
}

/** Deep enough for any real type (the reference's file nests four levels); a bound for hostile ones. */
const MAX_DEPTH = 64;

const utf8 = new TextDecoder('utf-8');

class Reader {
  pos = 0;
  /** End of the message being read: nothing in it may reach past this. */
  end: number;
  private readonly types = predefined();
  private readonly scratch = new DataView(new ArrayBuffer(8));

  private readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    // A plain view: a Buffer's subarray costs several times more (it builds a Buffer each time).
    this.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    this.end = bytes.length;
  }

  fail(message: string, at = this.pos): never {
    throw new GobError(message, at);
  }

  private byte(): number {
    if (this.pos >= this.end) this.truncated();
    return this.bytes[this.pos++];
  }

  private truncated(): never {
    this.fail(
      this.end === this.bytes.length
        ? 'the data ends in the middle of a value (truncated?)'
        : 'a value runs past the end of its message',
    );
  }

  /** The big-endian bytes of an unsigned integer after its count byte, or the value itself when < 128. */
  private uintBytes(): { small: number } | { start: number; count: number } {
    const at = this.pos;
    const b = this.byte();
    if (b < 0x80) return { small: b };
    const count = 256 - b;
    if (count > 8) this.fail(`an unsigned integer of ${count} bytes (at most 8)`, at);
    if (this.end - this.pos < count) this.truncated();
    const start = this.pos;
    this.pos += count;
    return { start, count };
  }

  uint(): number {
    const at = this.pos;
    const u = this.uintBytes();
    if ('small' in u) return u.small;
    let v = 0;
    for (let i = 0; i < u.count; i++) v = v * 256 + this.bytes[u.start + i];
    if (v > Number.MAX_SAFE_INTEGER) this.fail('an integer too large for this reader (above 2^53)', at);
    return v;
  }

  int(): number {
    const u = this.uint();
    // Bit 0 says whether the rest is complemented (doc.go); halving by division keeps 53 bits.
    return u % 2 === 1 ? -(u - 1) / 2 - 1 : u / 2;
  }

  /** A float64 is sent as its bits, byte-reversed, as an unsigned integer. */
  float(): number {
    const u = this.uintBytes();
    const view = this.scratch;
    view.setBigUint64(0, 0n);
    if ('small' in u) view.setUint8(7, u.small);
    else for (let i = 0; i < u.count; i++) view.setUint8(8 - u.count + i, this.bytes[u.start + i]);
    // The big-endian bytes of the reversed bits are the bits in little-endian order.
    return view.getFloat64(0, true);
  }

  /** A count of things that each take at least one byte: no more than the bytes left. */
  count(what: string): number {
    const at = this.pos;
    const n = this.uint();
    if (n > this.end - this.pos) this.fail(`${what} of ${n} entries in ${this.end - this.pos} bytes (truncated?)`, at);
    return n;
  }

  rawBytes(): Uint8Array {
    const n = this.count('a byte string');
    this.pos += n;
    return this.bytes.subarray(this.pos - n, this.pos);
  }

  /** Names and label values are short and mostly ASCII: those are read without a decoder call. */
  string(): string {
    const b = this.rawBytes();
    if (b.length > 64) return utf8.decode(b);
    let s = '';
    for (let i = 0; i < b.length; i++) {
      if (b[i] >= 0x80) return utf8.decode(b);
      s += String.fromCharCode(b[i]);
    }
    return s;
  }

  /** The message in a stream: its length, then what it holds ends exactly there. */
  message(): void {
    this.end = this.bytes.length;
    const at = this.pos;
    const n = this.uint();
    if (n === 0) this.fail('an empty message', at);
    if (n > this.bytes.length - this.pos) {
      this.fail(`a message of ${n} bytes with ${this.bytes.length - this.pos} left (truncated?)`, at);
    }
    this.end = this.pos + n;
  }

  messageEnded(): void {
    if (this.pos !== this.end) this.fail(`${this.end - this.pos} bytes left over at the end of a message`);
  }

  type(id: number, at: number): GobType {
    const t = this.types.get(id);
    if (t === undefined) this.fail(`a value of type id ${id}, which the stream has not defined`, at);
    return t;
  }

  /** A type definition (doc.go: wireType), for an id the stream has not defined before. */
  define(id: number, at: number): void {
    if (id < FIRST_USER_ID) this.fail(`a definition of type id ${id}, which is predefined`, at);
    if (this.types.has(id)) this.fail(`type id ${id} defined twice`, at);
    const wire = this.value(WIRE_TYPE, 0) as GobStruct;
    const kinds = Object.keys(wire);
    if (kinds.length !== 1) this.fail(`a type definition for id ${id} that is not exactly one kind of type`, at);
    const def = wire[kinds[0]] as GobStruct;
    const common = (def.CommonType ?? {}) as GobStruct;
    const name = (common.Name as string | undefined) ?? '';
    const typeId = (field: string) => (def[field] as number | undefined) ?? 0;
    let t: GobType;
    switch (kinds[0]) {
      case 'StructT':
        t = {
          kind: 'struct',
          name,
          fields: ((def.Field as GobStruct[] | undefined) ?? []).map((f) => ({
            name: (f.Name as string | undefined) ?? '',
            type: (f.Id as number | undefined) ?? 0,
          })),
        };
        break;
      case 'MapT':
        t = { kind: 'map', key: typeId('Key'), elem: typeId('Elem') };
        break;
      case 'SliceT':
        t = { kind: 'slice', elem: typeId('Elem') };
        break;
      case 'ArrayT':
        t = { kind: 'array', elem: typeId('Elem'), len: typeId('Len') };
        break;
      default:
        t = { kind: 'encoded', name };
    }
    this.types.set(id, t);
  }

  value(id: number, depth: number): GobValue {
    const at = this.pos;
    if (depth > MAX_DEPTH) this.fail(`values nested more than ${MAX_DEPTH} deep`, at);
    const t = this.type(id, at);
    switch (t.kind) {
      case 'bool': {
        const u = this.uint();
        if (u > 1) this.fail(`a bool of value ${u}`, at);
        return u === 1;
      }
      case 'int':
        return this.int();
      case 'uint':
        return this.uint();
      case 'float':
        return this.float();
      case 'bytes':
      case 'encoded':
        return this.rawBytes();
      case 'string':
        return this.string();
      case 'complex':
      case 'interface':
        return this.fail(`a value of ${t.kind} type, which this reader does not take`, at);
      case 'struct': {
        const out: GobStruct = Object.create(null) as GobStruct;
        let field = -1;
        for (;;) {
          const fieldAt = this.pos;
          const delta = this.uint();
          if (delta === 0) return out;
          field += delta;
          if (field >= t.fields.length) {
            this.fail(`field ${field} of struct ${t.name || `type ${id}`}, which has ${t.fields.length}`, fieldAt);
          }
          out[t.fields[field].name] = this.value(t.fields[field].type, depth + 1);
        }
      }
      case 'map': {
        const n = this.count('a map');
        const out = new Map<GobValue, GobValue>();
        for (let i = 0; i < n; i++) {
          const k = this.value(t.key, depth + 1);
          out.set(k, this.value(t.elem, depth + 1));
        }
        return out;
      }
      case 'slice':
      case 'array': {
        const n = this.count(`a ${t.kind}`);
        if (t.kind === 'array' && n !== t.len) this.fail(`an array of ${n} elements where its type has ${t.len}`, at);
        const out: GobValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.value(t.elem, depth + 1));
        return out;
      }
    }
  }
}

/**
 * The values of a gob stream (one for each Encode call that wrote it), each with the offset of
 * its message. A value of a type other than a struct is sent as a struct's only field.
 * @throws GobError
 */
export function decodeGob(bytes: Uint8Array): { value: GobValue; offset: number }[] {
  const r = new Reader(bytes);
  const values: { value: GobValue; offset: number }[] = [];
  while (r.pos < bytes.length) {
    const offset = r.pos;
    r.message();
    const idAt = r.pos;
    const id = r.int();
    if (id < 0) {
      r.define(-id, idAt);
    } else {
      const t = r.type(id, idAt);
      if (t.kind !== 'struct') {
        const deltaAt = r.pos;
        if (r.uint() !== 0) r.fail('a value outside a struct without its zero field delta', deltaAt);
      }
      values.push({ value: r.value(id, 0), offset });
    }
    r.messageEnded();
  }
  return values;
}
