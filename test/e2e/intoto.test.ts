import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildImage,
  createAppContext,
  INTOTO_VERIFICATION_KIND,
  inspectImage,
  trustedKeys,
  trustedLogs,
  VSA_PREDICATE,
  verifyAuditTrail,
  verifyChain,
} from "../../src/app/index.js";
import { verifyEvidenceBundle } from "../../src/attest/index.js";
import { type Digest, sha256 } from "../../src/core/digest.js";
import {
  canonicalJson,
  type InTotoSigner,
  type Link,
  loadInTotoPublicKey,
  loadInTotoSigner,
  parseMetadata,
  type Rule,
  signMetadata,
  verifyItemRules,
  verifyLayout,
} from "../../src/intoto/index.js";
import { tempDir } from "../support/tmp.js";

const CORPUS = resolve(import.meta.dirname, "../../../shared/corpus/attestations/in-toto");
const GO = join(CORPUS, "golang-testdata");
const PY = join(CORPUS, "python-demo", "demo_files");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
// Debian's in-toto (the reference implementation) and its securesystemslib
const PYTHON = "/usr/bin/python3";

// tsx by its own location: the commands run in other directories
const TSX = import.meta.resolve("tsx");
const cli = (cwd: string, args: string[]) =>
  spawnSync(process.execPath, ["--import", TSX, MAIN, ...args], { cwd, encoding: "utf8" });
/** Copies the named files from one directory into another. */
const copyInto = (dst: string, src: string, files: readonly string[]): void => {
  for (const f of files) {
    cpSync(join(src, f), join(dst, f));
  }
};
const reference = (cwd: string, cmd: string, args: string[]) =>
  spawnSync(cmd, args, { cwd, encoding: "utf8" });

/** The demo's "package" step with the reference's in-toto-run options (keys in `keys`). */
const packageStep = (keys: string): string[] => [
  "-n",
  "package",
  "-k",
  join(keys, "carl"),
  "-m",
  "foo.py",
  "-p",
  "foo.tar.gz",
  "--",
  "tar",
  "zcf",
  "foo.tar.gz",
  "foo.py",
];

describe("in-toto metadata", () => {
  it("encodes canonical JSON exactly as securesystemslib does", () => {
    const values = fc.sample(
      // integers JavaScript holds exactly (securesystemslib allows no floats)
      fc
        .jsonValue({ maxDepth: 3 })
        .filter((v) => !/\d\.\d|\de[+-]?\d|\d{16,}/i.test(JSON.stringify(v))),
      200,
    );
    const py = spawnSync(
      PYTHON,
      [
        "-c",
        "import sys,json\nfrom securesystemslib.formats import encode_canonical\nfor l in sys.stdin:\n  v=json.loads(l)\n  try: sys.stdout.buffer.write(encode_canonical(v).encode()+b'\\n')\n  except Exception: sys.stdout.buffer.write(b'ERROR\\n')",
      ],
      { input: values.map((v) => JSON.stringify(v)).join("\n"), encoding: "utf8" },
    );
    expect(py.status, py.stderr).toBe(0);
    const theirs = py.stdout.split("\n").slice(0, values.length);
    values.forEach((v, i) => {
      let ours: string;
      try {
        ours = new TextDecoder().decode(canonicalJson(v));
      } catch {
        ours = "ERROR";
      }
      expect(ours, JSON.stringify(v)).toBe(theirs[i]);
    });
  });

  it("computes securesystemslib key ids and verifies the reference's link signatures (RSA, Metablock)", () => {
    const bob = loadInTotoPublicKey(readFileSync(join(PY, "bob.pub"), "utf8"));
    const carl = loadInTotoPublicKey(readFileSync(join(PY, "carl.pub"), "utf8"));
    expect(bob.keyid.slice(0, 8)).toBe("776a00e2");
    expect(carl.keyid.slice(0, 8)).toBe("2f89b927");
    const m = parseMetadata<Link>(readFileSync(join(PY, "write-code.776a00e2.link")), "link");
    expect(m.signatures[0]?.keyid).toBe(bob.keyid);
    const danny = JSON.parse(readFileSync(join(PY, "danny"), "utf8")) as { keyid: string };
    expect(loadInTotoPublicKey(readFileSync(join(PY, "danny.pub"), "utf8")).keyid).toBe(
      danny.keyid,
    );
  });
});

