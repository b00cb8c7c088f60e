/**
 * Deterministic JSON for the files we write next to the weights, laid out the way transformers
 * writes config.json and the shard index (`json.dumps(value, indent=2, sort_keys=True) + "\n"`):
 * keys sorted at every level, two-space indent, non-ASCII escaped as \uXXXX, trailing newline.
 * For an ASCII-only index this is byte-identical to transformers' own output.
 */

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue | undefined };

/**
 * Takes `unknown` so that parsed configs (`Record<string, unknown>`) need no cast; anything JSON
 * cannot hold exactly (NaN, a class instance, a bigint) throws, naming where it is.
 */
export function stableJson(value: unknown): string {
  return `${render(value, '', '$')}\n`;
}

function render(value: unknown, indent: string, where: string): string {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') {
    // JSON.stringify would write null and silently lose a NaN score.
    if (!Number.isFinite(value)) throw new Error(`JSON value at ${where} is ${value}, which JSON cannot represent`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const inner = indent + '  ';
    const items = value.map((item, i) => inner + render(item, inner, `${where}[${i}]`));
    return `[\n${items.join(',\n')}\n${indent}]`;
  }
  if (isPlainObject(value)) {
    const object = value;
    // Like JSON.stringify, a key whose value is undefined is left out.
    const keys = Object.keys(object)
      .filter((key) => object[key] !== undefined)
      .sort(compareCodePoints);
    if (keys.length === 0) return '{}';
    const inner = indent + '  ';
    const members = keys.map((key) => `${inner}${quote(key)}: ${render(object[key], inner, `${where}.${key}`)}`);
    return `{\n${members.join(',\n')}\n${indent}}`;
  }
  throw new Error(`JSON value at ${where} is not a plain object, array, string, finite number, boolean or null`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** JSON.stringify's escaping plus Python's ensure_ascii: everything above U+007F as \uXXXX. */
function quote(text: string): string {
  return JSON.stringify(text).replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Python's sort order for str keys (by code point); JS's default sorts by UTF-16 code unit. */
export function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const difference = (left[i].codePointAt(0) ?? 0) - (right[i].codePointAt(0) ?? 0);
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}
