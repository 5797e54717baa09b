import type { FleetRow } from "../../app/index.js";
import { formatTable } from "../output.js";

/** A column: its header and how a row's cell is written. */
export type Column<R> = readonly [header: string, cell: (row: R) => string];

/** A plain-text table of rows by columns (see formatTable). */
export function columnsTable<R>(rows: readonly R[], columns: readonly Column<R>[]): string[] {
  return formatTable(
    columns.map((c) => c[0]),
    rows.map((r) => columns.map((c) => c[1](r))),
  );
}

/** The fleet table's first columns, shared by `status --all` and kubectl-images. */
export const FLEET_COLUMNS: readonly Column<
  Pick<FleetRow, "image" | "version" | "slsa" | "sbom" | "vex" | "signature">
>[] = [
  ["IMAGE", (r) => r.image],
  ["VERSION", (r) => r.version],
  ["SLSA", (r) => r.slsa],
  ["SBOM", (r) => r.sbom],
  ["VEX", (r) => r.vex],
  ["SIGNATURE", (r) => r.signature],
];
