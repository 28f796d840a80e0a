/**
 * The configuration contract (docs/design.md §3), defined once: the loader validates with it, the JSON Schemas in
 * config/schema/ are generated from it, and CDK and handlers share its types.
 */
import { z } from "zod";
import { MAX_RANGES, type RangeSetting } from "#domain/ranges.ts";
import { isTimeZone } from "#domain/cdc/time-zone.ts";
import { scheduleExpressionProblem } from "./schedule.ts";
import { mysqlNameProblem, parseTableKey } from "./table-key.ts";

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const REDSHIFT_IDENTIFIER = /^[a-z_][a-z0-9_$]{0,126}$/;

const connectionName = z.string().regex(NAME, "a name of letters, digits, _ or -, starting with a letter");
/** A column (or database) as MySQL names it: any name MySQL allows, written as it is (it is quoted where SQL is built). */
const mysqlColumn = z.string().superRefine((name, ctx) => {
  const problem = mysqlNameProblem(name);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: `a MySQL name: ${problem}` });
});
const redshiftName = z.string().regex(REDSHIFT_IDENTIFIER, "a Redshift identifier: lower-case letters, digits, _ or $, starting with a letter or _");
const s3Prefix = z
  .string()
  .regex(/^([A-Za-z0-9!_.*'()-]+\/)*$/, 'an S3 key prefix ending in "/" (e.g. "incremental/"), or ""')
  .refine(
    (prefix) => !prefix.split("/").some((segment) => segment === "." || segment === ".."),
    'an S3 key prefix with no "." or ".." segments (they escape the prefix in tools that treat keys as paths)',
  );
/** An S3 bucket name (config and execution input alike). */
export const BUCKET_NAME = /^(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const bucketName = z.string().regex(BUCKET_NAME, "an S3 bucket name (3-63 lower-case letters, digits, . or -)");

// ---------------------------------------------------------------- connections.yml

export const SourceSchema = z
  .strictObject({
    host: z.string().min(1),
    port: z.int().min(1).max(65535).default(3306),
    database: mysqlColumn.describe("default database (schema) of the connection"),
    secret: z.string().min(1).optional().describe("Secrets Manager secret ARN or name holding JSON {username, password}"),
    secret_kms_key: z
      .string()
      .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/, "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)")
      .optional()
      .describe("the customer-managed KMS key the secret is encrypted with (the stack grants kms:Decrypt on it, through Secrets Manager only)"),
    username: z.string().min(1).optional().describe("local use only; ${VAR} reads the environment"),
    password: z.string().optional().describe("local use only; ${VAR} reads the environment"),
    ssl: z.boolean().default(false),
    connect_timeout_ms: z.int().positive().default(10_000),
    time_zone: z
      .string()
      .refine(isTimeZone, "an IANA time zone name (Asia/Shanghai, America/New_York, UTC) or an offset ±hh:mm (+08:00)")
      .optional()
      .describe("the zone DATETIME cursor columns hold (what the application's NOW() writes); default: the server's own (@@global.time_zone)"),
  })
  .superRefine((source, ctx) => {
    if (source.secret !== undefined && (source.username !== undefined || source.password !== undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["secret"],
        message: "give either secret (Secrets Manager) or username/password (local use), not both",
      });
    }
    if (source.secret_kms_key !== undefined && source.secret === undefined) {
      ctx.addIssue({ code: "custom", path: ["secret_kms_key"], message: "secret_kms_key is the key of secret: give secret too, or remove it" });
    }
    if (source.secret === undefined && source.username === undefined) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: "credentials missing: add secret: <Secrets Manager ARN or name>, or username/password for local use",
      });
    }
  });

