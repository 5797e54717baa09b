import { randomBytes } from "node:crypto";
import { open, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ToolError } from "./errors.js";

/**
 * Why a file cannot be written at `path`, in the user's words: the path they gave, never the
 * temporary name the write goes through. For every writer of a user's output file.
 * @returns ToolError CORE_OUTPUT_UNWRITABLE
 */
export async function unwritable(path: string, e: NodeJS.ErrnoException): Promise<ToolError> {
  const dir = dirname(path);
  const parent = await stat(dir).catch(() => undefined);
  const why = !parent
    ? `the directory ${dir} does not exist`
    : !parent.isDirectory()
      ? `${dir} is not a directory`
      : e.code === "EACCES" || e.code === "EPERM"
        ? `permission denied in ${dir}`
        : e.code === "EROFS"
          ? `${dir} is on a read-only filesystem`
          : e.code === "ENOSPC"
            ? `no space left on the device of ${dir}`
            : `a file cannot be created in ${dir} (${e.code ?? e.message})`;
  return new ToolError("CORE_OUTPUT_UNWRITABLE", `cannot write ${path}: ${why}`, {
    cause: e,
    hint: "give a file path in an existing, writable directory",
  });
}

/**
 * Atomically replaces a small file (write a short-named temporary file beside it, fsync, rename),
 * so any name the filesystem takes can be written; a device or pipe is written to.
 * @throws ToolError CORE_OUTPUT_UNWRITABLE naming `path` (a directory, a missing or unwritable
 *   directory), with nothing left behind
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  // `-o /dev/null`, `-o /dev/stdout`, a named pipe: written to, never replaced by a file
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new ToolError("CORE_OUTPUT_UNWRITABLE", `cannot write ${path}: it is a directory`, {
      hint: "give a file path, e.g. a name inside that directory",
    });
  }
  if (existing && !existing.isFile()) {
    await writeFile(path, data).catch(async (e: NodeJS.ErrnoException) => {
      throw await unwritable(path, e);
    });
    return;
  }
  // A short name of its own in the same directory (the rename stays on one filesystem): the
  // user's name with a suffix would pass NAME_MAX (255 bytes) for a legal name of 239 or more.
  // ".tmp-" is in it, as in every temporary name the stores sweep.
  const tmp = join(dirname(path), `.cleanimg.tmp-${randomBytes(8).toString("hex")}`);
  const fh = await open(tmp, "wx").catch(async (e: NodeJS.ErrnoException) => {
    throw await unwritable(path, e);
  });
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw await unwritable(path, e as NodeJS.ErrnoException);
  }
}
