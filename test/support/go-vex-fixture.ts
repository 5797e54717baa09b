import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { buildOnce } from "./go-binaries.js";
import { goToolchain } from "./go-fixture.js";

const CACHE = resolve(import.meta.dirname, "../../.cache");

/** Sources of the program: vendored stand-ins for two modules that real advisories name. */
const FILES: Record<string, string> = {
  "app/go.mod": `module example.com/vexapp

go 1.19

require (
	github.com/gin-gonic/gin v1.5.0
	gopkg.in/square/go-jose.v2 v2.6.0
)
`,
  // vendored, so that the build info records the required versions (as from the module proxy)
  "app/vendor/modules.txt": `# github.com/gin-gonic/gin v1.5.0
## explicit; go 1.19
github.com/gin-gonic/gin
# gopkg.in/square/go-jose.v2 v2.6.0
## explicit; go 1.19
gopkg.in/square/go-jose.v2
gopkg.in/square/go-jose.v2/jwt
`,
  "app/main.go": `package main

import (
	"fmt"
	"os"

	"github.com/gin-gonic/gin"
	"gopkg.in/square/go-jose.v2"
	"gopkg.in/square/go-jose.v2/jwt"
)

func main() {
	e := gin.New()
	n := gin.Logger(len(os.Args))
	c := &gin.Context[string]{}
	c.FileAttachment(os.Args[0])
	tok := jwt.Parse(os.Args[0])
	var j jose.JSONWebEncryption
	out := j.Decrypt([]byte(tok))
	fmt.Println(e, n, c, len(out))
}
`,
  // Logger is small: inlined at its call site, so no function of its own is linked
  "app/vendor/github.com/gin-gonic/gin/gin.go": `package gin

type Engine struct{ routes []string }

//go:noinline
func New() *Engine { return &Engine{routes: []string{"/"}} }

var calls int

func Logger(n int) int {
	calls += n * 7
	return calls ^ 0x5a
}

type Context[T any] struct{ v T; files []string }

//go:noinline
func (c *Context[T]) FileAttachment(name string) { c.files = append(c.files, name) }
`,
  // the module's last path element has a dot: the linker writes it as gopkg.in/square/go-jose%2ev2
  "app/vendor/gopkg.in/square/go-jose.v2/jose.go": `package jose

type JSONWebEncryption struct{ key []byte }

//go:noinline
func (j *JSONWebEncryption) Decrypt(b []byte) []byte { return append(j.key, b...) }

//go:noinline
func Split(s string) []string { return []string{s, s} }
`,
  "app/vendor/gopkg.in/square/go-jose.v2/jwt/jwt.go": `package jwt

import "gopkg.in/square/go-jose.v2"

//go:noinline
func Parse(s string) string { return jose.Split(s)[0] }
`,
};

export interface GoVexFixture {
  readonly bin: string;
  readonly stripped: string;
}

/**
 * A Go 1.19 program (module mode, built offline) linking vendored stand-ins for
 * gopkg.in/square/go-jose.v2 v2.6.0 (its root package's functions carry the escaped path) and
 * github.com/gin-gonic/gin v1.5.0 (Logger only inlined, FileAttachment a method of a generic
 * type), unstripped and stripped. Cached.
 */
export function buildGoVexFixture(): GoVexFixture {
  const { go, goroot } = goToolchain();
  const dir = buildOnce(join(CACHE, "go-vex-fixture"), (tmp) => {
    for (const [name, body] of Object.entries(FILES)) {
      mkdirSync(dirname(join(tmp, name)), { recursive: true });
      writeFileSync(join(tmp, name), body);
    }
    execFileSync(go, ["build", "-trimpath", "-o", join(tmp, "vexapp"), "."], {
      cwd: join(tmp, "app"),
      env: {
        ...process.env,
        GOROOT: goroot,
        GOPATH: join(tmp, "gopath"),
        GOCACHE: join(tmp, "gocache"),
        GOFLAGS: "-mod=vendor",
        GOPROXY: "off",
        GOTOOLCHAIN: "local",
        CGO_ENABLED: "0",
      },
      stdio: "pipe",
    });
    execFileSync("strip", ["-o", join(tmp, "vexapp-stripped"), join(tmp, "vexapp")]);
    execFileSync("rm", ["-rf", join(tmp, "gocache"), join(tmp, "gopath")]);
  });
  return { bin: join(dir, "vexapp"), stripped: join(dir, "vexapp-stripped") };
}
