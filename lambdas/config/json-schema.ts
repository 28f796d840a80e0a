/** JSON Schemas for editors (yaml-language-server), generated from the zod schemas so they cannot drift. */
import { z } from "zod";
import { ConnectionsFileSchema, PipelineFileSchema } from "./schema.ts";

export const JSON_SCHEMA_FILES = {
  "connections.schema.json": { title: "mysql-redshift-sync connections.yml", schema: ConnectionsFileSchema },
  "pipeline.schema.json": { title: "mysql-redshift-sync pipeline file (config/pipelines/*.yml)", schema: PipelineFileSchema },
} as const;

export function renderJsonSchema(name: keyof typeof JSON_SCHEMA_FILES): string {
  const { title, schema } = JSON_SCHEMA_FILES[name];
  // "input": what a user writes — keys with defaults are optional.
  const generated = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  return `${JSON.stringify({ ...generated, title }, null, 2)}\n`;
}
