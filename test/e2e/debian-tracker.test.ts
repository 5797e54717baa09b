import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createAppContext, importVulnData, scan, vulnDbStatus } from "../../src/app/index.js";
import { buildImageLayout } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import { tempDir } from "../support/tmp.js";

/**
 * The tracker's JSON (security-tracker.debian.org/tracker/data/json) is too large for the corpus,
 * so this document is written in its layout (package -> issue -> release) with TEMP- ids, about
 * the zlib that a real bookworm image installs: one issue per state the tracker records.
 */
function trackerDocument(installed: string): Record<string, unknown> {
  const later = `${installed}+deb12u99`;
  const r = (bookworm: Record<string, unknown>) => ({
    description: "test issue",
    scope: "remote",
    releases: { bookworm, sid: { status: "resolved", fixed_version: later, urgency: "low" } },
  });
  return {
    zlib: {
      "TEMP-0000000-0001": r({
        status: "resolved",
        repositories: { bookworm: installed },
        fixed_version: later,
        urgency: "medium",
      }),
      "TEMP-0000000-0002": r({ status: "resolved", fixed_version: installed, urgency: "low" }),
      "TEMP-0000000-0003": r({ status: "resolved", fixed_version: "0", urgency: "unimportant" }),
      "TEMP-0000000-0004": r({
        status: "open",
        urgency: "low",
        nodsa: "Minor issue",
        nodsa_reason: "postponed",
      }),
      "TEMP-0000000-0005": r({ status: "open", urgency: "end-of-life" }),
      "TEMP-0000000-0006": r({ status: "undetermined" }),
      "TEMP-0000000-0007": { releases: { trixie: { status: "open", urgency: "high" } } },
      "TEMP-0000000-0008": r({ status: "open", urgency: "unimportant" }),
      "CVE-2099-0001": r({ status: "resolved", fixed_version: later, urgency: "high" }),
    },
    "not-installed": {
      "TEMP-0000000-0009": r({ status: "open", urgency: "high" }),
    },
  };
}

describe("the Debian security tracker's JSON", () => {
  it("counts a DSA once when the tracker's per-CVE data confirms its CVEs", async () => {
    const debs = fetchDebs(["base-files", "zlib1g"]);
    const installed = execFileSync("dpkg-deb", ["-f", debs[1] as string, "Version"], {
      encoding: "utf8",
    }).trim();
    const dir = tempDir();
    writeFileSync(join(dir, "debian-security.json"), JSON.stringify(trackerDocument(installed)));
    // the advisory list format of the tracker's data/DSA/list
    writeFileSync(
      join(dir, "DSA.list"),
      [
        "[01 Jan 2099] DSA-9999-1 zlib - security update",
        "\t{CVE-2099-0001}",
        `\t[bookworm] - zlib ${installed}+deb12u99`,
        "[01 Jan 2099] DSA-9998-1 zlib - security update",
        "\t{CVE-2099-0002}",
        `\t[bookworm] - zlib ${installed}+deb12u98`,
        "",
      ].join("\n"),
    );
    const layout = join(tempDir(), "img");
    await buildImageLayout({ dir: layout, tag: "z", layers: [{ kind: "debs", debs }] });
    const ctx = createAppContext({ home: tempDir(), env: {} });
    await importVulnData(ctx, [join(dir, "debian-security.json"), join(dir, "DSA.list")]);
    const result = await scan(ctx, `oci:${layout}:z`, { created: new Date(0), record: false });
    await ctx.close();
    const ids = result.findings.filter((f) => f.package.name === "zlib1g").map((f) => f.id);
    expect(ids).toContain("CVE-2099-0001");
    expect(ids).not.toContain("DSA-9999-1");
    expect(result.findings.find((f) => f.id === "CVE-2099-0001")?.aliases).toContain("DSA-9999-1");
    // the tracker data does not confirm CVE-2099-0002: the advisory stands on its own
    expect(ids).toContain("DSA-9998-1");
  });

  it("imports every state the tracker records and matches a real bookworm image by source package", async () => {
    const debs = fetchDebs(["base-files", "zlib1g"]);
    const installed = execFileSync("dpkg-deb", ["-f", debs[1] as string, "Version"], {
      encoding: "utf8",
    }).trim();
    const source = execFileSync("dpkg-deb", ["-f", debs[1] as string, "Source"], {
      encoding: "utf8",
    }).trim();
    expect(source.split(" ")[0]).toBe("zlib");
    const file = join(tempDir(), "debian-security.json");
    writeFileSync(file, JSON.stringify(trackerDocument(installed)));

    const layout = join(tempDir(), "img");
    await buildImageLayout({ dir: layout, tag: "z", layers: [{ kind: "debs", debs }] });
    const ctx = createAppContext({ home: tempDir(), env: {} });
    const imported = await importVulnData(ctx, [file]);
    expect(imported.sources).toContainEqual(
      expect.objectContaining({ source: "debian:tracker", records: 10, added: 10 }),
    );
    expect(vulnDbStatus(ctx).sources.map((s) => s.source)).toContain("debian:tracker");
    const result = await scan(ctx, `oci:${layout}:z`, { created: new Date(0), record: false });

    const zlib = result.findings.filter((f) => f.package.name === "zlib1g");
    const byId = Object.fromEntries(zlib.map((f) => [f.id, f]));
    expect(Object.keys(byId).sort()).toEqual([
      "CVE-2099-0001",
      "TEMP-0000000-0001",
      "TEMP-0000000-0004",
      "TEMP-0000000-0005",
      "TEMP-0000000-0006",
      "TEMP-0000000-0008",
    ]);
    expect(byId["TEMP-0000000-0001"]).toMatchObject({
      status: "affected",
      fixedIn: `${installed}+deb12u99`,
      matchedAs: { ecosystem: "Debian:12", name: "zlib" },
    });
    expect(byId["TEMP-0000000-0004"]).toMatchObject({
      status: "affected",
      distroStatus: "postponed",
    });
    expect(byId["TEMP-0000000-0005"]).toMatchObject({ distroStatus: "end-of-life" });
    // the tracker has not decided: never reported as clean
    expect(byId["TEMP-0000000-0006"]).toMatchObject({ status: "unknown" });
    expect(byId["TEMP-0000000-0008"]).toMatchObject({
      status: "affected",
      distroStatus: "unfixed",
    });

    // a changed tracker file replaces what changed and keeps the rest
    const doc = trackerDocument(installed) as { zlib: Record<string, unknown> };
    doc.zlib["TEMP-0000000-0006"] = {
      releases: { bookworm: { status: "resolved", fixed_version: "0" } },
    };
    writeFileSync(file, JSON.stringify(doc));
    const again = await importVulnData(ctx, [file]);
    expect(again.sources).toContainEqual(
      expect.objectContaining({ source: "debian:tracker", changed: 1, unchanged: 9 }),
    );
    const rescan = await scan(ctx, `oci:${layout}:z`, { created: new Date(0), record: false });
    expect(rescan.findings.map((f) => f.id)).not.toContain("TEMP-0000000-0006");
    expect(again.snapshot).not.toBe(imported.snapshot);
    await ctx.close();
  });
});
