// JavaScript: installed node_modules trees and the npm, yarn and pnpm lockfiles.
export { npmCataloger } from "./npm.js";
export { npmLockCataloger } from "./npm-lock.js";
export { parsePnpmLock, pnpmLockCataloger } from "./pnpm-lock.js";
export { yarnLockCataloger } from "./yarn-lock.js";
