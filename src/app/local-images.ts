import { OciError } from "../core/errors.js";
import { type ImageRef, type LocalImage, parseImageLocation, parseImageRef } from "../oci/index.js";
import type { AppContext } from "./context.js";

/** The local image store's names: list, tag and remove, by name or by a bare digest. */

export async function listLocalImages(ctx: AppContext): Promise<LocalImage[]> {
  return ctx.local.list();
}

/**
 * The local images a name or a bare digest (`sha256:<hex>`, as image inspect and verify read it)
 * names: for a digest, every name of the image with that digest.
 * @throws OciError OCI_MANIFEST_UNKNOWN when the store has no image with that digest
 */
async function localNamesOf(ctx: AppContext, ref: string): Promise<ImageRef[]> {
  const loc = parseImageLocation(ref);
  if (loc.kind !== "digest") {
    return [parseImageRef(ref)];
  }
  const named = (await ctx.local.list()).filter((i) => i.descriptor.digest === loc.digest);
  if (named.length === 0) {
    throw new OciError(
      "OCI_MANIFEST_UNKNOWN",
      `no image with digest ${loc.digest} in the local image store`,
      {
        hint: "a bare digest names an image of the local store (cleanimg-init image ls); give a name to tag or remove one of another store",
      },
    );
  }
  return named.map((i) => parseImageRef(i.name));
}

/** A new name: a reference, never a bare digest (nothing can be named by its content). */
function newNameOf(to: string): ImageRef {
  const loc = parseImageLocation(to);
  if (loc.kind === "digest") {
    throw new OciError(
      "OCI_INVALID_REFERENCE",
      `${loc.digest} names an image by its content: it cannot be a new name`,
      { hint: "give the new name as NAME:TAG" },
    );
  }
  return parseImageRef(to);
}

/** Gives an image (a name, or a bare digest of the local store) another name. */
export async function tagLocalImage(
  ctx: AppContext,
  from: string,
  to: string,
): Promise<LocalImage> {
  const name = newNameOf(to);
  const [source] = await localNamesOf(ctx, from);
  return ctx.local.tag(source ?? parseImageRef(from), name);
}

/**
 * Removes a name, or the image a bare digest names (every name it has here); blobs no image
 * still uses are deleted.
 */
export async function removeLocalImage(
  ctx: AppContext,
  ref: string,
): Promise<{ removed: string; names: string[]; blobsDeleted: number }> {
  const names: string[] = [];
  let blobsDeleted = 0;
  for (const name of await localNamesOf(ctx, ref)) {
    const r = await ctx.local.remove(name);
    names.push(r.removed);
    blobsDeleted += r.blobsDeleted;
  }
  return { removed: names.join(", "), names, blobsDeleted };
}
