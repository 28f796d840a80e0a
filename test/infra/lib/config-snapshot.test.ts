/**
 * The config bundled into the functions is resolved at synth: `${VAR}` takes the synth environment's value (the one
 * the stack's grants were computed from), and a deployed function refuses any reference left instead of resolving it
 * from its own environment, where the variable does not exist or means something else.
 */
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "#config/loader.ts";
import { snapshotConfig } from "../../../lib/config-snapshot.ts";

async function configWithVariables(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "mrsync-snapshot-"));
  await mkdir(path.join(dir, "pipelines"));
  await writeFile(
    path.join(dir, "connections.yml"),
    `sources:
  orders_db: { host: "\${ORDERS_DB_HOST}", port: 3306, database: orders, secret: "\${ORDERS_SECRET:-prod/orders}" }
targets:
  dw: { workgroup_name: "\${DW_WORKGROUP}", database: dw, schema: settlement }
staging:
  main: { bucket: "\${STAGING_BUCKET_NAME}", prefix: incremental/ }
`,
  );
  await writeFile(
    path.join(dir, "pipelines", "orders.yml"),
    `pipeline: { name: orders, source: orders_db, target: dw, staging: main }
tables:
  orders.payments: { cdc_strategy: id_only }
`,
  );
  return dir;
}

const SYNTH_ENV = { ORDERS_DB_HOST: "orders.cluster-abc.eu-west-1.rds.amazonaws.com", DW_WORKGROUP: "settlement-wg", STAGING_BUCKET_NAME: "acme-staging" };

describe("config bundled into the functions", () => {
  it("carries the synth environment's values: the deployed function reads what the grants were made for", async () => {
    const bundled = snapshotConfig(await configWithVariables(), SYNTH_ENV);
    // The function's environment has none of the synth's variables.
    const [pipeline] = (await loadConfig(bundled, {})).pipelines;
    expect(pipeline?.source).toMatchObject({ host: SYNTH_ENV.ORDERS_DB_HOST, secret: "prod/orders" });
    expect(pipeline?.target.workgroup_name).toBe("settlement-wg");
    expect(pipeline?.staging.bucket).toBe("acme-staging");
    expect(await readFile(path.join(bundled, "pipelines", "orders.yml"), "utf8")).toContain("orders.payments");
  });

  it("the raw config in a function (no variables there) is refused, naming the variable, not resolved to something else", async () => {
    await expect(loadConfig(await configWithVariables(), {})).rejects.toThrow(/ORDERS_DB_HOST is not set/);
  });

  it("refuses at synth a variable the synth environment lacks, with the file and YAML path", async () => {
    const dir = await configWithVariables();
    expect(() => snapshotConfig(dir, { ...SYNTH_ENV, DW_WORKGROUP: undefined })).toThrow(
      /connections\.yml.*targets\.dw\.workgroup_name.*DW_WORKGROUP is not set/s,
    );
  });

  it("refuses at synth a source password, naming the file, the YAML path and the fix, and bundles nothing", async () => {
    const dir = await configWithVariables();
    const connections = path.join(dir, "connections.yml");
    const text = await readFile(connections, "utf8");
    await writeFile(connections, text.replace('secret: "${ORDERS_SECRET:-prod/orders}"', 'username: sync, password: "${ORDERS_PASSWORD}"'));
    expect(() => snapshotConfig(dir, { ...SYNTH_ENV, ORDERS_PASSWORD: "hunter2" })).toThrow(
      /connections\.yml.*sources\.orders_db\.password.*bundled.*secret: <name or ARN>/s,
    );
    // The message names where the password is, never the password itself.
    expect(() => snapshotConfig(dir, { ...SYNTH_ENV, ORDERS_PASSWORD: "hunter2" })).not.toThrow(/hunter2/);
    // An empty password (the local demo's root user) holds no secret.
    expect(() => snapshotConfig(dir, { ...SYNTH_ENV, ORDERS_PASSWORD: "" })).not.toThrow();
  });
});