export const TargetSchema = z
  .strictObject({
    workgroup_name: z.string().min(1).optional().describe("Redshift Serverless workgroup"),
    cluster_identifier: z.string().min(1).optional().describe("provisioned cluster (with db_user or secret)"),
    db_user: z.string().min(1).optional(),
    secret: z.string().min(1).optional(),
    secret_kms_key: z
      .string()
      .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/, "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)")
      .optional()
      .describe("the customer-managed KMS key the secret is encrypted with (the stack grants kms:Decrypt on it, through Secrets Manager only)"),
    database: z.string().min(1),
    schema: redshiftName.default("public"),
    copy_role_arn: z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, "an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
      .optional(),
    region: z.string().min(1).optional(),
    base_rpu: z
      .int()
      .min(8)
      .max(1024)
      .multipleOf(8)
      .optional()
      .describe("Serverless: the workgroup's base capacity in RPUs, for the cost estimate (default 128, AWS's default)"),
  })
  .superRefine((target, ctx) => {
    const hasWorkgroup = target.workgroup_name !== undefined;
    const hasCluster = target.cluster_identifier !== undefined;
    if (hasWorkgroup === hasCluster) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: "give exactly one of workgroup_name (Serverless) or cluster_identifier (provisioned)",
      });
    }
    if (target.base_rpu !== undefined && hasCluster) {
      ctx.addIssue({
        code: "custom",
        path: ["base_rpu"],
        message: "base_rpu is a Serverless workgroup's capacity; a provisioned cluster is billed by the hour, not per run: remove it",
      });
    }
    if (target.secret_kms_key !== undefined && target.secret === undefined) {
      ctx.addIssue({ code: "custom", path: ["secret_kms_key"], message: "secret_kms_key is the key of secret: give secret too, or remove it" });
    }
    if (hasCluster && target.db_user === undefined && target.secret === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["cluster_identifier"],
        message: "a provisioned cluster needs db_user (temporary credentials) or secret",
      });
    }
  });

export const StagingSchema = z.strictObject({
  bucket: bucketName.optional().describe("omitted = the bucket the stack creates"),
  prefix: s3Prefix.default("incremental/"),
});

/** Where the deployed functions run: private subnets that reach MySQL (and S3, the Data API, Secrets Manager). */
export const NetworkSchema = z.strictObject({
  vpc_id: z.string().regex(/^vpc-[0-9a-f]+$/, "a VPC id (vpc-…)"),
  availability_zones: z.array(z.string().min(1)).min(1).describe("the zones of subnet_ids, in the same order"),
  subnet_ids: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, "a subnet id (subnet-…)")).min(1),
  security_group_ids: z.array(z.string().regex(/^sg-[0-9a-f]+$/, "a security group id (sg-…)")).min(1),
  vpc_endpoints: z
    .strictObject({
      route_table_ids: z
        .array(z.string().regex(/^rtb-[0-9a-f]+$/, "a route table id (rtb-…)"))
        .min(1)
        .describe("the subnets' route tables: the S3 gateway endpoint is added to them"),
    })
    .optional()
    .describe(
      "create the VPC endpoints the functions need (S3 gateway; Secrets Manager, Redshift Data API and STS interface endpoints in subnet_ids). Omit when the subnets reach AWS through a NAT gateway or endpoints that exist",
    ),
});

/** List prices the cost estimate uses (domain/cost.ts DEFAULT_PRICES, dated); any given here replace them. */
export const PricesSchema = z
  .strictObject({
    state_transition_usd: z.number().nonnegative(),
    lambda_gb_second_usd: z.number().nonnegative(),
    lambda_request_usd: z.number().nonnegative(),
    s3_write_request_usd: z.number().nonnegative(),
    s3_read_request_usd: z.number().nonnegative(),
    redshift_rpu_hour_usd: z.number().nonnegative(),
  })
  .partial();

export const ConnectionsFileSchema = z.strictObject({
  sources: z.record(connectionName, SourceSchema),
  targets: z.record(connectionName, TargetSchema),
  staging: z.record(connectionName, StagingSchema),
  network: NetworkSchema.optional().describe("deployments: the VPC placement of the functions (omit to run them outside a VPC)"),
  prices: PricesSchema.optional().describe(
    "the cost estimate's prices in USD (another Region's, a discount): each replaces the dated list price of us-east-1 it names",
  ),
});

// ---------------------------------------------------------------- pipelines/*.yml

export const CDC_STRATEGIES = ["timestamp_only", "hybrid", "id_only", "full_sync", "custom_sql"] as const;
export const CdcStrategySchema = z.enum(CDC_STRATEGIES);

/** Placeholders a custom_sql query may use; each is bound as a parameter, never spliced into the SQL. */
export const CUSTOM_SQL_PLACEHOLDERS = ["last_timestamp", "last_id", "ceiling_timestamp", "ceiling_id", "batch_size"] as const;

/** Late commits (README "Late commits"): measured in docs/benchmarks.md. */
export const DEFAULT_LOOKBACK_SECONDS = 300;
export const DEFAULT_SETTLE_SECONDS = 10;

