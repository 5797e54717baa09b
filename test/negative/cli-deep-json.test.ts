import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadInTotoSigner, signMetadata } from "../../src/intoto/index.js";
import { tempDir } from "../support/tmp.js";

// JSON files given on the command line, nested 200k levels deep inside a plausible document:
// each is refused before it is walked (exit 3: hostile input) with a message naming the file,
// never "Maximum call stack size exceeded" or a "bug". Also the stdin of version compare
// --batch, whose lines each get an answer: the deep one an error naming its line.

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const home = tempDir();
const cli = (args: string[], input?: string) =>
  spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", home, ...args], {
    encoding: "utf8",
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
    ...(input !== undefined ? { input } : {}),
    env: { ...process.env, CLEANIMG_PASSWORD: "pw" },
  });
const DEEP = `${'{"a":['.repeat(100_000)}1${"]}".repeat(100_000)}`;
const dir = tempDir();
const file = (name: string, body: string): string => {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
};
const refusedNaming = (r: ReturnType<typeof cli>, path: string, what: string): void => {
  expect(r.stderr, what).not.toMatch(/Maximum call stack|looks like a bug|RangeError/);
  expect(r.status, `${what}: ${r.stderr.slice(0, 300)}`).toBe(3);
  const first = r.stderr.split("\n")[0] ?? "";
  expect(first, what).toContain(path);
  expect(first, what).toMatch(/nested more than 256 levels deep/);
};

const pem = generateKeyPairSync("ec", { namedCurve: "P-256" });
const pub = file("p.pub", pem.publicKey.export({ type: "spki", format: "pem" }) as string);
const priv = file("p.key", pem.privateKey.export({ type: "pkcs8", format: "pem" }) as string);
const shallowRoot = file("root.json", "{}\n");
const artifact = file("artifact.bin", "hello\n");

