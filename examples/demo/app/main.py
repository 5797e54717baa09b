"""The demo's service: reads its configuration and bundles its front end with esbuild."""
import subprocess
import sys


def main() -> int:
    return subprocess.call(["/app/bin/esbuild", "--version"], stdout=sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
