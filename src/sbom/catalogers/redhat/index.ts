// RPM distributions: the rpm database (SQLite, and Berkeley DB read by bdb.ts).
export { parseRpmHeader, rpmCataloger } from "./rpm.js";
