// Go: build info and function names of binaries, and go.mod.
export { type GoModFile, goModCataloger, parseGoMod } from "./go-mod.js";
export {
  type GoBuildInfo,
  goBinaryCataloger,
  parseGoBuildInfo,
  parseGoFunctionNames,
  parseModInfo,
  stdlibVersion,
} from "./golang.js";
