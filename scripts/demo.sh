#!/usr/bin/env bash
# The main job on the embedded default: offline, no services.
# Sets up (npm ci, build), makes a sample image from Debian packages installed on this machine,
# puts it in the local image store and records its evidence in the default evidence store
# ($CLEANIMG_HOME, default ~/.cleanimg), then shows what was recorded.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
CLI="node dist/cli/main.js"
HOME_DIR="${CLEANIMG_HOME:-$HOME/.cleanimg}"
SAMPLE="$HOME_DIR/samples/debian-sample"
rm -rf "$SAMPLE"
mkdir -p "$HOME_DIR/samples"
echo "== making a sample image from installed Debian packages"
node --import tsx scripts/sample-image.ts "$SAMPLE"
echo "== copying it into the local image store as sample/debian:12"
$CLI image copy "oci:$SAMPLE:sample" sample/debian:12
echo "== inspecting it (manifest and config are verified and recorded as evidence)"
$CLI image inspect sample/debian:12
echo "== walking its merged filesystem (the file inventory is recorded as evidence)"
$CLI image files sample/debian:12 > "$HOME_DIR/samples/debian-sample.files.txt"
echo "$(wc -l < "$HOME_DIR/samples/debian-sample.files.txt") files listed in $HOME_DIR/samples/debian-sample.files.txt"
DIGEST=$($CLI image inspect sample/debian:12 --json --no-evidence | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).manifest.digest))')
echo "== evidence recorded for $DIGEST in $HOME_DIR/evidence"
$CLI evidence ls --subject "$DIGEST"
echo "== writing its SBOM (SPDX 3.0.1; recorded as evidence too)"
SOURCE_DATE_EPOCH=1700000000 $CLI sbom sample/debian:12 --format spdx-3 -o "$HOME_DIR/samples/debian-sample.spdx3.json"
echo "== vulnerability data"
if [ -d ../shared/corpus/vulndb ]; then
  $CLI db import ../shared/corpus/vulndb
else
  echo "(no vulnerability data at ../shared/corpus/vulndb: import OSV, Debian or Alpine data with: $CLI db import PATH)"
fi
echo "== scanning it (the design's form) with VEX; packages without data are named, not reported clean"
$CLI --scan --image sample/debian:12 --output-vex "$HOME_DIR/samples/report.vex" || echo "(exit code $?)"
echo "== evidence recorded for $DIGEST"
$CLI evidence ls --subject "$DIGEST"
echo "== its evidence chain (SBOM -> scan -> VEX), each link signed and in the embedded transparency log"
$CLI verify --image sample/debian:12 || echo "(exit code $?)"
echo "== the design's compliance check list (FAIL/UNKNOWN where the evidence cannot show PASS)"
$CLI --compliance-status --image sample/debian:12 || echo "(exit code $?: not compliant)"
echo "== the fleet table"
$CLI --compliance-status --all || echo "(exit code $?: some images not ready)"
echo "== the audit trail, and its verification"
$CLI --audit-trail --from="$(date -u +%Y-%m-%d)" --to="$(date -u +%Y-%m-%d)"
$CLI audit verify
