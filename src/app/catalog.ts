import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import {
  builtinFramework,
  type Framework,
  nistControlTitle,
  parseFramework,
} from "../compliance/index.js";
import { ToolError } from "../core/errors.js";
import { readJsonInput } from "../core/input.js";
import { writeFileAtomic } from "../oci/index.js";
import type { AppContext } from "./context.js";

/**
 * Catalogs imported from OSCAL files (`catalog import`): a full catalog (controls, nested in
 * groups and under other controls) or a profile (the ids it includes, titled from the NIST
 * SP 800-53 rev5 data). Stored as `$CLEANIMG_HOME/catalogs/NAME.json` and reported on by name.
 */

interface OscalControl {
  id?: string;
  title?: string;
  controls?: OscalControl[];
}
interface OscalGroup {
  title?: string;
  groups?: OscalGroup[];
  controls?: OscalControl[];
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export async function importCatalog(
  ctx: AppContext,
  file: string,
  name?: string,
): Promise<Framework & { readonly path: string }> {
  let doc: Record<string, unknown>;
  doc = (await readJsonInput(
    file,
    "the catalog",
    "give an OSCAL catalog or profile in JSON",
  )) as Record<string, unknown>;
  const id =
    name ??
    basename(file)
      .replace(/\.json$/, "")
      .toLowerCase()
      .replace(/[^a-z0-9._-]/g, "-");
  if (!NAME.test(id)) {
    throw new ToolError("CORE_INVALID_ARGUMENT", `"${id}" is not a catalog name (a-z, 0-9, . _ -)`);
  }
  const controls: { id: string; title: string; family: string }[] = [];
  let title = id;
  if (doc["catalog"]) {
    const cat = doc["catalog"] as OscalGroup & { metadata?: { title?: string } };
    title = cat.metadata?.title ?? id;
    const walkControls = (cs: OscalControl[] | undefined, family: string): void => {
      for (const c of cs ?? []) {
        if (c.id) {
          controls.push({ id: c.id, title: c.title ?? c.id, family });
        }
        walkControls(c.controls, family);
      }
    };
    const walkGroups = (g: OscalGroup, family: string): void => {
      walkControls(g.controls, family);
      for (const sub of g.groups ?? []) {
        walkGroups(sub, sub.title ?? family);
      }
    };
    walkGroups(cat, title);
  } else if (doc["profile"]) {
    const prof = doc["profile"] as {
      metadata?: { title?: string };
      imports?: { "include-controls"?: { "with-ids"?: string[] }[] }[];
    };
    title = prof.metadata?.title ?? id;
    for (const imp of prof.imports ?? []) {
      for (const inc of imp["include-controls"] ?? []) {
        for (const cid of inc["with-ids"] ?? []) {
          const known = nistControlTitle(cid);
          controls.push({ id: cid, title: known?.title ?? cid, family: known?.family ?? "" });
        }
      }
    }
  } else {
    throw new ToolError(
      "CORE_INPUT_UNREADABLE",
      `${file} is neither an OSCAL catalog nor a profile`,
      {
        hint: "the top-level key must be catalog or profile",
      },
    );
  }
  if (controls.length === 0) {
    throw new ToolError("CORE_INPUT_UNREADABLE", `${file} lists no controls`);
  }
  const dir = join(ctx.home, "catalogs");
  await mkdir(dir, { recursive: true });
  const fw: Framework = { id, name: title, controls, source: `imported from ${basename(file)}` };
  const path = join(dir, `${id}.json`);
  await writeFileAtomic(path, `${JSON.stringify(fw)}\n`);
  return { ...fw, path };
}

/** A framework by name: an imported catalog first, else a shipped one. */
export async function resolveFramework(ctx: AppContext, name: string): Promise<Framework> {
  const id = parseFramework(name);
  const path = join(ctx.home, "catalogs", `${id}.json`);
  if (NAME.test(id) && existsSync(path)) {
    return JSON.parse(await readFile(path, "utf8")) as Framework;
  }
  return builtinFramework(id);
}
