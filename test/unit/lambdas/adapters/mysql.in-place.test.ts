/** lambdas/adapters/mysql.ts RowInPlace: MySQL's length-coded values read where they lie, 8-byte lengths included. */
import { describe, expect, it } from "vitest";
import { RowInPlace } from "#adapters/mysql.ts";

/** A text-protocol row of these values (null: NULL), behind `pad` bytes of whatever came before in the packet. */
function packet(values: (Buffer | null)[], pad = 3): Buffer {
  const parts: Buffer[] = [Buffer.alloc(pad, 0xee)];
  for (const value of values) {
    if (value === null) parts.push(Buffer.from([0xfb]));
    else {
      const n = value.length;
      if (n < 251) parts.push(Buffer.from([n]));
      else if (n < 2 ** 16) parts.push(Buffer.from([0xfc, n & 0xff, n >> 8]));
      else if (n < 2 ** 24) parts.push(Buffer.from([0xfd, n & 0xff, (n >> 8) & 0xff, n >> 16]));
      else {
        const length = Buffer.alloc(9);
        length[0] = 0xfe;
        length.writeBigUInt64LE(BigInt(n), 1);
        parts.push(length);
      }
      parts.push(value);
    }
  }
  return Buffer.concat(parts);
}

describe("RowInPlace", () => {
  it("reads every length form, NULL and empty values at their offsets", () => {
    const values = [Buffer.from("a"), null, Buffer.alloc(0), Buffer.alloc(300, 1), Buffer.alloc(70_000, 2), Buffer.alloc(2 ** 24 + 3, 3), Buffer.from("z")];
    const bytes = packet(values);
    const row = new RowInPlace();
    row.read(bytes, 3, values.length);
    // Compared byte for byte (toEqual on a 16 MiB Buffer takes seconds).
    expect(row.values().map((value, i) => (value === null ? values[i] === null : value.equals(values[i] ?? Buffer.alloc(1))))).toEqual(values.map(() => true));
    expect(row.values().map((value) => value?.length ?? null)).toEqual(values.map((value) => value?.length ?? null));
    expect(Array.from(row.starts.subarray(0, 3))).toEqual([4, -1, 7]);
  });

  it("a kept row reads again the same values after the object read others", () => {
    const first = packet([Buffer.from("first"), null]);
    const second = packet([null, Buffer.from("second")]);
    const row = new RowInPlace();
    const kept = new RowInPlace();
    row.read(first, 3, 2);
    row.keepIn(kept);
    row.read(second, 3, 2);
    expect(kept.values()).toEqual([Buffer.from("first"), null]);
    expect(row.values()).toEqual([null, Buffer.from("second")]);
  });
});
