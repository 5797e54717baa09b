import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildImageLayout } from "../support/build-image.js";
import { tempDir } from "../support/tmp.js";

// What the command line says about bad inputs and outputs (docs/cli.md, exit codes): one line
// naming the user's own path, never an internal temporary name or "this looks like a bug";
// dates that do not exist and numbers that are not numbers are usage errors (2); inputs that are
// missing, empty or not what they should be are operational errors (3), also when they import
// nothing.

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const home = tempDir();
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", home, ...args], {
    encoding: "utf8",
    timeout: 120_000,
  });
const firstLine = (s: string) => s.split("\n")[0] ?? "";

describe("bad inputs and outputs on the command line", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    const dir = join(tempDir(), "img");
    await buildImageLayout({
      dir,
      tag: "1",
      layers: [{ kind: "files", files: [{ name: "hello", type: "file", body: "hi" }] }],
    });
    expect(cli("image", "copy", `oci:${dir}:1`, "inputs/app:1").status).toBe(0);
  }, 300_000);

  it("an output in a missing directory, a directory or an unwritable place is named as given", () => {
    const dir = tempDir();
    for (const [target, why] of [
      [join(dir, "no", "such", "o.json"), /the directory .*no\/such does not exist/],
      [dir, /it is a directory/],
      ["/proc/cleanimg-out.json", /a file cannot be created in \/proc/],
    ] as const) {
      const r = cli("sbom", "inputs/app:1", "-o", target);
      expect(r.status, target).toBe(3);
      expect(firstLine(r.stderr)).toContain(`cannot write ${target}`);
      expect(firstLine(r.stderr)).toMatch(why);
      expect(r.stderr).not.toMatch(/\.tmp-|looks like a bug/);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it("dates that do not exist, bare numbers and reversed ranges are usage errors", () => {
    for (const args of [
      ["--from", "2026-02-30"],
      ["--from", "1"],
      ["--from", "2026-13-01"],
      ["--to", "2026-09-01T24:00:00Z"],
      ["--from", "2026-03-02", "--to", "2026-03-01"],
    ]) {
      const r = cli("--audit-trail", ...args);
      expect(r.status, args.join(" ")).toBe(2);
    }
    expect(cli("--audit-trail", "--from", "2026-03-01", "--to", "2026-03-01").status).toBe(0);
    const past = cli(
      "token",
      "create",
      "--role",
      "reader",
      "--name",
      "old",
      "--expires",
      "2020-01-01",
    );
    expect(past.status).toBe(2);
    expect(past.stderr).toMatch(/in the past/);
  });

  it("a numeric option that is not a number is a usage error", () => {
    for (const v of ["abc", "1e3", "-5", ""]) {
      expect(cli("image", "files", "inputs/app:1", "--max-entries", v).status, v).toBe(2);
    }
  });

  it("vulnerability data that imports nothing, or is missing, is an operational error", () => {
    const dir = tempDir();
    const inputs = {
      garbage: '{"foo": 1}\n',
      empty: "",
      text: "not json\n",
    };
    for (const [name, body] of Object.entries(inputs)) {
      writeFileSync(join(dir, `${name}.json`), body);
      const r = cli("db", "import", join(dir, `${name}.json`));
      expect(r.status, name).toBe(3);
      expect(r.stderr).toMatch(/no vulnerability record was found in/);
    }
    expect(cli("db", "import", join(dir, "missing.json")).status).toBe(3);
    expect(existsSync(join(dir, "missing.json"))).toBe(false);
    const vex = cli("--scan", "--image", "inputs/app:1", "--vex", join(dir, "missing.vex.json"));
    expect(vex.status).toBe(3);
  });

  it("an input file that is missing is an operational error (3) naming it, in every command", () => {
    // evidence import, policy --policy, build --spec, tlog verify --checkpoint and intoto verify
    // --layout said exit 2 (a usage error), every other command 3 (CORE_INPUT_UNREADABLE)
    const missing = join(tempDir(), "missing.file");
    const key = join(tempDir(), "k.pub");
    writeFileSync(key, "not used");
    for (const args of [
      ["evidence", "import", missing],
      ["policy", "test", "--policy", missing, missing],
      ["build", "--spec", missing],
      ["tlog", "verify", "--checkpoint", missing],
      ["intoto", "verify", "--layout", missing, "--layout-keys", key],
    ]) {
      const r = cli(...args);
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(3);
      expect(firstLine(r.stderr), args.join(" ")).toContain(`${missing}: it does not exist`);
    }
  });

  it("a checkpoint that is not a checkpoint is bad input, not a log that changed", () => {
    const garbage = join(tempDir(), "checkpoint");
    writeFileSync(garbage, "this is not a signed note\n");
    const r = cli("tlog", "verify", "--checkpoint", garbage);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stdout).not.toMatch(/NOT consistent/);
    expect(firstLine(r.stderr)).toMatch(/not a signed checkpoint note/);
  });

  it("an OCI layout path that is a file is named as not a layout, not reported as a bug", () => {
    const file = join(tempDir(), "plain-file");
    writeFileSync(file, "x");
    const r = cli("sbom", `oci:${file}`);
    expect(r.status).toBe(3);
    expect(firstLine(r.stderr)).toMatch(/is not an OCI image layout/);
    expect(r.stderr).not.toMatch(/looks like a bug|ENOTDIR/);
  });

  it("an empty output name is a usage error everywhere, never standard output nor ./.key", () => {
    const before = readdirSync(".");
    for (const args of [
      ["sbom", "inputs/app:1", "-o", ""],
      ["scan", "inputs/app:1", "--output-vex", ""],
      ["db", "export", "-o", ""],
      ["key", "generate", "--output-key-prefix", ""],
    ]) {
      const r = cli(...args);
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(firstLine(r.stderr), args.join(" ")).toMatch(/an empty file name/);
      expect(r.stdout, args.join(" ")).toBe("");
    }
    expect(existsSync(".key")).toBe(false);
    // empty inputs and ids, and an empty date, are usage errors too, never "missing" or "all"
    for (const [args, why] of [
      [["db", "import", ""], /an empty file name/],
      [["db", "import", "x.json", " "], /an empty file name/],
      [["scan", "inputs/app:1", "--vex", ""], /an empty file name/],
      [["token", "revoke", ""], /is not a token id/],
      [["--audit-trail", "--from", "", "--to", "2026-01-01"], /--from: an empty date/],
      [["evidence", "ls", "--to", ""], /--to: an empty date/],
      [["status", "inputs/app:1", "--all"], /--all and an image/],
    ] as const) {
      const r = cli(...args);
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(why);
    }
    const dir = cli("image", "export", "inputs/app:1", "");
    expect(dir.status, dir.stderr).toBe(2);
    expect(firstLine(dir.stderr)).toMatch(/an empty directory name/);
    expect(readdirSync(".")).toEqual(before);
  });

  it("a missing key file is CORE_INPUT_UNREADABLE, and an empty input name is a usage error", () => {
    const missing = join(tempDir(), "missing.key");
    const r = cli("--json", "db", "export", "--key", missing, "-o", join(tempDir(), "x.out"));
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toContain('"code":"CORE_INPUT_UNREADABLE"');
    expect(r.stderr).not.toMatch(/looks like a bug/);
    // an empty --checkpoint verified without one, an empty --policy used the built-in policy
    for (const args of [
      ["tlog", "verify", "--checkpoint", ""],
      ["policy", "test", "--policy", "", missing],
      ["sigstore", "sign-bundle", "--key", missing, "--bundle", "", missing],
    ]) {
      const e = cli(...args);
      expect(e.status, `${args.join(" ")}: ${e.stderr}`).toBe(2);
      expect(firstLine(e.stderr), args.join(" ")).toMatch(/an empty file name/);
    }
  });

  it("a store URL that is not PostgreSQL, or not a URL, is a usage error that does not echo it", () => {
    for (const [url, why] of [
      ["mysql://root:s3cret@127.0.0.1/evidence", /--store is not a PostgreSQL URL \(mysql:\)/],
      ["postgres://root:s3cret@[bad", /--store is not a valid URL/],
    ] as const) {
      // before, the first silently used the embedded SQLite store, the second was an INTERNAL
      // error ("Invalid URL", exit 3)
      const r = cli("--store", url, "status", "inputs/app:1");
      expect(r.status).toBe(2);
      expect(firstLine(r.stderr)).toMatch(why);
      expect(r.stderr).not.toContain("s3cret");
    }
    const env = spawnSync(
      process.execPath,
      ["--import", "tsx", MAIN, "--home", home, "status", "inputs/app:1"],
      { encoding: "utf8", env: { ...process.env, CLEANIMG_STORE: "sqlite:///x" } },
    );
    expect(env.status).toBe(2);
    expect(firstLine(env.stderr)).toMatch(/CLEANIMG_STORE is not a PostgreSQL URL \(sqlite:\)/);
  });
});