const processingFields = {
  batch_size: z.int().min(1).max(10_000_000).describe("rows per ExtractChunk call"),
  max_parallel_tables: z.int().min(1).max(40).describe("Map MaxConcurrency; 1 = sequential"),
  target_file_mb: z.int().min(1).max(1024).describe("byte budget of one Parquet file"),
  max_chunk_seconds: z.int().min(10).max(840).describe("time budget of one ExtractChunk call (Lambda max is 900)"),
  parallel_ranges: z
    .union([z.literal("auto"), z.int().min(1).max(MAX_RANGES)], { error: `auto, or a number of key ranges from 1 (one reader) to ${MAX_RANGES}` })
    .describe("a first read (or full_sync) as key ranges, each by its own reader: auto (by the table's size), a number, or 1 (off)"),
  max_parallel_ranges: z.int().min(1).max(MAX_RANGES).describe("ranges read at once (and auto's most ranges); the source's I/O is the limit"),
};
export const PROCESSING_DEFAULTS = {
  batch_size: 50_000,
  // Four tables at once (docs/benchmarks.md "The common case"): an hourly run of 20 small tables ends in about a
  // quarter of the time, its loads in one Redshift Serverless burst instead of minutes of them; 4 MySQL sessions.
  max_parallel_tables: 4,
  target_file_mb: 128,
  max_chunk_seconds: 600,
  // A table of 2M rows or more (InnoDB's estimate) is read by a reader per 1M rows, up to 4 at once (docs/design.md §14).
  parallel_ranges: "auto",
  max_parallel_ranges: 4,
} as const;

const validationFields = {
  enable_data_quality_checks: z.boolean(),
  max_null_percentage: z.number().min(0).max(100),
  row_count_check: z.boolean().describe("compare MySQL, extracted and Redshift row counts of the synced window"),
  content_checksum: z.boolean().describe("hash key and cursor columns on both sides and compare"),
};
export const VALIDATION_DEFAULTS = {
  enable_data_quality_checks: false,
  max_null_percentage: 100,
  row_count_check: true,
  content_checksum: false,
} as const;

export const ProcessingSchema = z.strictObject(processingFields).partial();
export const ValidationSchema = z.strictObject(validationFields).partial();

const ColumnMappingSchema = z.union([
  redshiftName.describe("shorthand: the target column name"),
  z.strictObject({ rename: redshiftName.optional(), exclude: z.boolean().optional() }),
]);

const tableFields = {
  cdc_strategy: CdcStrategySchema,
  cdc_timestamp_column: mysqlColumn.optional(),
  cdc_id_column: z
    .union([mysqlColumn, z.array(mysqlColumn).min(1).max(16)])
    .optional()
    .describe("the unique key the keyset pages on (hybrid's tie-break, id_only's cursor): a column or a list; default: the primary key"),
  target_name: redshiftName.optional().describe("Redshift table name; default: the source table name, sanitised"),
  primary_key: z.array(mysqlColumn).min(1).optional().describe("default: discovered from the source"),
  full_sync_mode: z.enum(["replace", "append"]).optional(),
  custom_sql: z.string().min(1).optional(),
  columns: z.record(mysqlColumn, ColumnMappingSchema).optional().describe("rename or exclude source columns"),
  type_overrides: z.record(mysqlColumn, z.string().regex(/^[A-Za-z][A-Za-z0-9 (),]*$/, "a Redshift type such as BOOLEAN or SUPER")).optional(),
  lookback_seconds: z
    .int()
    .min(0)
    .max(7 * 86_400)
    .optional()
    .describe(
      `re-read this many seconds before the cursor after a successful run (late commits); default ${DEFAULT_LOOKBACK_SECONDS} for timestamp strategies on a table with a key, else 0`,
    ),
  settle_seconds: z
    .int()
    .min(0)
    .max(86_400)
    .optional()
    .describe(`timestamp strategies: the ceiling is not newer than the source's NOW() minus this; default ${DEFAULT_SETTLE_SECONDS}`),
  zero_dates: z.enum(["null", "fail"]).optional().describe("what a zero date (0000-00-00) becomes; default null"),
  delete_policy: z
    .enum(["report", "soft", "hard"])
    .optional()
    .describe(
      "reconcile: rows in Redshift that MySQL no longer holds are listed (report, the default), marked with a _mrsync_deleted_at timestamp (soft), or deleted (hard)",
    ),
  dist_style: z.enum(["auto", "even", "key", "all"]).optional(),
  dist_key: mysqlColumn.optional(),
  sort_keys: z.array(mysqlColumn).min(1).optional(),
  processing: ProcessingSchema.optional(),
  validation: ValidationSchema.optional(),
};
const TableBaseSchema = z.strictObject(tableFields);
export const TableSchema = TableBaseSchema.superRefine(checkStrategyColumns);

