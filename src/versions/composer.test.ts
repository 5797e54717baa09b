import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { composerComparator, normalizeComposerVersion } from "./composer.js";

/**
 * Composer's own code is the oracle: Debian's php-composer-semver (VersionParser::normalize, then
 * PHP's version_compare, as Composer's constraints compare) run by php-cli on the same pairs.
 */
const ORACLE = String.raw`
require "/usr/share/php/Composer/Semver/autoload.php";
$p = new Composer\Semver\VersionParser();
while (($line = fgets(STDIN)) !== false) {
  $j = json_decode($line, true);
  try { $a = $p->normalize($j["a"]); $b = $p->normalize($j["b"]); }
  catch (Exception $e) { echo json_encode(["na" => null]), "\n"; continue; }
  echo json_encode(["na" => $a, "nb" => $b, "cmp" => version_compare($a, $b)]), "\n";
}`;

function oracle(pairs: [string, string][]): { na: string | null; nb?: string; cmp?: number }[] {
  const out = execFileSync("php", ["-r", ORACLE], {
    input: pairs.map(([a, b]) => JSON.stringify({ a, b })).join("\n"),
    encoding: "utf8",
  });
  return out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

const SAMPLES = [
  "1.0.0",
  "1.0",
  "1",
  "v1.0.0",
  "1.0.0.0",
  "1.0.1",
  "1.10.0",
  "2.0.0-alpha",
  "2.0.0-alpha1",
  "2.0.0-a2",
  "2.0.0-beta",
  "2.0.0-beta.2",
  "2.0.0-b3",
  "2.0.0-RC1",
  "2.0.0-rc2",
  "2.0.0",
  "2.0.0-patch1",
  "2.0.0-pl2",
  "2.0.0-p3",
  "2.0.0-dev",
  "2.0.0+build.5",
  "v6.4.1",
  "6.4.10",
  "1.2.3.4",
  "20100102",
  "2010-01-02",
  "2010.01.02.10",
  "1.0.0-stable",
  "3.0.0@beta",
  "1.0.0 as 2.0.0",
  "dev-main",
  "1.x-dev",
  "not-a-version",
];

describe("Composer versions", () => {
  it("normalizes and orders every pair of sample versions as composer/semver does", () => {
    const pairs: [string, string][] = SAMPLES.flatMap((a) =>
      SAMPLES.map((b) => [a, b] as [string, string]),
    );
    const truth = oracle(pairs);
    pairs.forEach(([a, b], i) => {
      const t = truth[i] as { na: string | null; nb?: string; cmp?: number };
      if (t.na === null) {
        expect(composerComparator.isValid(a) && composerComparator.isValid(b), `${a} ${b}`).toBe(
          false,
        );
        return;
      }
      // branches (Composer gives them "dev-NAME" or 9999999 parts) are refused, not ordered
      const branch = (n?: string) => /^dev-|9999999/.test(n ?? "");
      if (branch(t.na) || branch(t.nb)) {
        expect(composerComparator.isValid(branch(t.na) ? a : b), `${a} ${b}`).toBe(false);
        return;
      }
      expect(normalizeComposerVersion(a), a).toBe(t.na);
      expect(normalizeComposerVersion(b), b).toBe(t.nb);
      expect(composerComparator.compare(a, b), `${a} vs ${b}`).toBe(t.cmp);
    });
  });

  it("agrees with composer/semver on generated versions", () => {
    const part = fc.integer({ min: 0, max: 30 }).map(String);
    const version = fc
      .tuple(
        fc.constantFrom("", "v"),
        fc.array(part, { minLength: 1, maxLength: 4 }),
        fc.constantFrom(
          "",
          "-alpha",
          "-beta",
          "-RC",
          "-rc",
          "-patch",
          "-p",
          "-a",
          "-b",
          ".beta",
          "-dev",
        ),
        fc.constantFrom("", "1", "2", ".3", "10"),
      )
      .map(([v, parts, mod, n]) => `${v}${parts.join(".")}${mod}${mod && mod !== "-dev" ? n : ""}`);
    const pairs = fc.sample(fc.tuple(version, version), { numRuns: 2000, seed: 42 });
    const truth = oracle(pairs);
    pairs.forEach(([a, b], i) => {
      const t = truth[i] as { na: string | null; cmp?: number };
      if (t.na === null) {
        expect(composerComparator.isValid(a) && composerComparator.isValid(b), `${a} ${b}`).toBe(
          false,
        );
      } else {
        expect(composerComparator.compare(a, b), `${a} vs ${b}`).toBe(t.cmp);
      }
    });
  });
});
