#!/usr/bin/env bash
# Runs every test on a fresh Debian machine: installs the Debian packages the tests use
# (apt-get, as root or through sudo), installs npm dependencies, then lint + format check,
# type check, unit and end-to-end tests (the tests start the registry they need on
# 127.0.0.1), build, and a smoke test of the built command line.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages used by the tests:
#   docker-registry  the CNCF distribution registry (started on 127.0.0.1 by the tests)
#   skopeo, umoci    cross-checks of what we read and write
#   apache2-utils    htpasswd for the registry's Basic authentication
#   zstd             zstd-compressed layers;  openssl: the token service's certificate
#   util-linux       script(1), a terminal for the colour tests;  dpkg: .deb extraction
#   python3-packaging  the independent PEP 440 reading of the scan tests;  zip, unzip: archives
#   python3-yaml, ruby  independent readers of pnpm lockfiles and (Bundler) Gemfile.lock files
#   php-cli, php-composer-semver  Composer's own version order, the oracle of the Packagist comparator
#   rpm              rpmbuild and rpm make the sqlite rpmdb the rpm cataloger is tested on
#   db5.3-util       Berkeley DB's db_load writes the older rpmdb format (rpm's bdb_ro reads it back)
#   gpgv, debian-archive-keyring  verify the archive's InRelease in builds (also needed at run time)
#   chromium         renders the HTML compliance report headless
#   postgresql       the PostgreSQL evidence store's contract and concurrency tests (started below)
#   gcc, libc6-dev   build the static, static-pie and dynamic C programs of the execute-path negative tests
#   govulncheck      the independent reading of Go binaries' vulnerable symbols (Go symbol VEX agreement test)
#   distro-info-data /usr/share/distro-info/debian.csv: release end-of-life dates scans and status name (also read at run time)
PKGS=(docker-registry skopeo umoci apache2-utils zstd openssl util-linux dpkg python3-packaging python3-yaml ruby db5.3-util php-cli php-composer-semver zip unzip rpm binutils gpgv debian-archive-keyring chromium postgresql in-toto gcc libc6-dev govulncheck distro-info-data)
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# The tests fetch real Debian packages with apt-get download, which needs the package lists.
if [ "${#missing[@]}" -gt 0 ] || ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
  echo "== apt-get update"
  $SUDO apt-get update -qq
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgreSQL: start the cluster if it is down, and give the user running the tests a superuser
# role (the tests connect over the unix socket and make a database per store)
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sudo -u postgres sh -c "$1"; fi; }
if ! pg_lsclusters -h | grep -q " online "; then
  echo "== starting PostgreSQL"
  $SUDO pg_ctlcluster $(pg_lsclusters -h | awk 'NR==1{print $1, $2}') start || true
fi
for _ in $(seq 60); do pg_isready -q && break; sleep 1; done
pg_isready
me=$(id -un)
as_postgres "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$me'\"" | grep -q 1 || as_postgres "createuser -s $me"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
fi

echo "== lint and format (biome)"
npx biome ci --colors=off .
echo "== type check (tsc)"
npx tsc --noEmit -p tsconfig.json

echo "== tests (vitest)"
mkdir -p .cache
set +e
npx vitest run --reporter=default --reporter=json --outputFile=.cache/vitest-results.json
status=$?
set -e

echo "== build"
npm run --silent build
echo "== smoke test of the built command line"
smoke=$(mktemp -d)
node --import tsx scripts/sample-image.ts "$smoke/layout" >/dev/null
node dist/cli/main.js --home "$smoke/home" image copy "oci:$smoke/layout:sample" smoke/sample:1 >/dev/null
files=$(node dist/cli/main.js --home "$smoke/home" image files smoke/sample:1 --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).files.length))')
test "$files" -gt 100
node dist/cli/main.js --home "$smoke/home" sbom smoke/sample:1 -o "$smoke/sbom.json" >/dev/null
node dist/cli/main.js --home "$smoke/home" verify --image smoke/sample:1 | grep -q "chain intact"
node dist/cli/main.js --home "$smoke/home" --compliance fedramp --image smoke/sample:1 --output "$smoke/r.json" 2>/dev/null
controls=$(node -e 'console.log(require(process.argv[1]).framework.controls)' "$smoke/r.json")
test "$controls" -eq 410
# the bundle's stack traces name src/ lines with --debug (source maps on before it loads)
trace=$(node dist/cli/main.js --home "$smoke/home" --debug audit --from bogus 2>&1 || true)
echo "$trace" | grep -q "src/core/dates.ts" || { echo "$trace"; echo "--debug trace does not name src/"; exit 1; }
test "$(node dist/cli/main.js --version)" = "$(node dist/cli/main.js --quiet --version)"
rm -rf "$smoke"
echo "smoke: built CLI listed $files files, signed an SBOM into a chain that verifies, reported on the $controls FedRAMP High controls"

echo "== the demo (npm run demo) on a fresh home"
demo=$(mktemp -d)
CLEANIMG_HOME="$demo" bash scripts/demo.sh > .cache/demo.log 2>&1 || { tail -n 40 .cache/demo.log; exit 1; }
node -e '
const fs = require("fs");
const out = process.argv[1] + "/demo/out";
const v = JSON.parse(fs.readFileSync(out + "/report.vex", "utf8"));
const na = v.statements.filter((s) => s.status === "not_affected");
const affected = v.statements.filter((s) => s.status === "affected");
if (!na.length || !affected.length || na.some((s) => !s.justification || !s.impact_statement)) {
  throw new Error("the demo VEX lacks proven not_affected or affected statements");
}
for (const f of ["compliance-report.json", "compliance-report.html"]) fs.statSync(out + "/" + f);
console.log(`demo: ${v.statements.length} VEX statements (${na.length} not_affected with evidence, ${affected.length} affected), FedRAMP report in JSON and HTML; ${fs.readFileSync(".cache/demo.log", "utf8").match(/done in \d+ s/)[0]}`);
' "$demo"
rm -rf "$demo"

node -e '
const r = require("./.cache/vitest-results.json");
const suites = r.numFailedTestSuites ? `, ${r.numFailedTestSuites} suites failed (their tests count as skipped)` : "";
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : "") + suites);
'
exit "$status"
