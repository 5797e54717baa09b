import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checkDownload, conditionalHeaders, publishedDigests, selectFeeds } from "./feeds.js";

const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n] ?? null });

describe("feeds", () => {
  it("selects by id, family, prefix and any Alpine branch, under a mirror's base URL", () => {
    const all = selectFeeds([]).feeds;
    expect(all.map((f) => f.id)).toContain("osv:Red-Hat");
    expect(all.find((f) => f.id === "osv:Red-Hat")?.url).toBe(
      "https://osv-vulnerabilities.storage.googleapis.com/Red%20Hat/all.zip",
    );
    const s = selectFeeds(["osv:PyPI", "alpine:v3.20", "alpine:edge/main", "kev", "nope"], {
      alpine: "https://mirror.example/secdb/",
    });
    expect(s.feeds.map((f) => f.id)).toEqual([
      "osv:PyPI",
      "alpine:v3.20/main",
      "alpine:v3.20/community",
      "alpine:edge/main",
      "kev",
    ]);
    expect(s.feeds.find((f) => f.id === "alpine:edge/main")?.url).toBe(
      "https://mirror.example/secdb/edge/main.json",
    );
    expect(s.unknown).toEqual(["nope"]);
    expect(selectFeeds(["osv"]).feeds).toHaveLength(12);
  });

  it("sends the last validators and checks length and every published digest", () => {
    expect(
      conditionalHeaders({ etag: '"a"', lastModified: "x", sha256: "", bytes: 0, fetchedAt: "" }),
    ).toEqual({
      "if-none-match": '"a"',
      "if-modified-since": "x",
    });
    expect(conditionalHeaders(undefined)).toEqual({});
    const body = new TextEncoder().encode("records");
    const md5 = createHash("md5").update(body).digest("base64");
    const sha = createHash("sha256").update(body).digest("base64");
    const d = publishedDigests(
      headers({ "x-goog-hash": `crc32c=n03x6A==,md5=${md5}`, "repr-digest": `sha-256=:${sha}:` }),
    );
    expect(d).toEqual([
      ["md5", md5],
      ["sha256", sha],
    ]);
    expect(checkDownload(body, body.length, d)).toBeUndefined();
    expect(checkDownload(body.subarray(1), body.length, [])).toMatch(/truncated/);
    expect(checkDownload(new TextEncoder().encode("recordz"), 7, d)).toMatch(/md5/);
    expect(checkDownload(body, undefined, [["sha256", md5]])).toMatch(/sha256/);
  });
});
