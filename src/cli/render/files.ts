/** The `ls -l` type character of a file type. */
export function typeChar(t: string): string {
  switch (t) {
    case "dir":
      return "d";
    case "symlink":
      return "l";
    case "hardlink":
      return "h";
    case "char":
      return "c";
    case "block":
      return "b";
    case "fifo":
      return "p";
    default:
      return "-";
  }
}

/** The `ls -l` permission string of a mode (setuid, setgid and sticky bits included). */
export function modeString(mode: number): string {
  const rwx = (m: number, special: number, ch: string): string =>
    `${m & 4 ? "r" : "-"}${m & 2 ? "w" : "-"}${special ? (m & 1 ? ch : ch.toUpperCase()) : m & 1 ? "x" : "-"}`;
  return (
    rwx((mode >> 6) & 7, mode & 0o4000, "s") +
    rwx((mode >> 3) & 7, mode & 0o2000, "s") +
    rwx(mode & 7, mode & 0o1000, "t")
  );
}