describe("deeply nested JSON inputs of the command line", { timeout: 600_000 }, () => {
  const ownerPair = generateKeyPairSync("ed25519");
  const owner = loadInTotoSigner(
    ownerPair.privateKey.export({ type: "pkcs8", format: "pem" }) as string,
  );
  const ownerPub = file(
    "owner.pub",
    ownerPair.publicKey.export({ type: "spki", format: "pem" }) as string,
  );

  it("evidence import, catalog import and policy test", () => {
    const ev = file(
      "evidence.json",
      `{"image":{"digest":"sha256:${"a".repeat(64)}"},"items":[${DEEP}]}`,
    );
    refusedNaming(cli(["evidence", "import", ev]), ev, "evidence import");
    const cat = file("catalog.json", `{"catalog":${DEEP}}`);
    refusedNaming(cli(["catalog", "import", cat]), cat, "catalog import");
    const fx = file("fixture.json", `{"input":${DEEP},"expect":{"allow":true}}`);
    refusedNaming(cli(["policy", "test", fx]), fx, "policy test");
  });

  it("intoto verify: the layout, a link, a JSON key", () => {
    const layout = file("deep.layout", `{"signed":${DEEP},"signatures":[]}`);
    refusedNaming(
      cli(["intoto", "verify", "-l", layout, "-k", ownerPub]),
      layout,
      "intoto verify layout",
    );
    const dsse = file(
      "deep-dsse.layout",
      JSON.stringify({
        payloadType: "application/vnd.in-toto+json",
        payload: Buffer.from(`{"_type":"layout","x":${DEEP}}`).toString("base64"),
        signatures: [],
      }),
    );
    refusedNaming(
      cli(["intoto", "verify", "-l", dsse, "-k", ownerPub]),
      dsse,
      "intoto verify DSSE layout",
    );
    const functionary = loadInTotoSigner(
      generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    );
    const good = file(
      "good.layout",
      new TextDecoder().decode(
        signMetadata(
          {
            _type: "layout",
            expires: "2099-01-01T00:00:00Z",
            readme: "",
            keys: { [functionary.key.keyid]: functionary.key },
            steps: [
              {
                _type: "step",
                name: "build",
                pubkeys: [functionary.key.keyid],
                threshold: 1,
                expected_command: [],
                expected_materials: [],
                expected_products: [],
              },
            ],
            inspect: [],
          },
          [owner],
          "metablock",
        ),
      ),
    );
    const links = join(dir, "links");
    mkdirSync(links);
    const link = join(links, `build.${functionary.key.keyid.slice(0, 8)}.link`);
    writeFileSync(
      link,
      `{"signed":{"_type":"link","name":"build","materials":${DEEP}},"signatures":[]}`,
    );
    refusedNaming(
      cli(["intoto", "verify", "-l", good, "-k", ownerPub, "-d", links]),
      link,
      "intoto verify link",
    );
    const jsonKey = file("key.json", `{"keytype":"ed25519","scheme":"ed25519","keyval":${DEEP}}`);
    refusedNaming(
      cli(["intoto", "verify", "-l", good, "-k", jsonKey, "-d", links]),
      jsonKey,
      "intoto verify JSON key",
    );
  });

  it("bundle verify and verify-provenance: bundles and trusted roots", () => {
    const bundle = file(
      "deep.sigstore.json",
      `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":${DEEP}}`,
    );
    const root = file("deep-root.json", `{"tlogs":${DEEP}}`);
    const shallowBundle = file("b.sigstore.json", "{}\n");
    refusedNaming(
      cli(["bundle", "verify", bundle, "--trusted-root", shallowRoot, "--key", pub]),
      bundle,
      "bundle verify bundle",
    );
    refusedNaming(
      cli(["bundle", "verify", shallowBundle, "--trusted-root", root, "--key", pub]),
      root,
      "bundle verify trusted root",
    );
    const prov = file("deep.intoto.jsonl", `{"x":${DEEP}}\n`);
    const provArgs = ["--source-uri", "github.com/o/r", "--builder-id", "https://b"];
    refusedNaming(
      cli([
        "verify-provenance",
        artifact,
        "--provenance-path",
        prov,
        "--trusted-root",
        shallowRoot,
        ...provArgs,
      ]),
      prov,
      "verify-provenance provenance",
    );
    refusedNaming(
      cli([
        "verify-provenance",
        artifact,
        "--provenance-path",
        prov,
        "--trusted-root",
        root,
        ...provArgs,
      ]),
      root,
      "verify-provenance trusted root",
    );
    const config = file("signing_config.json", `{"caUrls":${DEEP}}`);
    refusedNaming(
      cli([
        "sigstore",
        "sign-bundle",
        "--bundle",
        join(dir, "out.sigstore.json"),
        "--key",
        priv,
        "--signing-config",
        config,
        artifact,
      ]),
      config,
      "sigstore sign-bundle signing config",
    );
  });

  it("db import --key: the signed export's envelope", () => {
    const env = file(
      "export.dsse.json",
      `{"payloadType":"application/vnd.cleanimg.vulndb.v1+jsonl+gzip","payload":"","signatures":${DEEP}}`,
    );
    refusedNaming(cli(["db", "import", env, "--key", pub]), env, "db import --key");
  });

  it("version compare --batch answers a deep line with an error naming it, and goes on", () => {
    const r = cli(
      ["version", "compare", "--ecosystem", "Debian", "--batch"],
      `{"a":"1.0-1","b":"1.0-2"}\n{"a":${DEEP},"b":"1"}\n{"a":"2","b":"1"}\n`,
    );
    expect(r.stderr).not.toMatch(/Maximum call stack|looks like a bug/);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({ cmp: -1 });
    expect(JSON.parse(lines[1] ?? "")).toEqual({
      cmp: null,
      error: expect.stringMatching(/line 2 is nested more than 256 levels deep/),
    });
    expect(JSON.parse(lines[2] ?? "")).toMatchObject({ cmp: 1 });
  });
});
