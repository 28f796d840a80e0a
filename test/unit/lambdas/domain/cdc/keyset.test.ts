/** lambdas/domain/cdc/keyset.ts: tuple bounds over composite keys of every kind, bound values and their order. */
import { describe, expect, it } from "vitest";
import { bindValue, compareKnown, keyText, tupleBound, type KeyColumn } from "#domain/cdc/keyset.ts";

const int: KeyColumn = { source: "emp_no", name: "emp_no", kind: "integer" };
const date: KeyColumn = { source: "from_date", name: "from_date", kind: "temporal" };
const amount: KeyColumn = { source: "amount", name: "amount", kind: "decimal", decimal: { precision: 38, scale: 10 } };
const code: KeyColumn = { source: "code", name: "code", kind: "string" };
const raw: KeyColumn = { source: "raw", name: "raw", kind: "binary" };

describe("tuple bounds", () => {
  it("expand a three-column comparison with the leading column's range first, parameters in order", () => {
    const after = tupleBound("mysql", "after", [int, date, code], ["10001", "1986-06-26", "ab "]);
    expect(after.sql).toBe("`emp_no` >= ? AND (`emp_no` > ? OR (`emp_no` = ? AND (`from_date` > ? OR (`from_date` = ? AND `code` > ?))))");
    expect(after.params).toEqual([10001n, 10001n, 10001n, "1986-06-26", "1986-06-26", "ab "]);
    expect(tupleBound("mysql", "upTo", [int, date], ["9", "2000-01-01"]).sql).toBe("`emp_no` <= ? AND (`emp_no` < ? OR (`emp_no` = ? AND `from_date` <= ?))");
    expect(tupleBound("mysql", "from", [int], ["-5"])).toEqual({ sql: "`emp_no` >= ?", params: [-5n] });
  });

  it("write an integer past BIGINT for Redshift as a DECIMAL(20,0) (an unsigned BIGINT key), one within it as itself", () => {
    expect(tupleBound("redshift", "upTo", [int], ["18446744073709551615"]).sql).toBe(`"emp_no" <= CAST('18446744073709551615' AS DECIMAL(20,0))`);
    expect(tupleBound("redshift", "after", [int], ["9223372036854775808"]).sql).toBe(`"emp_no" > CAST('9223372036854775808' AS DECIMAL(20,0))`);
    expect(tupleBound("redshift", "after", [int], ["9223372036854775807"]).sql).toBe(`"emp_no" > 9223372036854775807`);
    expect(tupleBound("redshift", "after", [int], ["-9223372036854775808"]).sql).toBe(`"emp_no" > -9223372036854775808`);
  });

  it("bind each kind as it compares: DECIMAL through CAST, binary as bytes; a value of another kind is refused", () => {
    expect(tupleBound("mysql", "after", [amount], ["12345678901234567890.0000000001"])).toEqual({
      sql: "`amount` > CAST(? AS DECIMAL(38,10))",
      params: ["12345678901234567890.0000000001"],
    });
    expect(bindValue(raw, "0x00ff10")).toEqual(Buffer.from([0, 255, 16]));
    expect(() => bindValue(raw, "00ff")).toThrow("is not 0x-prefixed hex");
    expect(() => bindValue(amount, "1e5")).toThrow("is not a decimal");
    expect(() => tupleBound("redshift", "after", [code], ["a"])).toThrow("do not order in Redshift as in MySQL");
  });

  it("turn raw row values into the cursor's text, binary as hex (bytes that are not UTF-8 survive)", () => {
    expect(keyText(raw, Buffer.from([0xff, 0xfe, 0x00]))).toBe("0xfffe00");
    expect(keyText(code, Buffer.from("Ünïcode  ", "utf8"))).toBe("Ünïcode  ");
    expect(keyText(int, Buffer.from("18446744073709551615"))).toBe("18446744073709551615");
  });

  it("order tuples in JS only where that is certain", () => {
    expect(compareKnown([int, date], ["9", "2000-01-01"], ["10", "1999-01-01"])).toBe(-1);
    expect(compareKnown([int, date], ["10", "2000-01-02"], ["10", "2000-01-01"])).toBe(1);
    expect(compareKnown([int, code], ["10", "abc"], ["10", "abc"])).toBe(0);
    expect(compareKnown([int, code], ["10", "abc"], ["10", "ABD"]), "collation decides").toBeUndefined();
  });
});
