/**
 * Bytes of a non-negative integer (up to 2^53) as a base-128 varint: the length prefix protobuf
 * writes, and the one V8's serializer writes before a typed array's bytes on the runner IPC.
 */
export function varintSize(value: number): number {
  let n = 1;
  while (value > 0x7f) {
    value = Math.floor(value / 0x80);
    n++;
  }
  return n;
}
