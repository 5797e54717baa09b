// Debian and its derivatives: the dpkg database (status and distroless status.d).
export { dpkgCataloger, parseDep5Licenses } from "./dpkg.js";