/** What may not appear in custom_sql: writes, locks, a second statement (the extraction session is read-only too). */
const FORBIDDEN_SQL: [RegExp, string][] = [
  [/\bFOR\s+(UPDATE|SHARE)\b|\bLOCK\s+IN\s+SHARE\s+MODE\b/i, "a locking read that would block the source's writers"],
  [/\bINTO\b/i, "SELECT … INTO (a file or variables)"],
  // A single statement that starts with SELECT cannot hold these; they are refused anyway, by name.
  [/\b(INSERT|UPDATE|DELETE|MERGE|CREATE|ALTER|DROP|TRUNCATE|RENAME|GRANT|REVOKE|CALL|HANDLER|LOCK|UNLOCK)\b/i, "a statement that writes"],
];

/** custom_sql must be exactly one read-only SELECT (or WITH … SELECT); the reason it is not, or undefined. */
export function customSqlProblem(sql: string): string | undefined {
  // Literals, quoted identifiers and comments cannot hide or fake a keyword.
  const bare = sql
    .replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`/g, " ")
    .replace(/\/\*[\s\S]*?\*\/|(?:--\s|#)[^\n]*/g, " ")
    .trim();
  if (!/^(SELECT|WITH)\b/i.test(bare)) return "custom_sql must be one SELECT (or WITH … SELECT) query";
  if (/;\s*\S/.test(bare)) return "custom_sql must be one statement: remove everything after the first ;";
  for (const [pattern, what] of FORBIDDEN_SQL) {
    const found = pattern.exec(bare);
    if (found !== null) return `custom_sql must only read: ${JSON.stringify(found[0])} is ${what}`;
  }
  return undefined;
}

/** Each CDC strategy needs its cursor columns; settings of other strategies are mistakes, not no-ops. */
function checkStrategyColumns(table: z.output<typeof TableBaseSchema>, ctx: z.RefinementCtx): void {
  const need = (key: "cdc_timestamp_column" | "cdc_id_column" | "custom_sql", example: string): void => {
    if (table[key] === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["cdc_strategy"],
        message: `cdc_strategy ${table.cdc_strategy} needs ${key} (e.g. ${key}: ${example})`,
      });
    }
  };
  switch (table.cdc_strategy) {
    case "timestamp_only":
      need("cdc_timestamp_column", "updated_at");
      break;
    case "hybrid":
      need("cdc_timestamp_column", "updated_at");
      break;
    case "id_only":
      break;
    case "custom_sql":
      need("custom_sql", "SELECT ... WHERE updated_at > :last_timestamp");
      if (table.cdc_timestamp_column === undefined && table.cdc_id_column === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["cdc_strategy"],
          message: "cdc_strategy custom_sql needs cdc_timestamp_column and/or cdc_id_column: the query's columns the watermark advances on",
        });
      }
      if (Array.isArray(table.cdc_id_column) && table.cdc_id_column.length > 1) {
        ctx.addIssue({
          code: "custom",
          path: ["cdc_id_column"],
          message: "custom_sql binds one :last_id: its cdc_id_column is a single integer column",
        });
      }
      break;
    case "full_sync":
      break;
  }
  if (table.full_sync_mode !== undefined && table.cdc_strategy !== "full_sync") {
    ctx.addIssue({
      code: "custom",
      path: ["full_sync_mode"],
      message: `full_sync_mode applies only to cdc_strategy full_sync (this table uses ${table.cdc_strategy})`,
    });
  }
  if (table.custom_sql !== undefined) {
    if (table.cdc_strategy !== "custom_sql") {
      ctx.addIssue({
        code: "custom",
        path: ["custom_sql"],
        message: `custom_sql applies only to cdc_strategy custom_sql (this table uses ${table.cdc_strategy})`,
      });
    }
    const readOnly = customSqlProblem(table.custom_sql);
    if (readOnly !== undefined) ctx.addIssue({ code: "custom", path: ["custom_sql"], message: readOnly });
    for (const placeholder of table.custom_sql.matchAll(/(?<![:\w]):([A-Za-z_]\w*)/g)) {
      const name = placeholder[1] ?? "";
      if (!(CUSTOM_SQL_PLACEHOLDERS as readonly string[]).includes(name)) {
        ctx.addIssue({
          code: "custom",
          path: ["custom_sql"],
          message: `unknown placeholder :${name}; known placeholders: ${CUSTOM_SQL_PLACEHOLDERS.map((p) => `:${p}`).join(", ")}`,
        });
      }
    }
  }
  if (table.settle_seconds !== undefined && table.cdc_strategy !== "hybrid" && table.cdc_strategy !== "timestamp_only") {
    ctx.addIssue({
      code: "custom",
      path: ["settle_seconds"],
      message: `settle_seconds applies to the timestamp strategies hybrid and timestamp_only (this table uses ${table.cdc_strategy})`,
    });
  }
  if (table.dist_key !== undefined && table.dist_style !== undefined && table.dist_style !== "key") {
    ctx.addIssue({
      code: "custom",
      path: ["dist_key"],
      message: `dist_key needs dist_style key (or no dist_style), not ${table.dist_style}`,
    });
  }
}

export const PARTITION_STRATEGIES = ["datetime", "table", "hybrid"] as const;
export const COMPRESSIONS = ["snappy", "gzip", "zstd", "none"] as const;

const scheduleExpression = z.string().superRefine((expression, ctx) => {
  const problem = scheduleExpressionProblem(expression);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: `invalid schedule: ${problem}` });
});

export const PipelineSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "a pipeline name: lower-case letters, digits and _, starting with a letter"),
  source: connectionName.describe("a key of sources in connections.yml"),
  target: connectionName.describe("a key of targets in connections.yml"),
  staging: connectionName.describe("a key of staging in connections.yml"),
  schedule: scheduleExpression.optional().describe('EventBridge Scheduler expression, e.g. "cron(0 2 * * ? *)"'),
  reconcile_schedule: scheduleExpression
    .optional()
    .describe('when to run mode reconcile (whole tables compared with Redshift and repaired), e.g. weekly "cron(0 4 ? * SUN *)"'),
  processing: ProcessingSchema.optional(),
  validation: ValidationSchema.optional(),
  s3: z
    .strictObject({
      isolation_prefix: s3Prefix.default(""),
      partition_strategy: z.enum(PARTITION_STRATEGIES).default("datetime"),
      compression: z.enum(COMPRESSIONS).default("snappy"),
    })
    .default({ isolation_prefix: "", partition_strategy: "datetime", compression: "snappy" }),
  completion: z.strictObject({ bucket: bucketName }).optional(),
});

/** A table key: schema.table, names MySQL allows, backticks where a name needs them (table-key.ts). */
const tableKey = z.string().superRefine((key, ctx) => {
  const parsed = parseTableKey(key);
  if ("problem" in parsed)
    ctx.addIssue({ code: "custom", message: `a table key "schema.table" (e.g. settlement.settle_orders, or shop.\`Order Items\`): ${parsed.problem}` });
});

