import type { Command } from "commander";
import { modeString, typeChar } from "../render/files.js";
import { app } from "./app.js";
import { outputDirectory, positiveWholeNumber, wholeNumber } from "./common.js";
import type { CliDeps } from "./deps.js";

/** Registers the image commands. */
export function registerImage(program: Command, deps: CliDeps): void {
  const { out, context, platformOption, platformOf } = deps;
  // --- image -----------------------------------------------------------------------------------
  const image = program
    .command("image")
    .description("read, copy and manage images in any location");
  image
    .command("inspect")
    .description(
      "show an image's manifest, configuration and layers (verified), and record them as evidence",
    )
    .argument("<image>", "image location")
    .addOption(platformOption)
    .option("--no-evidence", "do not record the manifest and config in the evidence store")
    .action(async (ref: string, o: { platform?: string; evidence: boolean }, cmd: Command) => {
      const r = await app().inspectImage(context(cmd), ref, {
        ...platformOf(o),
        record: o.evidence,
      });
      out.result(r, () =>
        [
          `Image:     ${r.reference}`,
          `Source:    ${r.source}`,
          ...(r.index ? [`Index:     ${r.index.digest}`] : []),
          `Manifest:  ${r.manifest.digest} (${r.manifest.mediaType})`,
          ...(r.platform ? [`Platform:  ${r.platform}`] : []),
          `Config:    ${r.config.digest}`,
          ...(r.config.created ? [`Created:   ${r.config.created}`] : []),
          `Layers:    ${r.layers.length}`,
          ...r.layers.map(
            (l, i) =>
              `  ${i}  ${l.descriptor.digest}  ${String(l.descriptor.size).padStart(11)}  diff ${l.diffId}`,
          ),
          ...(r.evidence.length
            ? [`Evidence:  ${r.evidence.length} records linked to ${r.manifest.digest}`]
            : []),
        ].join("\n"),
      );
    });

  image
    .command("files")
    .description("list the merged filesystem: path, type, mode, size and layer of origin")
    .argument("<image>", "image location")
    .addOption(platformOption)
    .option("--no-evidence", "do not record the file inventory in the evidence store")
    .option("--max-layer-bytes <n>", "largest decompressed layer accepted", positiveWholeNumber)
    .option("--max-entries <n>", "most filesystem entries accepted", positiveWholeNumber)
    .action(
      async (
        ref: string,
        o: { platform?: string; evidence: boolean; maxLayerBytes?: number; maxEntries?: number },
        cmd: Command,
      ) => {
        const r = await app().listImageFiles(context(cmd), ref, {
          ...platformOf(o),
          record: o.evidence,
          limits: {
            ...(o.maxLayerBytes !== undefined ? { maxLayerBytes: o.maxLayerBytes } : {}),
            ...(o.maxEntries !== undefined ? { maxEntries: o.maxEntries } : {}),
          },
        });
        out.issues(r.issues);
        out.result(
          {
            manifest: r.manifest,
            layers: r.layers,
            files: r.files.map(app().fileRecord),
            issues: r.issues,
            ...(r.evidence ? { evidence: r.evidence } : {}),
          },
          () =>
            r.files
              .map(
                (f) =>
                  `${typeChar(f.type)}${modeString(f.mode)} ${f.uid}/${f.gid} ${String(f.size).padStart(10)} L${f.layer < 0 ? "-" : f.layer} ${f.path}${f.linkname !== undefined ? ` -> ${f.linkname}` : ""}`,
              )
              .join("\n"),
        );
      },
    );
  registerImageCopy(deps, image);
}

function registerImageCopy(deps: CliDeps, image: Command): void {
  const { out, context, platformOption, platformOf } = deps;
  image
    .command("export")
    .description("write an image's merged filesystem into a new or empty directory")
    .argument("<image>", "image location")
    .argument("<dir>", "target directory (must be new or empty)", outputDirectory)
    .addOption(platformOption)
    .option(
      "--max-bytes <n>",
      "most bytes to write: file content, symlink targets, 256 per file and 4096 per directory (default: 40 times the compressed layers, at least 256 MiB, within the free space and free inodes)",
      wholeNumber,
    )
    .action(
      async (
        ref: string,
        dir: string,
        o: { platform?: string; maxBytes?: number },
        cmd: Command,
      ) => {
        const maxBytes = o.maxBytes;
        const r = await app().exportImage(context(cmd), ref, dir, {
          ...platformOf(o),
          ...(maxBytes !== undefined ? { maxBytes } : {}),
        });
        out.issues(r.issues);
        out.result(
          r,
          () =>
            `exported ${r.files} files, ${r.directories} directories, ${r.symlinks} symlinks, ${r.hardlinks} hard links (${r.bytes} bytes) to ${dir}${r.issues.length ? `; ${r.issues.length} issues` : ""}`,
        );
      },
    );

  image
    .command("copy")
    .description("copy an image between any two locations, keeping its digests")
    .argument("<source>", "image location to read")
    .argument("<destination>", "image location to write")
    .addOption(platformOption)
    .action(async (from: string, to: string, o: { platform?: string }, cmd: Command) => {
      const r = await app().copyImageBetween(context(cmd), from, to, platformOf(o));
      out.result(
        r,
        () =>
          `copied ${r.digest} to ${r.destination} (${r.blobsCopied} blobs copied, ${r.blobsSkipped} already there)`,
      );
    });

  image
    .command("ls")
    .description("list the images of the local image store")
    .action(async (_o: unknown, cmd: Command) => {
      const r = await app().listLocalImages(context(cmd));
      out.result(
        r.map((i) => ({
          name: i.name,
          digest: i.descriptor.digest,
          mediaType: i.descriptor.mediaType,
          size: i.descriptor.size,
        })),
        () =>
          r.length === 0
            ? "no images in the local store"
            : r.map((i) => `${i.name}  ${i.descriptor.digest}`).join("\n"),
      );
    });

  image
    .command("tag")
    .description("give an image of the local store another name")
    .argument("<image>", "existing name")
    .argument("<name>", "new name")
    .action(async (from: string, to: string, _o: unknown, cmd: Command) => {
      const r = await app().tagLocalImage(context(cmd), from, to);
      out.result(
        { name: r.name, digest: r.descriptor.digest },
        () => `tagged ${r.descriptor.digest} as ${r.name}`,
      );
    });

  image
    .command("rm")
    .description("remove a name from the local store (unreferenced blobs are deleted)")
    .argument("<image>", "name to remove")
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const r = await app().removeLocalImage(context(cmd), ref);
      out.result(r, () => `removed ${r.removed} (${r.blobsDeleted} blobs deleted)`);
    });
}
