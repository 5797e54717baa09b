// Alpine and Wolfi: the apk installed database.
export { apkCataloger, parseApkInstalled } from "./apk.js";
