// Java: archives (jar, war, ear, nested), their manifests and pom.properties.
export { javaArchiveCataloger } from "./java.js";