describe("artifact rules, against the reference implementation", () => {
  const h = (x: string) => ({ sha256: x.repeat(64).slice(0, 64) });
  const links: Record<
    string,
    { materials: Record<string, unknown>; products: Record<string, unknown> }
  > = {
    build: {
      materials: { "src/a.c": h("a"), "src/b.c": h("b"), Makefile: h("d"), "old.txt": h("e") },
      products: {
        "src/a.c": h("a"),
        "src/b.c": h("9"),
        "out/app": h("c"),
        Makefile: h("d"),
        "new.txt": h("f"),
      },
    },
    fetch: { materials: {}, products: { "a.c": h("a"), "b.c": h("b"), Makefile: h("d") } },
  };
  const cases: { kind: "materials" | "products"; rules: Rule[] }[] = [
    {
      kind: "materials",
      rules: [
        ["MATCH", "*", "IN", "src", "WITH", "PRODUCTS", "FROM", "fetch"],
        ["ALLOW", "Makefile"],
        ["DISALLOW", "*"],
      ],
    },
    {
      kind: "materials",
      rules: [
        ["MATCH", "*", "WITH", "PRODUCTS", "FROM", "fetch"],
        ["DISALLOW", "*"],
      ],
    },
    {
      kind: "materials",
      rules: [
        ["MATCH", "src/*", "WITH", "PRODUCTS", "IN", "nowhere", "FROM", "fetch"],
        ["DISALLOW", "src/*"],
      ],
    },
    {
      kind: "products",
      rules: [
        ["CREATE", "out/*"],
        ["CREATE", "new.txt"],
        ["MODIFY", "src/*"],
        ["ALLOW", "src/a.c"],
        ["ALLOW", "Makefile"],
        ["DISALLOW", "*"],
      ],
    },
    {
      kind: "products",
      rules: [
        ["MODIFY", "*"],
        ["DISALLOW", "src/b.c"],
      ],
    },
    {
      kind: "products",
      rules: [
        ["MODIFY", "src/a.c"],
        ["DISALLOW", "src/a.c"],
      ],
    },
    {
      kind: "materials",
      rules: [
        ["DELETE", "*"],
        ["DISALLOW", "old.txt"],
      ],
    },
    {
      kind: "materials",
      rules: [
        ["DELETE", "Makefile"],
        ["DISALLOW", "Makefile"],
      ],
    },
    {
      kind: "products",
      rules: [
        ["REQUIRE", "out/app"],
        ["REQUIRE", "Makefile"],
      ],
    },
    { kind: "products", rules: [["REQUIRE", "missing"]] },
    {
      kind: "products",
      rules: [
        ["ALLOW", "*"],
        ["REQUIRE", "out/app"],
      ],
    },
    {
      kind: "products",
      rules: [
        ["CREATE", "src/?.c"],
        ["DISALLOW", "src/[ab].c"],
      ],
    },
    {
      kind: "materials",
      rules: [
        ["MATCH", "*.c", "IN", "src", "WITH", "PRODUCTS", "FROM", "absent"],
        ["DISALLOW", "*"],
      ],
    },
    {
      kind: "products",
      rules: [
        ["ALLOW", "[!s]*"],
        ["DISALLOW", "*"],
      ],
    },
    {
      kind: "products",
      rules: [
        ["ALLOW", "*/*"],
        ["DISALLOW", "*"],
      ],
    },
  ];

  it("passes and fails each case as in_toto.verifylib.verify_item_rules does", () => {
    const script = `
import sys, json
from in_toto.models.link import Link
from in_toto.models.metadata import Metablock
from in_toto.verifylib import verify_item_rules
data = json.load(sys.stdin)
links = {n: Metablock(signed=Link(name=n, materials=l["materials"], products=l["products"])) for n, l in data["links"].items()}
out = []
for c in data["cases"]:
  try:
    verify_item_rules("build", c["kind"], c["rules"], links)
    out.append("pass")
  except Exception as e:
    out.append("fail")
print(json.dumps(out))
`;
    const py = spawnSync(PYTHON, ["-c", script], {
      input: JSON.stringify({ links, cases }),
      encoding: "utf8",
    });
    expect(py.status, py.stderr).toBe(0);
    const theirs = JSON.parse(py.stdout) as string[];
    const map = new Map(
      Object.entries(links).map(([n, l]) => [
        n,
        {
          _type: "link",
          name: n,
          command: [],
          byproducts: {},
          environment: {},
          ...l,
        } as unknown as Link,
      ]),
    );
    const ours = cases.map((c) => {
      try {
        verifyItemRules("build", c.kind, c.rules, map);
        return "pass";
      } catch {
        return "fail";
      }
    });
    expect(ours).toEqual(theirs);
    // both outcomes occur
    expect(new Set(ours)).toEqual(new Set(["pass", "fail"]));
  });
});

