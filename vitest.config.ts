import { defineConfig } from "vitest/config";

// biome-ignore lint/style/noDefaultExport: vitest requires a default export for its config
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
  },
});
