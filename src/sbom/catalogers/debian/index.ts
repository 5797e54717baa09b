// Debian and its derivatives: the dpkg database (status and distroless status.d).
export { DEBIAN_BUILT_USING, dpkgCataloger, parseDep5Licenses } from "./dpkg.js";
