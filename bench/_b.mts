import { createAppContext, buildImage } from "../src/app/index.js";
const ctx = createAppContext({ home: "/tmp/bh", env: { SOURCE_DATE_EPOCH: "1700000000" }, progress: (m) => console.error(m) });
const t = performance.now();
const r = await buildImage(ctx, { spec: "/tmp/bspec/cleanimg.yaml" });
console.log(JSON.stringify({ ...r, produced: r.produced.length }, null, 1).slice(0, 1500), performance.now() - t);
await ctx.close();
