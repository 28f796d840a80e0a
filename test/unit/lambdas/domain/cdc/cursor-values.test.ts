import { describe, expect, it } from "vitest";
import { cursorValueProblem } from "#domain/cdc/cursor-values.ts";
import type { SourceColumn } from "#domain/table-schema.ts";

const column = (dataType: string, columnType: string, over: Partial<SourceColumn> = {}): SourceColumn => ({
  name: "c",
  dataType,
  columnType,
  nullable: false,
  numericPrecision: null,
  numericScale: null,
  datetimePrecision: null,
  characterMaximumLength: null,
  ...over,
});

describe("an operator's cursor value against its column", () => {
  it("takes values the column can hold", () => {
    expect(cursorValueProblem(column("tinyint", "tinyint(3) unsigned"), "255")).toBeUndefined();
    expect(cursorValueProblem(column("bigint", "bigint(20)"), "-9223372036854775808")).toBeUndefined();
    expect(cursorValueProblem(column("decimal", "decimal(10,2)", { numericPrecision: 10, numericScale: 2 }), "12345678.99")).toBeUndefined();
    expect(cursorValueProblem(column("date", "date"), "2024-02-29")).toBeUndefined();
    expect(cursorValueProblem(column("timestamp", "timestamp(6)"), "2038-01-19 03:14:07.999999")).toBeUndefined();
    expect(cursorValueProblem(column("varchar", "varchar(4)", { characterMaximumLength: 4 }), "ü👩ab")).toBeUndefined();
    expect(cursorValueProblem(column("varbinary", "varbinary(2)", { characterMaximumLength: 2 }), "0xffee")).toBeUndefined();
  });

  it("refuses what MySQL could never hold, saying why", () => {
    expect(cursorValueProblem(column("tinyint", "tinyint(4)"), "128")).toBe("c (tinyint(4)): 128 is outside the column's range -128…127");
    expect(cursorValueProblem(column("decimal", "decimal(10,2)", { numericPrecision: 10, numericScale: 2 }), "1.234")).toBe(
      "c (decimal(10,2)): 1.234 does not fit DECIMAL(10,2)",
    );
    expect(cursorValueProblem(column("date", "date"), "2023-02-29")).toBe('c (date): "2023-02-29": 2023-02-29 is not a day of the calendar');
    expect(cursorValueProblem(column("timestamp", "timestamp"), "2040-01-01 00:00:00")).toMatch(/outside TIMESTAMP's range/);
    expect(cursorValueProblem(column("varchar", "varchar(4)", { characterMaximumLength: 4 }), "abcde")).toBe(
      "c (varchar(4)): 5 characters, the column holds 4",
    );
    expect(cursorValueProblem(column("binary", "binary(2)", { characterMaximumLength: 2 }), "0xff")).toBeUndefined();
    expect(cursorValueProblem(column("binary", "binary(2)", { characterMaximumLength: 2 }), "ff")).toBe('c (binary(2)): "ff" is not 0x-prefixed hex');
  });
});
