import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAppContext, updateVulnDb, vulnDbStatus } from "../../src/app/index.js";
import { tempDir } from "../support/tmp.js";

/**
 * `db update` against an HTTP server on 127.0.0.1 that serves the upstream layouts (OSV's
 * `<ecosystem>/all.zip`, the tracker's `json`, secdb's `<branch>/<repo>.json`, CISA's KEV file),
 * built from the corpus's real records, and that injects the faults a real mirror has.
 */
const CORPUS = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

const lines = (f: string): string[] =>
  gunzipSync(readFileSync(join(CORPUS, f)))
    .toString("utf8")
    .split("\n")
    .filter(Boolean);

/** A zip of one JSON file per record, as OSV's all.zip is (written by Python's zipfile). */
function osvZip(dir: string, name: string, records: readonly string[]): Buffer {
  const src = join(dir, `${name}-records`);
  mkdirSync(src, { recursive: true });
  for (const r of records) {
    writeFileSync(join(src, `${(JSON.parse(r) as { id: string }).id}.json`), r);
  }
  const out = join(dir, `${name}.zip`);
  execFileSync("python3", [
    "-c",
    "import sys,os,zipfile\nz=zipfile.ZipFile(sys.argv[2],'w',zipfile.ZIP_DEFLATED)\nfor n in sorted(os.listdir(sys.argv[1])): z.write(os.path.join(sys.argv[1],n),n)\nz.close()",
    src,
    out,
  ]);
  return readFileSync(out);
}

/** The tracker's package -> CVE -> release layout, from the real DSA list's fixes for bullseye. */
function trackerJson(): Buffer {
  const doc: Record<string, Record<string, unknown>> = {};
  for (const l of lines("debian-dsa-list.jsonl.gz")) {
    const e = JSON.parse(l) as {
      cves: string[];
      fixed: { release: string; package: string; version: string }[];
    };
    for (const f of e.fixed.filter((x) => x.release === "bullseye")) {
      for (const cve of e.cves) {
        doc[f.package] ??= {};
        (doc[f.package] as Record<string, unknown>)[cve] = {
          releases: {
            bullseye: { status: "resolved", fixed_version: f.version, urgency: "medium" },
          },
        };
      }
    }
  }
  return Buffer.from(JSON.stringify(doc));
}

type Fault =
  | "500"
  | "truncate"
  | "wrong-digest"
  | "slow"
  | "changes"
  | "hang"
  | "redirect-out"
  | "redirect-loop";

interface Served {
  body: Buffer;
  etag: string;
}

const files = new Map<string, Served>();
const faults = new Map<string, Fault>();
const seen: { path: string; ifNoneMatch?: string }[] = [];
let base = "";
let server: ReturnType<typeof createServer>;

function serve(path: string, body: Buffer): void {
  files.set(path, { body, etag: `"${createHash("sha1").update(body).digest("hex")}"` });
}

function md5(b: Buffer): string {
  return createHash("md5").update(b).digest("base64");
}

function answer(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? "/", "http://x").pathname;
  seen.push({
    path,
    ...(req.headers["if-none-match"] ? { ifNoneMatch: req.headers["if-none-match"] } : {}),
  });
  const f = files.get(path);
  const fault = faults.get(path);
  if (!f || fault === "500") {
    res.writeHead(f ? 500 : 404).end(f ? "internal error" : "not found");
    return;
  }
  if (fault === "redirect-out") {
    res.writeHead(302, { location: "http://mirror.example/osv/Go/all.zip" }).end();
    return;
  }
  if (fault === "redirect-loop") {
    res.writeHead(302, { location: path }).end();
    return;
  }
  if (fault === "hang") {
    return; // never answers: the client is killed or times out
  }
  if (req.headers["if-none-match"] === f.etag) {
    res.writeHead(304, { etag: f.etag }).end();
    return;
  }
  const headers = {
    "content-type": "application/octet-stream",
    "content-length": String(f.body.length),
    etag: f.etag,
    "last-modified": "Fri, 04 Dec 2026 10:00:00 GMT",
    "x-goog-hash": `crc32c=AAAAAA==,md5=${md5(fault === "wrong-digest" ? Buffer.from("other") : f.body)}`,
  };
  if (fault === "slow") {
    setTimeout(() => res.writeHead(200, headers).end(f.body), 4000).unref();
    return;
  }
  res.writeHead(200, headers);
  if (fault === "truncate") {
    res.write(f.body.subarray(0, f.body.length >> 1), () => res.socket?.destroy());
    return;
  }
  if (fault === "changes") {
    // the object was replaced while it was being read: the second half is a newer version's
    const newer = Buffer.from(f.body);
    newer.fill(0x20, newer.length >> 1);
    res.end(newer);
    return;
  }
  res.end(f.body);
}

