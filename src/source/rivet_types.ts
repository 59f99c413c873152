// Rivet's logical column types and their Arrow fields with rivet.* metadata (execution layer, shared by sources and formats).
import * as arrow from "apache-arrow";

export type Fidelity = "exact" | "logical_string" | "compatible" | "lossy" | "unsupported";

/** Text-carried logical types: stored as Utf8, described by `rivet.logical_type`. */
export type TextLogical =
  | "json"
  | "uuid"
  | "enum"
  | "interval"
  | "decimal" // unconstrained numeric as exact decimal text
  | "money"
  | "inet"
  | "cidr"
  | "macaddr"
  | "bit"
  | "timetz"
  | "range"
  | "xml"
  | "other";

export type RivetType =
  | { readonly kind: "bool" }
  | { readonly kind: "int16" }
  | { readonly kind: "int32" }
  | { readonly kind: "int64" }
  | { readonly kind: "uint64" }
  | { readonly kind: "float32" }
  | { readonly kind: "float64" }
  | { readonly kind: "decimal"; readonly precision: number; readonly scale: number }
  | { readonly kind: "date" }
  | { readonly kind: "time" }
  | { readonly kind: "timestamp" }
  | { readonly kind: "timestamp_tz" }
  | { readonly kind: "string"; readonly logical?: TextLogical }
  | { readonly kind: "binary" }
  | { readonly kind: "list"; readonly item: RivetType };

/** One output column as a source describes it before any row is read. */
export interface ColumnSpec {
  readonly name: string;
  readonly type: RivetType;
  /** The source's own type name, e.g. `numeric(12,2)` or `bigint unsigned`. */
  readonly nativeType: string;
  readonly fidelity: Fidelity;
}

/** Human label of a Rivet type, e.g. `decimal(12,2)` or `list<int32>`. */
export function rivetTypeLabel(t: RivetType): string {
  switch (t.kind) {
    case "decimal":
      return `decimal(${t.precision},${t.scale})`;
    case "list":
      return `list<${rivetTypeLabel(t.item)}>`;
    case "string":
      return t.logical && t.logical !== "other" ? t.logical : "string";
    default:
      return t.kind;
  }
}

/** The Arrow data type a Rivet type is stored as. */
export function arrowTypeOf(t: RivetType): arrow.DataType {
  switch (t.kind) {
    case "bool":
      return new arrow.Bool();
    case "int16":
      return new arrow.Int16();
    case "int32":
      return new arrow.Int32();
    case "int64":
      return new arrow.Int64();
    case "uint64":
      return new arrow.Uint64();
    case "float32":
      return new arrow.Float32();
    case "float64":
      return new arrow.Float64();
    case "decimal":
      return new arrow.Decimal(t.scale, t.precision, t.precision <= 38 ? 128 : 256);
    case "date":
      return new arrow.DateDay();
    case "time":
      return new arrow.TimeMicrosecond();
    case "timestamp":
      return new arrow.TimestampMicrosecond(null);
    case "timestamp_tz":
      return new arrow.TimestampMicrosecond("UTC");
    case "string":
      return new arrow.Utf8();
    case "binary":
      return new arrow.Binary();
    case "list":
      return new arrow.List(new arrow.Field("item", arrowTypeOf(t.item), true));
  }
}

/** The Arrow field for a column, carrying `rivet.native_type`, `rivet.fidelity`, `rivet.logical_type`. */
export function arrowFieldOf(c: ColumnSpec): arrow.Field {
  const md = new Map<string, string>([
    ["rivet.native_type", c.nativeType],
    ["rivet.fidelity", c.fidelity],
  ]);
  if (c.type.kind === "string" && c.type.logical) {
    md.set("rivet.logical_type", c.type.logical);
    if (c.type.logical === "json") {
      md.set("ARROW:extension:name", "arrow.json");
      md.set("ARROW:extension:metadata", "");
    }
  }
  return new arrow.Field(c.name, arrowTypeOf(c.type), true, md);
}

export function arrowSchemaOf(columns: readonly ColumnSpec[]): arrow.Schema {
  return new arrow.Schema(columns.map(arrowFieldOf));
}

/** The logical type recorded on an Arrow field, if any. */
export function logicalTypeOf(field: arrow.Field): string | undefined {
  return field.metadata.get("rivet.logical_type");
}
