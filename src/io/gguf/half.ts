/**
 * binary16 -> float32 for the per-block scales of quantized ggml types, by table (one lookup per
 * block). Every half value is exactly representable in float32, so the table is exact.
 */

let table: Float32Array | undefined;

function buildTable(): Float32Array {
  const values = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0x1f) values[h] = mantissa === 0 ? sign * Infinity : NaN;
    else if (exponent === 0) values[h] = sign * mantissa * 2 ** -24;
    else values[h] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return values;
}

/** The float value of the little-endian half at `bytes[offset]`. */
export function halfAt(bytes: Uint8Array, offset: number): number {
  table ??= buildTable();
  return table[bytes[offset] | (bytes[offset + 1] << 8)];
}
