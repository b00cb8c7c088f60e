/**
 * GGUF metadata: the key/value section after the header. Values keep their GGUF type (so a reader
 * can say what it found), and typed accessors give one-line errors naming the file and the key.
 */
import { FileError } from '../../errors.js';
import type { ByteCursor } from './byte-cursor.js';

/** `enum gguf_type` in gguf.h. */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

export type GgufValueTypeId = (typeof GgufValueType)[keyof typeof GgufValueType];

const TYPE_NAMES = Object.fromEntries(Object.entries(GgufValueType).map(([name, id]) => [id, name])) as Record<number, string>;

/** 64-bit integers stay bigint, so a value is never silently rounded. */
export type GgufScalar = number | bigint | boolean | string;
export type GgufValue = GgufScalar | readonly GgufValue[];

export interface GgufEntry {
  type: GgufValueTypeId;
  /** For arrays: the type of the items. */
  itemType?: GgufValueTypeId;
  value: GgufValue;
}

/** Smallest encoded size of one item, to refuse impossible array counts before allocating. */
const MIN_ITEM_BYTES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 8, 9: 12, 10: 8, 11: 8, 12: 8 };

function valueType(cursor: ByteCursor, what: string): GgufValueTypeId {
  const id = cursor.u32(`${what} type`);
  if (!(id in TYPE_NAMES)) throw new FileError(cursor.file, `${what} has unknown value type ${id}`);
  return id as GgufValueTypeId;
}

function readScalar(cursor: ByteCursor, type: GgufValueTypeId, what: string): GgufValue {
  switch (type) {
    case GgufValueType.UINT8: return cursor.u8(what);
    case GgufValueType.INT8: return cursor.i8(what);
    case GgufValueType.UINT16: return cursor.u16(what);
    case GgufValueType.INT16: return cursor.i16(what);
    case GgufValueType.UINT32: return cursor.u32(what);
    case GgufValueType.INT32: return cursor.i32(what);
    case GgufValueType.FLOAT32: return cursor.f32(what);
    case GgufValueType.UINT64: return cursor.u64(what);
    case GgufValueType.INT64: return cursor.i64(what);
    case GgufValueType.FLOAT64: return cursor.f64(what);
    case GgufValueType.BOOL: {
      const byte = cursor.u8(what);
      if (byte > 1) throw new FileError(cursor.file, `${what} is a bool stored as ${byte} (must be 0 or 1)`);
      return byte === 1;
    }
    case GgufValueType.STRING: return cursor.string(what);
    case GgufValueType.ARRAY: return readArray(cursor, what).value;
  }
}

function readArray(cursor: ByteCursor, what: string): { itemType: GgufValueTypeId; value: GgufValue[] } {
  const itemType = valueType(cursor, `${what} item`);
  const count = cursor.size(`${what} count`);
  cursor.checkFits(count, MIN_ITEM_BYTES[itemType], what);
  const value: GgufValue[] = new Array(count);
  for (let i = 0; i < count; i++) value[i] = readScalar(cursor, itemType, what);
  return { itemType, value };
}

/** Reads `count` key/value pairs. */
export function readMetadata(cursor: ByteCursor, count: number): Map<string, GgufEntry> {
  const entries = new Map<string, GgufEntry>();
  for (let i = 0; i < count; i++) {
    const key = cursor.string(`metadata key #${i}`);
    const type = valueType(cursor, `metadata ${key}`);
    if (type === GgufValueType.ARRAY) {
      const { itemType, value } = readArray(cursor, `metadata ${key}`);
      entries.set(key, { type, itemType, value });
    } else {
      entries.set(key, { type, value: readScalar(cursor, type, `metadata ${key}`) });
    }
  }
  return entries;
}

function describe(entry: GgufEntry): string {
  return entry.type === GgufValueType.ARRAY ? `an array of ${TYPE_NAMES[entry.itemType ?? 0]}` : `a ${TYPE_NAMES[entry.type]}`;
}

function asInteger(value: GgufValue): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'bigint' && value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(value);
  return undefined;
}

const INTEGER_TYPES: readonly number[] = [0, 1, 2, 3, 4, 5, 10, 11];
const FLOAT_TYPES: readonly number[] = [6, 12];

/** Typed, located access to the metadata of one file. */
export class GgufMetadata {
  constructor(
    readonly entries: ReadonlyMap<string, GgufEntry>,
    readonly file: string,
  ) {}

  has(key: string): boolean {
    return this.entries.has(key);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  private wrong(key: string, entry: GgufEntry, wanted: string): never {
    throw new FileError(this.file, `metadata ${key} should be ${wanted}, but is ${describe(entry)}`);
  }

  requireInteger(key: string): number {
    return this.integer(key) ?? this.missing(key);
  }

  requireNumber(key: string): number {
    return this.number(key) ?? this.missing(key);
  }

  requireString(key: string): string {
    return this.string(key) ?? this.missing(key);
  }

  private missing(key: string): never {
    throw new FileError(this.file, `metadata ${key} is missing`);
  }

  /** An integer of any width, or undefined when absent. */
  integer(key: string): number | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const value = INTEGER_TYPES.includes(entry.type) ? asInteger(entry.value) : undefined;
    return value ?? this.wrong(key, entry, 'an integer');
  }

  /** A float, or an integer read as one. */
  number(key: string): number | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (FLOAT_TYPES.includes(entry.type)) return entry.value as number;
    return (INTEGER_TYPES.includes(entry.type) ? asInteger(entry.value) : undefined) ?? this.wrong(key, entry, 'a number');
  }

  string(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    return entry.type === GgufValueType.STRING ? (entry.value as string) : this.wrong(key, entry, 'a string');
  }

  bool(key: string): boolean | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    return entry.type === GgufValueType.BOOL ? (entry.value as boolean) : this.wrong(key, entry, 'a bool');
  }

  strings(key: string): readonly string[] | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    return entry.type === GgufValueType.ARRAY && entry.itemType === GgufValueType.STRING ? (entry.value as string[]) : this.wrong(key, entry, 'an array of strings');
  }

  /** One integer, or an array of them (a value per layer, as llama.cpp's get_key_or_arr reads it). */
  integerOrIntegers(key: string): number | readonly number[] | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.type !== GgufValueType.ARRAY) return this.integer(key);
    const integral = entry.itemType !== undefined && INTEGER_TYPES.includes(entry.itemType);
    const items = integral ? (entry.value as readonly GgufValue[]).map(asInteger) : [undefined];
    return items.every((v) => v !== undefined) ? (items as number[]) : this.wrong(key, entry, 'an integer or an array of integers');
  }

  /** An array of numbers (integers or floats; 64-bit integers beyond 2^53 are refused). */
  numbers(key: string): readonly number[] | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const numeric = entry.type === GgufValueType.ARRAY && entry.itemType !== undefined && (INTEGER_TYPES.includes(entry.itemType) || FLOAT_TYPES.includes(entry.itemType));
    if (!numeric) this.wrong(key, entry, 'an array of numbers');
    const items = entry.value as readonly GgufValue[];
    if (entry.itemType !== GgufValueType.UINT64 && entry.itemType !== GgufValueType.INT64) return items as readonly number[];
    return items.map((item) => asInteger(item) ?? this.wrong(key, entry, 'an array of integers below 2^53'));
  }
}
