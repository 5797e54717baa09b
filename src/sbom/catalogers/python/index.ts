// Python: installed distributions (METADATA/PKG-INFO) and the lockfiles.
export { normalizePypiName, parseCoreMetadata, pythonCataloger } from "./python.js";
export {
  pipfileLockCataloger,
  poetryLockCataloger,
  pythonRequirementsCataloger,
  uvLockCataloger,
} from "./python-lock.js";
