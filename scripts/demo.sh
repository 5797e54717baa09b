#!/usr/bin/env bash
# The main job on the embedded default: no services. The design's flow on real data:
#   build (examples/demo/cleanimg.yaml: Debian 12 packages with Python and a Go program, and an
#   app with pinned Python requirements and a Go tool from npm) -> scan with VEX -> policy ->
#   FedRAMP report (JSON and HTML) -> compliance status -> audit trail.
# Network only for set-up: npm (dependencies, the esbuild binary) and Debian's archive (the
# packages of the build, cached). The product itself stays offline: its vulnerability data is
# imported from ../shared/corpus/vulndb.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
CLI="node $PWD/dist/cli/main.js"
HOME_DIR="${CLEANIMG_HOME:-$HOME/.cleanimg}"
export CLEANIMG_HOME="$HOME_DIR"
WORK="$HOME_DIR/demo"
OUT="$WORK/out"
mkdir -p "$WORK" "$OUT"
step() { printf '\n== %s\n' "$*"; }

step "the build context: examples/demo (the shipped spec and app)"
rm -rf "$WORK/context"
cp -r examples/demo "$WORK/context"
ESBUILD="$HOME_DIR/cache/npm/esbuild-linux-x64-0.17.19"
if [ ! -x "$ESBUILD/package/bin/esbuild" ]; then
  rm -rf "$ESBUILD" && mkdir -p "$ESBUILD"
  (cd "$ESBUILD" && npm pack -q @esbuild/linux-x64@0.17.19 >/dev/null && tar -xzf ./*.tgz)
fi
mkdir -p "$WORK/context/app/bin"
cp "$ESBUILD/package/bin/esbuild" "$WORK/context/app/bin/esbuild"
echo "app/: main.py, requirements.txt ($(grep -c '==' examples/demo/app/requirements.txt) pins), bin/esbuild (Go, from npm @esbuild/linux-x64@0.17.19)"

step "building demo/app:1.0.0 from real Debian packages (signed provenance, SBOM)"
t0=$(date +%s)
(cd "$WORK/context" && SOURCE_DATE_EPOCH=1700000000 $CLI --build --image demo/app:1.0.0)
echo "(built in $(($(date +%s) - t0)) s)"

step "vulnerability data: the corpus snapshot (offline; db update fetches current data)"
DATA=../shared/corpus/vulndb
if [ -d "$DATA" ]; then
  $CLI db import "$DATA"/*.jsonl.gz "$DATA"/*.tar.gz "$DATA"/kev/known_exploited_vulnerabilities.json.gz
else
  echo "(no ../shared/corpus/vulndb: run $CLI db update, or db import PATH)"
fi
$CLI db status || true

step "scanning it with VEX (every finding gets a statement; not_affected only with its proof)"
t0=$(date +%s)
$CLI --scan --image demo/app:1.0.0 --output-vex "$OUT/report.vex" || echo "(exit code $?)"
echo "(scanned in $(($(date +%s) - t0)) s; VEX in $OUT/report.vex)"
node -e '
const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const by = {};
for (const s of v.statements) {
  const k = s.status + (s.justification ? ` (${s.justification})` : "");
  by[k] = (by[k] ?? 0) + 1;
}
console.log("VEX statements by status:");
for (const [k, n] of Object.entries(by).sort()) console.log(`  ${String(n).padStart(4)}  ${k}`);
const proved = v.statements.find((s) => s.status === "not_affected");
if (proved) {
  console.log("one not_affected statement and its evidence:");
  console.log(`  ${proved.vulnerability.name} in ${proved.products?.[0]?.subcomponents?.[0]?.["@id"] ?? proved.products?.[0]?.["@id"]}`);
  console.log(`  ${proved.impact_statement.slice(0, 400)}`);
}
' "$OUT/report.vex"

step "its evidence chain (provenance -> SBOM -> scan -> VEX), each link signed and logged"
$CLI verify --image demo/app:1.0.0 || echo "(exit code $?)"

step "the policy decision (the design's rules, CEL)"
$CLI policy eval --image demo/app:1.0.0 || echo "(exit code $?: denied)"

step "the FedRAMP report (JSON and HTML)"
$CLI --compliance fedramp --image demo/app:1.0.0 --output "$OUT/compliance-report.json"
$CLI report fedramp --image demo/app:1.0.0 --format html -o "$OUT/compliance-report.html"
ls -l "$OUT/compliance-report.json" "$OUT/compliance-report.html"

step "the design's compliance check list (FAIL/UNKNOWN where the evidence cannot show PASS)"
$CLI --compliance-status --image demo/app:1.0.0 || echo "(exit code $?: not compliant)"

step "the fleet table"
$CLI --compliance-status --all || echo "(exit code $?: some images not ready)"

step "the audit trail, and its verification"
$CLI --audit-trail --from="$(date -u +%Y-%m-%d)" --to="$(date -u +%Y-%m-%d)"
$CLI audit verify

printf '\n== done in %s s; outputs in %s\n' "$(($(date +%s) - started))" "$OUT"