describe("step thresholds", () => {
  const signer = () =>
    loadInTotoSigner(
      generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    );
  const [a, b, c] = [signer(), signer(), signer()] as [InTotoSigner, InTotoSigner, InTotoSigner];
  const owner = signer();
  const layout = signMetadata(
    {
      _type: "layout",
      expires: "2099-01-01T00:00:00Z",
      readme: "",
      keys: Object.fromEntries([a, b, c].map((s) => [s.key.keyid, s.key])),
      steps: [
        {
          _type: "step",
          name: "build",
          pubkeys: [a.key.keyid, b.key.keyid, c.key.keyid],
          threshold: 2,
          expected_command: [],
          expected_materials: [],
          expected_products: [
            ["ALLOW", "app"],
            ["DISALLOW", "*"],
          ],
        },
      ],
      inspect: [],
    },
    [owner],
    "metablock",
  );
  const link = (products: Record<string, string>) => ({
    _type: "link",
    name: "build",
    command: [],
    materials: {},
    products: Object.fromEntries(Object.entries(products).map(([k, v]) => [k, { sha256: v }])),
    byproducts: {},
    environment: {},
  });
  const verify = (links: [InTotoSigner, InTotoSigner, Record<string, string>][]) => {
    const dir = tempDir("cleanimg-intoto-threshold-");
    for (const [named, signedBy, products] of links) {
      writeFileSync(
        join(dir, `build.${named.key.keyid.slice(0, 8)}.link`),
        signMetadata(link(products), [signedBy], "metablock"),
      );
    }
    return verifyLayout({ layout, layoutKeys: [owner.key], linkDir: dir, workDir: dir });
  };
  const app = { app: "a".repeat(64) };

  it("needs links by as many distinct authorized functionaries as the threshold, agreeing", () => {
    expect(
      verify([
        [a, a, app],
        [b, b, app],
      ]).passed,
    ).toBe(true);
    expect(verify([[a, a, app]]).failure).toEqual({
      where: "step build",
      reason: expect.stringMatching(
        /^1 validly signed link by authorized functionaries, 2 required/,
      ),
    });
    // b's file signed by c: not b's link, so one functionary only
    const forged = verify([
      [a, a, app],
      [b, c, app],
    ]);
    expect(forged.passed).toBe(false);
    expect(forged.warnings.join()).toMatch(/not validly signed by functionary/);
    expect(
      verify([
        [a, a, app],
        [c, c, { app: "b".repeat(64) }],
      ]).failure,
    ).toEqual({
      where: "step build",
      reason: "the functionaries' links disagree on materials or products",
    });
    expect(
      verify([
        [a, a, { evil: "c".repeat(64) }],
        [b, b, { evil: "c".repeat(64) }],
      ]).failure,
    ).toEqual({
      where: "step build",
      reason: 'build products: artifact evil disallowed by rule ["DISALLOW","*"]',
    });
  });
});

describe("in-toto verify on in-toto-golang's signed layouts", () => {
  const keys = [loadInTotoPublicKey(readFileSync(join(GO, "alice.pub"), "utf8"))];
  const workDir = (): string => {
    const d = tempDir("cleanimg-intoto-work-");
    cpSync(join(GO, "foo.tar.gz"), join(d, "foo.tar.gz"));
    return d;
  };
  const run = (layout: string, opts: { now?: Date; linkDir?: string; work?: string } = {}) =>
    verifyLayout({
      layout: readFileSync(join(GO, layout)),
      layoutName: layout,
      layoutKeys: keys,
      linkDir: opts.linkDir ?? GO,
      workDir: opts.work ?? workDir(),
      ...(opts.now ? { now: opts.now } : {}),
    });

  it("passes the classic and the DSSE layout, reporting steps, inspection and final product", () => {
    for (const layout of ["demo.layout", "demo.dsse.layout"]) {
      const r = run(layout);
      expect(r.failure, layout).toBeUndefined();
      expect(r.passed).toBe(true);
      expect(r.steps.map((s) => s.name)).toEqual(["write-code", "package"]);
      expect(r.inspections).toEqual([{ name: "untar", returnValue: 0 }]);
      expect(Object.keys(r.finalProducts ?? {})).toEqual(["foo.tar.gz"]);
    }
  });

  it("names what fails: signature, expiry, missing or altered links, artifact rules", () => {
    expect(run("super.layout").failure).toEqual({
      where: "layout",
      reason: `not signed by layout key ${keys[0]?.keyid}`,
    });
    expect(run("demo.layout", { now: new Date("2031-01-01") }).failure?.reason).toMatch(
      /expired at 2030-/,
    );
    // no package link
    const links = tempDir("cleanimg-intoto-links-");
    cpSync(join(GO, "write-code.b7d643de.link"), join(links, "write-code.b7d643de.link"));
    expect(run("demo.layout", { linkDir: links }).failure).toMatchObject({
      where: "step package",
      reason: expect.stringMatching(
        /^0 validly signed links by authorized functionaries, 1 required/,
      ),
    });
    // an altered link: its signature no longer holds
    const link = JSON.parse(readFileSync(join(GO, "package.d3ffd108.link"), "utf8"));
    link.signed.products["foo.tar.gz"].sha256 = "0".repeat(64);
    writeFileSync(join(links, "package.d3ffd108.link"), JSON.stringify(link));
    const altered = run("demo.layout", { linkDir: links });
    expect(altered.failure?.where).toBe("step package");
    expect(altered.warnings.join("\n")).toMatch(/not validly signed by functionary d3ffd108/);
    // the product inspected is not the one packaged
    const w = workDir();
    rmSync(join(w, "foo.tar.gz"));
    spawnSync("sh", ["-c", "echo 'print(1)' > foo.py && tar czf foo.tar.gz foo.py && rm foo.py"], {
      cwd: w,
    });
    expect(run("demo.layout", { work: w }).failure).toEqual({
      where: "inspection untar",
      reason: 'untar materials: artifact foo.tar.gz disallowed by rule ["DISALLOW","foo.tar.gz"]',
    });
  });
});

