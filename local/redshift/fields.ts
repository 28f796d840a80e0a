/**
 * Pure: Postgres result columns and text values → the Data API's ColumnMetadata and typed Field encoding
 * (longValue, doubleValue, stringValue, booleanValue, blobValue, isNull), with Redshift's type names.
 */

export type Field =
  { isNull: true } | { longValue: number } | { doubleValue: number } | { stringValue: string } | { booleanValue: boolean } | { blobValue: string };

export type ColumnMetadata = {
  name: string;
  label: string;
  typeName: string;
  nullable: number;
  precision: number;
  scale: number;
  isSigned: boolean;
  isCurrency: boolean;
  isCaseSensitive: boolean;
  length: number;
  schemaName: string;
  tableName: string;
  columnDefault?: string;
};

type Encoding = "long" | "double" | "string" | "boolean" | "blob";

/** Postgres type OIDs → Redshift type name and how values travel. */
const TYPES: Record<number, [string, Encoding]> = {
  16: ["bool", "boolean"],
  17: ["varbyte", "blob"],
  18: ["char", "string"],
  19: ["name", "string"],
  20: ["int8", "long"],
  21: ["int2", "long"],
  23: ["int4", "long"],
  25: ["text", "string"],
  114: ["super", "string"],
  700: ["float4", "double"],
  701: ["float8", "double"],
  1042: ["bpchar", "string"],
  1043: ["varchar", "string"],
  1082: ["date", "string"],
  1083: ["time", "string"],
  1114: ["timestamp", "string"],
  1184: ["timestamptz", "string"],
  1700: ["numeric", "string"],
  3802: ["super", "string"],
};

/** The type OIDs the endpoint knows how to encode. */
export const TYPE_OIDS = Object.keys(TYPES).map(Number);

export function redshiftType(oid: number): [string, Encoding] {
  return TYPES[oid] ?? ["varchar", "string"];
}

/** pg's text form of a value (all type parsers off) → a Data API field. */
export function toField(oid: number, text: string | null): Field {
  if (text === null) return { isNull: true };
  switch (redshiftType(oid)[1]) {
    case "long":
      return { longValue: Number(text) };
    case "double":
      return { doubleValue: Number(text) };
    case "boolean":
      return { booleanValue: text === "t" || text === "true" };
    case "blob":
      // Postgres prints bytea as \x<hex>.
      return { blobValue: Buffer.from(text.startsWith("\\x") ? text.slice(2) : text, "hex").toString("base64") };
    case "string":
      return { stringValue: text };
  }
}

export function columnMetadata(field: { name: string; dataTypeID: number; dataTypeModifier: number }): ColumnMetadata {
  const [typeName] = redshiftType(field.dataTypeID);
  const modifier = field.dataTypeModifier;
  const numeric = typeName === "numeric" && modifier > 0;
  const text = (typeName === "varchar" || typeName === "bpchar") && modifier > 0;
  return {
    name: field.name,
    label: field.name,
    typeName,
    nullable: 1,
    precision: numeric ? ((modifier - 4) >> 16) & 0xffff : text ? modifier - 4 : 0,
    scale: numeric ? (modifier - 4) & 0xffff : 0,
    isSigned: ["int2", "int4", "int8", "float4", "float8", "numeric"].includes(typeName),
    isCurrency: false,
    isCaseSensitive: ["varchar", "bpchar", "text"].includes(typeName),
    length: 0,
    schemaName: "",
    tableName: "",
  };
}
