// PHP: composer installed.json and composer.lock.
export { composerInstalledCataloger, composerLockCataloger } from "./composer.js";