describe("interoperability with the reference implementation (Debian in-toto)", () => {
  /** The python demo's layout template, with an expiry and its inspection's tar on PATH. */
  const prepare = (): string => {
    const d = tempDir("cleanimg-intoto-py-");
    copyInto(d, PY, ["alice", "alice.pub", "bob", "carl"]);
    const t = JSON.parse(readFileSync(join(PY, "demo.layout.template"), "utf8"));
    t.signed.expires = "2030-01-01T00:00:00Z";
    t.signed.inspect[0].run = ["tar", "xfz", "foo.tar.gz"];
    // the owner closes every rule list, as the specification recommends: anything else fails
    t.signed.steps[0].expected_products.push(["DISALLOW", "*"]);
    t.signed.steps[1].expected_materials.push(["DISALLOW", "*"]);
    t.signed.steps[1].expected_products.push(["DISALLOW", "*"]);
    t.signed.inspect[0].expected_materials.push(["DISALLOW", "*"]);
    t.signed.inspect[0].expected_products.push(["ALLOW", "foo.tar.gz"], ["DISALLOW", "*"]);
    writeFileSync(join(d, "unsigned.layout"), JSON.stringify(t));
    return d;
  };

  it("signs layouts the reference verifies, and verifies layouts the reference signs", () => {
    const d = prepare();
    let r = cli(d, ["intoto", "sign", "-f", "unsigned.layout", "-k", "alice", "-o", "ours.layout"]);
    expect(r.status, r.stderr).toBe(0);
    cpSync(join(d, "unsigned.layout"), join(d, "theirs.layout"));
    r = reference(d, "in-toto-sign", ["-f", "theirs.layout", "-k", "alice"]);
    expect(r.status, r.stderr).toBe(0);
    for (const layout of ["ours.layout", "theirs.layout"]) {
      // the reference's links and product
      const w = tempDir("cleanimg-intoto-verify-");
      copyInto(w, PY, ["write-code.776a00e2.link", "package.2f89b927.link", "foo.tar.gz"]);
      const theirs = reference(w, "in-toto-verify", [
        "--layout",
        join(d, layout),
        "--layout-keys",
        join(d, "alice.pub"),
      ]);
      expect(theirs.status, `${layout}: ${theirs.stderr}`).toBe(0);
      rmSync(join(w, "foo.py"), { force: true });
      const ours = cli(w, ["intoto", "verify", "-l", join(d, layout), "-k", join(d, "alice.pub")]);
      expect(ours.status, `${layout}: ${ours.stdout}${ours.stderr}`).toBe(0);
      expect(ours.stdout).toMatch(
        /^PASSED: write-code, package; inspections untar; final products foo.tar.gz/m,
      );
    }
    // verify-only mode, both ways
    expect(
      cli(d, ["intoto", "sign", "-f", "theirs.layout", "-k", "alice.pub", "--verify"]).status,
    ).toBe(0);
    expect(
      reference(d, "in-toto-sign", ["-f", "ours.layout", "-k", "alice.pub", "--verify"]).status,
    ).toBe(0);
  });

  it("records links with intoto run that the reference accepts, and accepts links made by in-toto-run", () => {
    const d = prepare();
    expect(
      cli(d, ["intoto", "sign", "-f", "unsigned.layout", "-k", "alice", "-o", "root.layout"])
        .status,
    ).toBe(0);
    // the same two steps, with the reference's in-toto-run options, run by each implementation
    const steps = [
      [
        "-n",
        "write-code",
        "-k",
        join(d, "bob"),
        "-p",
        "foo.py",
        "--",
        "sh",
        "-c",
        "echo 'print(42)' > foo.py",
      ],
      packageStep(d),
    ];
    for (const [who, makeLinks] of [
      ["ours", (w: string) => steps.map((a) => cli(w, ["intoto", "run", ...a]))],
      ["theirs", (w: string) => steps.map((a) => reference(w, "in-toto-run", a))],
    ] as const) {
      const w = tempDir(`cleanimg-intoto-${who}-`);
      for (const r of makeLinks(w)) {
        expect(r.status, `${who}: ${r.stderr}`).toBe(0);
      }
      expect(readFileSync(join(w, "write-code.776a00e2.link"), "utf8")).toContain(
        '"return-value": 0',
      );
      // verified in a clean directory holding only the links and the product
      for (const verifier of ["ours", "theirs"]) {
        const v = tempDir("cleanimg-intoto-v-");
        copyInto(v, w, ["write-code.776a00e2.link", "package.2f89b927.link", "foo.tar.gz"]);
        const r =
          verifier === "ours"
            ? cli(v, ["intoto", "verify", "-l", join(d, "root.layout"), "-k", join(d, "alice.pub")])
            : reference(v, "in-toto-verify", [
                "--layout",
                join(d, "root.layout"),
                "--layout-keys",
                join(d, "alice.pub"),
              ]);
        expect(r.status, `links by ${who}, verified by ${verifier}: ${r.stdout}${r.stderr}`).toBe(
          0,
        );
      }
      // a product swapped after packaging fails both
      const v = tempDir("cleanimg-intoto-swap-");
      copyInto(v, w, ["write-code.776a00e2.link", "package.2f89b927.link"]);
      spawnSync(
        "sh",
        ["-c", "echo 'print(666)' > foo.py && tar zcf foo.tar.gz foo.py && rm foo.py"],
        { cwd: v },
      );
      const ours = cli(v, [
        "intoto",
        "verify",
        "-l",
        join(d, "root.layout"),
        "-k",
        join(d, "alice.pub"),
      ]);
      expect(ours.status).toBe(1);
      expect(ours.stdout).toMatch(/FAILED at inspection untar/);
      rmSync(join(v, "foo.py"), { force: true });
      const theirs = reference(v, "in-toto-verify", [
        "--layout",
        join(d, "root.layout"),
        "--layout-keys",
        join(d, "alice.pub"),
      ]);
      expect(theirs.status).not.toBe(0);
    }
  });

  it("creates a layout from a readable YAML description that the reference verifies", () => {
    const d = prepare();
    copyInto(d, PY, ["bob.pub", "carl.pub"]);
    writeFileSync(
      join(d, "layout.yaml"),
      `expires: 30d
readme: the demo supply chain
keys:
  bob: bob.pub
  carl: carl.pub
steps:
  - name: write-code
    functionaries: [bob]
    products: [CREATE foo.py, DISALLOW *]
  - name: package
    functionaries: [carl]
    expected_command: tar zcvf foo.tar.gz foo.py
    materials: [MATCH foo.py WITH PRODUCTS FROM write-code, DISALLOW *]
    products: [CREATE foo.tar.gz, ALLOW foo.py, DISALLOW *]
inspect:
  - name: untar
    run: [tar, xfz, foo.tar.gz]
    materials: [MATCH foo.tar.gz WITH PRODUCTS FROM package, DISALLOW *]
    products: [MATCH foo.py WITH PRODUCTS FROM write-code, ALLOW foo.tar.gz, DISALLOW *]
`,
    );
    const made = cli(d, [
      "intoto",
      "layout",
      "create",
      "-f",
      "layout.yaml",
      "-k",
      "alice",
      "-o",
      "made.layout",
    ]);
    expect(made.status, made.stderr).toBe(0);
    const w = tempDir("cleanimg-intoto-made-");
    copyInto(w, PY, ["write-code.776a00e2.link", "package.2f89b927.link", "foo.tar.gz"]);
    const theirs = reference(w, "in-toto-verify", [
      "--layout",
      join(d, "made.layout"),
      "--layout-keys",
      join(d, "alice.pub"),
    ]);
    expect(theirs.status, theirs.stderr).toBe(0);
    rmSync(join(w, "foo.py"), { force: true });
    expect(
      cli(w, ["intoto", "verify", "-l", join(d, "made.layout"), "-k", join(d, "alice.pub")]).status,
    ).toBe(0);
    // a wrong rule is named where it is
    writeFileSync(
      join(d, "bad.yaml"),
      "expires: 30d\nkeys: {bob: bob.pub}\nsteps:\n  - name: a\n    functionaries: [bob]\n    products: [MATCH foo WITH NOTHING]\n",
    );
    const bad = cli(d, [
      "intoto",
      "layout",
      "create",
      "-f",
      "bad.yaml",
      "-k",
      "alice",
      "-o",
      "bad.layout",
    ]);
    expect(bad.status).toBe(3); // the description file is bad input, not a bad command line
    expect(bad.stderr).toMatch(/steps\[0\]\.products\[0\]: malformed rule/);
  });

  it("reads the keys in-toto-keygen writes and records steps with intoto record start/stop", () => {
    const d = prepare();
    for (const [name, type] of [
      ["ed", "ed25519"],
      ["ec", "ecdsa"],
    ]) {
      const r = reference(d, "in-toto-keygen", ["-t", type as string, name as string]);
      expect(r.status, r.stderr).toBe(0);
    }
    writeFileSync(
      join(d, "layout.yaml"),
      `expires: 1d
keys: {ed: ed.pub, ec: ec.pub}
steps:
  - name: write-code
    functionaries: [ed]
    products: [CREATE foo.py, DISALLOW *]
  - name: package
    functionaries: [ec]
    materials: [MATCH foo.py WITH PRODUCTS FROM write-code, DISALLOW *]
    products: [CREATE foo.tar.gz, ALLOW foo.py, DISALLOW *]
`,
    );
    expect(
      cli(d, [
        "intoto",
        "layout",
        "create",
        "-f",
        "layout.yaml",
        "-k",
        "alice",
        "-o",
        "root.layout",
      ]).status,
    ).toBe(0);
    const w = tempDir("cleanimg-intoto-record-");
    let r = cli(w, ["intoto", "record", "start", "-n", "write-code", "-k", join(d, "ed")]);
    expect(r.status, r.stderr).toBe(0);
    writeFileSync(join(w, "foo.py"), "print(7)\n");
    r = cli(w, [
      "intoto",
      "record",
      "stop",
      "-n",
      "write-code",
      "-k",
      join(d, "ed"),
      "-p",
      "foo.py",
    ]);
    expect(r.status, r.stderr).toBe(0);
    r = cli(w, [
      "intoto",
      "run",
      "-n",
      "package",
      "-k",
      join(d, "ec"),
      "-m",
      "foo.py",
      "-p",
      "foo.tar.gz",
      "--",
      "tar",
      "zcf",
      "foo.tar.gz",
      "foo.py",
    ]);
    expect(r.status, r.stderr).toBe(0);
    const v = tempDir("cleanimg-intoto-record-v-");
    for (const f of readdirSync(w).filter((f) => f.endsWith(".link"))) {
      cpSync(join(w, f), join(v, f));
    }
    expect(readdirSync(w).some((f) => f.endsWith("link-unfinished"))).toBe(false);
    const theirs = reference(v, "in-toto-verify", [
      "--layout",
      join(d, "root.layout"),
      "--layout-keys",
      join(d, "alice.pub"),
    ]);
    expect(theirs.status, theirs.stderr).toBe(0);
    expect(
      cli(v, ["intoto", "verify", "-l", join(d, "root.layout"), "-k", join(d, "alice.pub")]).status,
    ).toBe(0);
    // and the reference's links with the same Ed25519 and ECDSA keys verify with ours
    const t = tempDir("cleanimg-intoto-ref-keys-");
    for (const [step, key, type, args] of [
      [
        "write-code",
        "ed",
        "ed25519",
        ["-p", "foo.py", "--", "sh", "-c", "echo 'print(8)' > foo.py"],
      ],
      [
        "package",
        "ec",
        "ecdsa",
        ["-m", "foo.py", "-p", "foo.tar.gz", "--", "tar", "zcf", "foo.tar.gz", "foo.py"],
      ],
    ] as const) {
      const made = reference(t, "in-toto-run", [
        "-n",
        step,
        "-k",
        join(d, key),
        "-t",
        type,
        ...args,
      ]);
      expect(made.status, made.stderr).toBe(0);
    }
    const tv = tempDir("cleanimg-intoto-ref-keys-v-");
    for (const f of readdirSync(t).filter((f) => f.endsWith(".link") || f === "foo.tar.gz")) {
      cpSync(join(t, f), join(tv, f));
    }
    const mixed = cli(tv, [
      "intoto",
      "verify",
      "-l",
      join(d, "root.layout"),
      "-k",
      join(d, "alice.pub"),
    ]);
    expect(mixed.status, mixed.stdout + mixed.stderr).toBe(0);
    // one flipped bit in the layout's signature: refused, naming the layout key
    const signed = JSON.parse(readFileSync(join(d, "root.layout"), "utf8"));
    const sig = signed.signatures[0].sig as string;
    signed.signatures[0].sig = `${sig.slice(0, -1)}${sig.endsWith("0") ? "1" : "0"}`;
    writeFileSync(join(d, "tampered.layout"), JSON.stringify(signed));
    const tampered = cli(tv, [
      "intoto",
      "verify",
      "-l",
      join(d, "tampered.layout"),
      "-k",
      join(d, "alice.pub"),
    ]);
    expect(tampered.status).toBe(1);
    expect(tampered.stdout).toMatch(/FAILED at layout: not signed by layout key [0-9a-f]{64}/);
    // stop with another key than start: refused
    cli(w, ["intoto", "record", "start", "-n", "x", "-k", join(d, "ed")]);
    const other = cli(w, ["intoto", "record", "stop", "-n", "x", "-k", join(d, "ec")]);
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/no preliminary link .*\.x\.[0-9a-f]{8}\.link-unfinished/);
  });

  it("records a verification as a signed SLSA verification summary in the image's evidence", async () => {
    const d = prepare();
    expect(
      cli(d, ["intoto", "sign", "-f", "unsigned.layout", "-k", "alice", "-o", "root.layout"])
        .status,
    ).toBe(0);
    const home = tempDir("cleanimg-intoto-home-");
    const ctx = createAppContext({ home, env: { SOURCE_DATE_EPOCH: "1700000000" } });
    writeFileSync(
      join(d, "cleanimg.yaml"),
      "image: demo/app:1.0.0\nfiles:\n  - src: root.layout\n    dst: /etc/root.layout\n",
    );
    // built under the python demo's supply chain: its links are named in the provenance
    const linkDir = tempDir("cleanimg-intoto-build-links-");
    copyInto(linkDir, PY, ["write-code.776a00e2.link", "package.2f89b927.link"]);
    await buildImage(ctx, { spec: join(d, "cleanimg.yaml"), intotoLinks: linkDir });
    const image = (await inspectImage(ctx, "demo/app:1.0.0", { record: false })).manifest.digest;
    const w = tempDir("cleanimg-intoto-vsa-");
    copyInto(w, PY, ["write-code.776a00e2.link", "package.2f89b927.link", "foo.tar.gz"]);
    const env = { ...process.env, CLEANIMG_HOME: home };
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        TSX,
        MAIN,
        "intoto",
        "verify",
        "-l",
        join(d, "root.layout"),
        "-k",
        join(d, "alice.pub"),
        "--image",
        "demo/app:1.0.0",
      ],
      { cwd: w, encoding: "utf8", env },
    );
    expect(r.status, r.stderr).toBe(0);
    const recorded = await ctx.evidence().find({ subject: image, kind: INTOTO_VERIFICATION_KIND });
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.annotations["result"]).toBe("PASSED");
    const v = verifyEvidenceBundle(
      (await ctx.evidence().getBlob(recorded[0]?.evidence as Digest)).bytes,
      await trustedKeys(ctx),
      await trustedLogs(ctx),
    );
    expect(v.statement.predicateType).toBe(VSA_PREDICATE);
    const p = v.statement.predicate as {
      verificationResult: string;
      inputAttestations: { uri: string; digest: { sha256: string } }[];
      policy: { digest: { sha256: string } };
      verifiedLevels: unknown[];
    };
    expect(p.verificationResult).toBe("PASSED");
    expect(p.verifiedLevels).toEqual([]);
    expect(p.inputAttestations.map((a) => a.uri).sort()).toEqual([
      "package.2f89b927.link",
      "write-code.776a00e2.link",
    ]);
    expect(
      `sha256:${p.inputAttestations.find((a) => a.uri.startsWith("package"))?.digest.sha256}`,
    ).toBe(sha256(readFileSync(join(w, "package.2f89b927.link"))));
    expect(`sha256:${p.policy.digest.sha256}`).toBe(sha256(readFileSync(join(d, "root.layout"))));
    expect((await verifyAuditTrail(ctx)).intact).toBe(true);
    const prov = (await verifyChain(ctx, image)).links.find((l) => l.stage === "provenance");
    // the provenance link's document is the signed SLSA provenance bundle
    const provBundle = JSON.parse(
      Buffer.from((await ctx.evidence().getBlob(prov?.evidence as Digest)).bytes).toString(),
    );
    const provDoc = JSON.parse(Buffer.from(provBundle.dsseEnvelope.payload, "base64").toString());
    const deps = provDoc.predicate.buildDefinition.resolvedDependencies as {
      name?: string;
      digest: { sha256: string };
    }[];
    for (const f of ["package.2f89b927.link", "write-code.776a00e2.link"]) {
      expect(deps.find((x) => x.name === `in-toto:${f}`)?.digest.sha256).toBe(
        sha256(readFileSync(join(PY, f))).slice(7),
      );
    }
    expect(await ctx.evidence().find({ subject: image, kind: "intoto-link" })).toHaveLength(2);
    await ctx.close();
  });

  it("verifies sublayouts as the reference does: the functionary's layout over its own links", () => {
    const d = prepare();
    copyInto(d, PY, ["bob.pub", "carl.pub"]);
    // the owner delegates step "code" to bob, who lays out how it is done: carl writes foo.py
    writeFileSync(
      join(d, "super.yaml"),
      "expires: 1d\nkeys: {bob: bob.pub, carl: carl.pub}\nsteps:\n  - name: code\n    functionaries: [bob]\n    products: [CREATE foo.py, DISALLOW *]\n  - name: package\n    functionaries: [carl]\n    materials: [MATCH foo.py WITH PRODUCTS FROM code, DISALLOW *]\n    products: [CREATE foo.tar.gz, ALLOW foo.py, DISALLOW *]\n",
    );
    writeFileSync(
      join(d, "sub.yaml"),
      "expires: 1d\nkeys: {carl: carl.pub}\nsteps:\n  - name: write\n    functionaries: [carl]\n    products: [CREATE foo.py, DISALLOW *]\n",
    );
    expect(
      cli(d, ["intoto", "layout", "create", "-f", "super.yaml", "-k", "alice", "-o", "root.layout"])
        .status,
    ).toBe(0);
    const w = tempDir("cleanimg-intoto-sub-");
    // the sublayout, signed by bob, is the link of step "code"; its own links are in code.776a00e2/
    expect(
      cli(d, [
        "intoto",
        "layout",
        "create",
        "-f",
        "sub.yaml",
        "-k",
        "bob",
        "-o",
        join(w, "code.776a00e2.link"),
      ]).status,
    ).toBe(0);
    const subdir = join(w, "code.776a00e2");
    mkdirSync(subdir);
    expect(
      cli(w, [
        "intoto",
        "run",
        "-n",
        "write",
        "-k",
        join(d, "carl"),
        "-p",
        "foo.py",
        "-d",
        subdir,
        "--",
        "sh",
        "-c",
        "echo 'print(5)' > foo.py",
      ]).status,
    ).toBe(0);
    expect(cli(w, ["intoto", "run", ...packageStep(d)]).status).toBe(0);
    rmSync(join(w, "foo.py"));
    const theirs = reference(w, "in-toto-verify", [
      "--layout",
      join(d, "root.layout"),
      "--layout-keys",
      join(d, "alice.pub"),
    ]);
    expect(theirs.status, theirs.stderr).toBe(0);
    const ours = cli(w, [
      "intoto",
      "verify",
      "-l",
      join(d, "root.layout"),
      "-k",
      join(d, "alice.pub"),
    ]);
    expect(ours.status, ours.stdout + ours.stderr).toBe(0);
    // the sublayout's link altered: both fail, ours naming the step and the sublayout's step
    const link = JSON.parse(readFileSync(join(subdir, "write.2f89b927.link"), "utf8"));
    link.signed.products["foo.py"].sha256 = "0".repeat(64);
    writeFileSync(join(subdir, "write.2f89b927.link"), JSON.stringify(link));
    expect(
      reference(w, "in-toto-verify", [
        "--layout",
        join(d, "root.layout"),
        "--layout-keys",
        join(d, "alice.pub"),
      ]).status,
    ).not.toBe(0);
    const bad = cli(w, [
      "intoto",
      "verify",
      "-l",
      join(d, "root.layout"),
      "-k",
      join(d, "alice.pub"),
    ]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(
      /FAILED at step code: sublayout .*code\.776a00e2\.link: step write: 0 validly signed links/,
    );
  });
});