beforeAll(async () => {
  const dir = tempDir();
  serve(
    "/osv/Debian/all.zip",
    osvZip(dir, "debian", lines("debian-dsa-osv.jsonl.gz").slice(0, 400)),
  );
  serve("/osv/Go/all.zip", osvZip(dir, "go", lines("go-osv.jsonl.gz").slice(0, 300)));
  serve("/debian/json", trackerJson());
  const secdb = lines("alpine-secdb.jsonl.gz").find((l) =>
    l.includes('"distroversion":"v3.11","reponame":"main"'),
  );
  serve("/alpine/v3.11/main.json", Buffer.from(secdb as string));
  serve(
    "/kev/known_exploited_vulnerabilities.json",
    gunzipSync(readFileSync(join(CORPUS, "kev/known_exploited_vulnerabilities.json.gz"))),
  );
  server = createServer(answer);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const SOURCES = ["osv:Debian", "osv:Go", "debian", "alpine:v3.11/main", "kev"];
const baseUrls = () => ({
  osv: `${base}/osv`,
  debian: `${base}/debian`,
  alpine: `${base}/alpine`,
  kev: `${base}/kev`,
});

function update(home: string, extra: { timeoutMs?: number; sources?: string[] } = {}) {
  return updateVulnDb(createAppContext({ home, env: {} }), {
    sources: extra.sources ?? SOURCES,
    baseUrls: baseUrls(),
    insecure: true,
    ...(extra.timeoutMs ? { timeoutMs: extra.timeoutMs } : {}),
  });
}

const counts = (home: string) =>
  Object.fromEntries(
    vulnDbStatus(createAppContext({ home, env: {} })).sources.map((s) => [s.source, s.records]),
  );

describe("db update", () => {
  it("fetches every layout, imports it as one snapshot, and then asks only for what changed", async () => {
    const home = tempDir();
    const r = await update(home);
    expect(r.feeds.map((f) => [f.feed, f.state])).toEqual(
      SOURCES.map((s) => [s === "debian" ? "debian:tracker" : s, "updated"]),
    );
    const c = counts(home);
    expect(c["osv:DSA"]).toBe(400);
    expect(c["osv:GO"]).toBe(300);
    expect(c["debian:tracker"]).toBeGreaterThan(100);
    expect(c["alpine:secdb"]).toBeGreaterThan(100);
    expect(c["cisa:kev"]).toBeGreaterThan(1000);
    const validators = JSON.parse(readFileSync(join(home, "vulndb/feeds.json"), "utf8")) as Record<
      string,
      { etag: string; sha256: string }
    >;
    const kev = files.get("/kev/known_exploited_vulnerabilities.json") as Served;
    expect(validators[`${base}/kev/known_exploited_vulnerabilities.json`]).toMatchObject({
      etag: kev.etag,
      sha256: createHash("sha256").update(kev.body).digest("hex"),
    });
    // the second run sends the validators and the server answers 304 for each
    seen.length = 0;
    const again = await update(home);
    expect(again.feeds.every((f) => f.state === "not-modified")).toBe(true);
    expect(seen.every((s) => s.ifNoneMatch !== undefined)).toBe(true);
    expect(again.snapshot).toBe(r.snapshot);
  });

  it.each([
    ["500", /HTTP 500/],
    ["truncate", /terminated|truncated|other side closed|socket/i],
    ["wrong-digest", /md5 .* published/],
    ["changes", /md5 .* published/],
    ["slow", /timed out/],
    ["redirect-out", /refusing http:\/\/mirror\.example/],
    ["redirect-loop", /more than 5 redirects/],
  ] as const)(
    "a %s on one feed is named, the others are imported, its old data stays",
    async (fault, why) => {
      const home = tempDir();
      const first = await update(home, { sources: ["osv:Go", "kev"] });
      expect(first.feeds.every((f) => f.state === "updated")).toBe(true);
      const before = counts(home);
      const beforeValidators = readFileSync(join(home, "vulndb/feeds.json"), "utf8");
      // a newer Go export that fails in transit, beside a feed that works
      const go = files.get("/osv/Go/all.zip") as Served;
      serve("/osv/Go/all.zip", osvZip(tempDir(), "go2", lines("go-osv.jsonl.gz").slice(0, 500)));
      faults.set("/osv/Go/all.zip", fault);
      try {
        const r = await update(home, { sources: ["osv:Go", "osv:Debian"], timeoutMs: 1500 });
        const goOutcome = r.feeds.find((f) => f.feed === "osv:Go");
        expect(goOutcome?.state).toBe("failed");
        expect(goOutcome?.state === "failed" && goOutcome.reason).toMatch(why);
        expect(r.issues.map((i) => i.code)).toContain("VULN_FEED_FAILED");
        expect(r.feeds.find((f) => f.feed === "osv:Debian")?.state).toBe("updated");
        const after = counts(home);
        expect(after["osv:GO"]).toBe(before["osv:GO"]); // the 300 old records, not 500 and not 0
        expect(after["osv:DSA"]).toBe(400);
        const v = JSON.parse(readFileSync(join(home, "vulndb/feeds.json"), "utf8")) as Record<
          string,
          { sha256: string }
        >;
        expect(v[`${base}/osv/Go/all.zip`]).toEqual(
          JSON.parse(beforeValidators)[`${base}/osv/Go/all.zip`],
        );
      } finally {
        faults.delete("/osv/Go/all.zip");
        files.set("/osv/Go/all.zip", go);
      }
    },
  );

  it("a damaged or hostile validators cache costs a full download, never the update", async () => {
    const home = tempDir();
    await update(home, { sources: ["kev"] });
    const url = `${base}/kev/known_exploited_vulnerabilities.json`;
    writeFileSync(
      join(home, "vulndb/feeds.json"),
      JSON.stringify({
        [url]: { etag: '"x"\r\nx-injected: 1', sha256: "", bytes: 1, fetchedAt: "" },
        __proto__: { polluted: 1 },
      }),
    );
    seen.length = 0;
    const r = await update(home, { sources: ["kev"] });
    expect(r.feeds.map((f) => f.state)).toEqual(["updated"]); // fetched whole, not 304, not failed
    expect(seen[0]?.ifNoneMatch).toBeUndefined();
    writeFileSync(join(home, "vulndb/feeds.json"), "{not json");
    expect((await update(home, { sources: ["kev"] })).feeds.map((f) => f.state)).toEqual([
      "updated",
    ]);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("exits 3 naming the failed feed, with the others imported (CLI, --json)", async () => {
    const home = tempDir();
    faults.set("/debian/json", "500");
    try {
      const r = await cli(home, [
        "db",
        "update",
        "--json",
        "--insecure",
        "--source",
        "kev",
        "debian",
        ...baseArgs(),
      ]);
      expect(r.code).toBe(3);
      expect(JSON.parse(r.stderr.trim().split("\n").at(-1) as string)).toMatchObject({
        error: { code: "VULN_UPDATE_INCOMPLETE" },
      });
      expect(r.stderr).toMatch(/debian:tracker/);
      const out = JSON.parse(r.stdout) as { feeds: { feed: string; state: string }[] };
      expect(out.feeds).toEqual([
        expect.objectContaining({ feed: "kev", state: "updated" }),
        expect.objectContaining({ feed: "debian:tracker", state: "failed" }),
      ]);
    } finally {
      faults.delete("/debian/json");
    }
  });

  it("refuses plain http without --insecure, a non-loopback http mirror, and unknown sources (exit 2)", async () => {
    const home = tempDir();
    expect((await cli(home, ["db", "update", "--source", "kev", ...baseArgs()])).code).toBe(2);
    expect(
      (
        await cli(home, [
          "db",
          "update",
          "--insecure",
          "--source",
          "kev",
          "--base-url",
          "kev=http://mirror.example/kev",
        ])
      ).code,
    ).toBe(2);
    const bad = await cli(home, ["db", "update", "--source", "osv:Nope"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown source osv:Nope/);
    expect(existsSync(join(home, "vulndb/feeds.json"))).toBe(false);
  });

  it("loses nothing when killed mid-update: the old snapshot stays whole and a rerun completes", async () => {
    const home = tempDir();
    await update(home, { sources: ["kev"] });
    const before = vulnDbStatus(createAppContext({ home, env: {} }));
    const validators = readFileSync(join(home, "vulndb/feeds.json"), "utf8");
    faults.set("/osv/Go/all.zip", "hang");
    seen.length = 0;
    const p = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        MAIN,
        "db",
        "update",
        "--insecure",
        "--source",
        "osv:Debian",
        "osv:Go",
        ...baseArgs(),
      ],
      { env: { ...process.env, CLEANIMG_HOME: home }, stdio: "ignore" },
    );
    // killed once it has fetched Debian and waits on Go
    for (let i = 0; i < 200 && !seen.some((s) => s.path === "/osv/Go/all.zip"); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen.map((s) => s.path)).toEqual(["/osv/Debian/all.zip", "/osv/Go/all.zip"]);
    p.kill("SIGKILL");
    await new Promise((r) => p.on("close", r));
    faults.delete("/osv/Go/all.zip");
    const after = vulnDbStatus(createAppContext({ home, env: {} }));
    expect(after.snapshot).toBe(before.snapshot);
    expect(after.records).toBe(before.records);
    expect(readFileSync(join(home, "vulndb/feeds.json"), "utf8")).toBe(validators);
    const r = await update(home, { sources: ["osv:Debian", "osv:Go"] });
    expect(r.feeds.every((f) => f.state === "updated")).toBe(true);
    expect(counts(home)).toMatchObject({ "osv:DSA": 400, "osv:GO": 300 });
  });
});

function baseArgs(): string[] {
  return Object.entries(baseUrls()).flatMap(([k, v]) => ["--base-url", `${k}=${v}`]);
}

function cli(
  home: string,
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
      env: { ...process.env, CLEANIMG_HOME: home },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("close", (code) => done({ code, stdout, stderr }));
  });
}
