/** statemachines/retry-policies.ts: every retried error name is the name of the class the product throws. */
import { describe, expect, it } from "vitest";
import { SourceUnavailableError } from "#adapters/mysql.ts";
import { RedshiftTimeoutError, WarehouseUnavailableError } from "#adapters/redshift-data.ts";
import { PreconditionFailedError } from "#shared/errors.ts";
import { REDSHIFT_BUSY, SOURCE_UNAVAILABLE, WAREHOUSE_UNAVAILABLE, WATERMARK_CONFLICT } from "../../../statemachines/retry-policies.ts";

describe("retried error names", () => {
  it("are the names the product's error classes carry when thrown, so a rename cannot silently disable a retry", () => {
    const thrown = [
      new SourceUnavailableError("down"),
      new WarehouseUnavailableError("503"),
      new RedshiftTimeoutError("late"),
      new PreconditionFailedError("b", "k", "If-Match"),
    ];
    const retried = [SOURCE_UNAVAILABLE, WAREHOUSE_UNAVAILABLE, WATERMARK_CONFLICT].flatMap((r) => r.ErrorEquals);
    expect(retried.sort()).toEqual(thrown.map((e) => e.name).sort());
    expect(REDSHIFT_BUSY.ErrorEquals).toEqual(["ActiveStatementsExceededException"]);
  });
});