export const PipelineFileSchema = z
  .strictObject({
    pipeline: PipelineSchema,
    tables: z.record(tableKey, TableSchema).refine((tables) => Object.keys(tables).length > 0, "a pipeline needs at least one table"),
  })
  .superRefine((file, ctx) => {
    const claimedBy = new Map<string, string>();
    for (const [key, table] of Object.entries(file.tables)) {
      const target = targetTableName(key, table.target_name);
      const other = claimedBy.get(target);
      if (other === undefined) {
        claimedBy.set(target, key);
        continue;
      }
      ctx.addIssue({
        code: "custom",
        path: ["tables", key, ...(table.target_name === undefined ? [] : ["target_name"])],
        message: `target table ${target} is already the target of ${other}; give one of them another target_name`,
      });
    }
  });

/** The Redshift table a source table lands in: target_name, or the source table name sanitised. */
export function targetTableName(key: string, targetName: string | undefined): string {
  if (targetName !== undefined) return targetName;
  const parsed = parseTableKey(key);
  const table = "problem" in parsed ? key : parsed.table;
  const sanitised = table.toLowerCase().replace(/[^a-z0-9_$]/g, "_");
  return /^[a-z_]/.test(sanitised) ? sanitised : `_${sanitised}`;
}

export type ConnectionsFile = z.output<typeof ConnectionsFileSchema>;
export type SourceConnection = z.output<typeof SourceSchema>;
export type TargetConnection = z.output<typeof TargetSchema>;
export type StagingLocation = z.output<typeof StagingSchema>;
export type Network = z.output<typeof NetworkSchema>;
export type PipelineFile = z.output<typeof PipelineFileSchema>;
export type TableSettings = z.output<typeof TableSchema>;
export type CdcStrategy = z.output<typeof CdcStrategySchema>;

/** cdc_id_column as a list (undefined: not configured, the primary key is used). */
export const idColumnsOf = (table: Pick<TableSettings, "cdc_id_column">): string[] | undefined =>
  table.cdc_id_column === undefined ? undefined : typeof table.cdc_id_column === "string" ? [table.cdc_id_column] : table.cdc_id_column;
export type Processing = Omit<{ -readonly [K in keyof typeof PROCESSING_DEFAULTS]: number }, "parallel_ranges"> & { parallel_ranges: RangeSetting };
export type Validation = {
  enable_data_quality_checks: boolean;
  max_null_percentage: number;
  row_count_check: boolean;
  content_checksum: boolean;
};
