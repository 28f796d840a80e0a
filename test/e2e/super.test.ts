/**
 * JSON into SUPER (type_overrides: SUPER): Redshift lands a Parquet string in a SUPER column as a string scalar unless
 * the SQL parses it, and the local Data API does the same — so the load stages SUPER columns as text and inserts
 * JSON_PARSE(…). The warehouse then holds objects and arrays, not strings.
 */
import { describe, expect, it } from "vitest";
import type { RunSummary } from "#domain/run-summary.ts";
import { usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_super";
const TABLE = `${DB}.events`;
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: docs, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: docs/ } }
tables:
  ${TABLE}: { cdc_strategy: id_only, type_overrides: { payload: SUPER } }
`,
);

describe("JSON into SUPER", () => {
  it("lands objects and arrays parsed (JSON_PARSE), NULL as NULL, exactly once", async () => {
    await fx.db.admin.query(`CREATE TABLE ${TABLE} (id INT NOT NULL PRIMARY KEY, payload JSON NULL)`);
    await fx.db.admin.query(
      `INSERT INTO ${TABLE} VALUES (1, '{"amount": 12.5, "tags": ["a", "b"], "big": 18446744073709551615}'), (2, '[1, 2, 3]'), (3, NULL), (4, '"just text"')`,
    );
    const execution = await fx.run({ pipeline: "docs" });
    expect(execution.status, execution.cause).toBe("SUCCEEDED");
    expect((execution.output as RunSummary).table_results[TABLE]).toMatchObject({ status: "success", rows_loaded: 4 });
    const { rows } = await fx.warehouse.redshift.query(
      "SELECT id, jsonb_typeof(payload), payload->>'amount', payload->'tags'->>1 FROM public.events ORDER BY id",
    );
    expect(rows).toEqual([
      [1, "object", "12.5", "b"],
      [2, "array", null, null],
      [3, null, null, null],
      [4, "string", null, null],
    ]);
  });
});
