// Child process for the memory test: walks every file of an image through the merged view and
// prints the file count and the peak resident set size in bytes.
import { createAppContext, listImageFiles } from "../../src/app/index.js";

const [location, home] = process.argv.slice(2) as [string, string];
const ctx = createAppContext({ home, env: {} });
const r = await listImageFiles(ctx, location, { record: false });
let bytes = 0;
for (const f of r.files) {
  bytes += f.size;
}
await ctx.close();
process.stdout.write(
  `${JSON.stringify({ files: r.files.length, bytes, maxRss: process.resourceUsage().maxRSS * 1024 })}\n`,
);
