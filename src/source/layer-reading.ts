import type { Digest } from "../core/digest.js";
import { ToolError } from "../core/errors.js";
import { type Issue, IssueCollector } from "../core/issues.js";
import { type Limits, resolveLimits } from "../core/limits.js";
import type { ResolvedImage, ResolvedLayer, TarBodySink } from "../oci/index.js";
import {
  type FileNode,
  type LayerEntry,
  readLayerEntries,
  type Sniffer,
  sniffSink,
} from "./layer-entries.js";

/** Options of {@link ImageFilesystem.open}. */
export interface OpenOptions {
  readonly limits?: Partial<Limits>;
  /** Layers read at once (decompression runs in the thread pool). Default 2. */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /**
   * Files whose content is kept in memory while the layers stream (the declared interest of
   * catalogers), bounded per file and in total; larger files become issues.
   */
  readonly collect?: {
    match(path: string): boolean;
    readonly maxFileBytes?: number;
    readonly maxTotalBytes?: number;
    /** What of a collected file to keep (a cataloger's part of it), in place of the whole file. */
    reduce?(path: string, bytes: Uint8Array): Uint8Array;
  };
  /** Byte patterns searched for in file bodies as they stream (embedded build info). */
  readonly sniff?: readonly Sniffer[];
  /** Reuses what was read from a layer before (same diff id and same `cacheKey`). */
  readonly layerCache?: LayerCache;
  /** What the reading depended on (collect/sniff settings, their versions): part of the cache key. */
  readonly cacheKey?: string;
}

/** What reading one layer produced: entries, collected contents and sniffer captures. */
export interface CachedLayer {
  /** Entries with `layer` 0 (renumbered on use). */
  readonly entries: readonly LayerEntry[];
  readonly contents: readonly (readonly [number, Uint8Array])[];
  readonly sniffed: readonly (readonly [number, string, Uint8Array])[];
  readonly issues: readonly Issue[];
}

/** A cache of layer readings, keyed by diff id and the reader's settings. */
export interface LayerCache {
  get(diffId: Digest, key: string): Promise<CachedLayer | undefined>;
  put(diffId: Digest, key: string, layer: CachedLayer): Promise<void>;
}

/** One image's layers being read: entries, collected contents and sniffer captures, by layer. */
export class LayerReading {
  readonly limits: Limits;
  readonly issues = new IssueCollector();
  private readonly budget: { left: number };
  readonly results: LayerEntry[][];
  readonly contents = new Map<string, Uint8Array>();
  readonly sniffed = new Map<string, Uint8Array>();
  private readonly collectBudget: { left: number };
  private readonly cache: { store: LayerCache; key: string } | undefined;
  private readonly onBody: ((node: FileNode) => TarBodySink | undefined) | undefined;
  private next = 0;

  constructor(
    private readonly image: ResolvedImage,
    private readonly opts: OpenOptions,
  ) {
    this.limits = resolveLimits(opts.limits);
    this.budget = { left: this.limits.maxEntries };
    this.results = new Array(image.layers.length);
    this.collectBudget = { left: opts.collect?.maxTotalBytes ?? 256 * 1024 * 1024 };
    this.cache =
      opts.layerCache && opts.cacheKey ? { store: opts.layerCache, key: opts.cacheKey } : undefined;
    this.onBody = opts.collect || opts.sniff?.length ? (node) => this.bodySink(node) : undefined;
  }

  /** Reads the layers with a bounded number of workers. */
  async readAll(): Promise<void> {
    const n = Math.max(1, Math.min(this.opts.concurrency ?? 2, this.image.layers.length));
    await Promise.all(Array.from({ length: n }, () => this.worker()));
  }

  private async worker(): Promise<void> {
    while (this.next < this.image.layers.length) {
      const i = this.next++;
      const layer = this.image.layers[i] as ResolvedLayer;
      const hit = this.cache ? await this.cache.store.get(layer.diffId, this.cache.key) : undefined;
      if (hit) {
        this.reuse(i, hit);
        continue;
      }
      const layerIssues = new IssueCollector();
      this.results[i] = await readLayerEntries(this.image, layer, layerIssues, {
        limits: this.limits,
        entryBudget: this.budget,
        ...(this.opts.signal ? { signal: this.opts.signal } : {}),
        ...(this.onBody ? { onBody: this.onBody } : {}),
      });
      for (const issue of layerIssues.list()) {
        this.issues.add(issue);
      }
      if (this.cache) {
        await this.cache.store.put(layer.diffId, this.cache.key, this.cached(i, layerIssues));
      }
    }
  }

  /**
   * A layer is known by its content (diff id): what was read from it once is reused,
   * renumbered to this image's layer index.
   */
  private reuse(i: number, hit: CachedLayer): void {
    this.budget.left -= hit.entries.length;
    if (this.budget.left < 0) {
      throw new ToolError(
        "CORE_LIMIT_EXCEEDED",
        `${this.image.source.description} has more than ${this.limits.maxEntries} filesystem entries`,
      );
    }
    this.results[i] = hit.entries.map((e) =>
      e.kind === "file" ? { kind: "file", node: { ...e.node, layer: i } } : e,
    );
    for (const [seq, bytes] of hit.contents) {
      this.contents.set(`${i}:${seq}`, bytes);
    }
    for (const [seq, id, bytes] of hit.sniffed) {
      this.sniffed.set(`${i}:${seq}:${id}`, bytes);
    }
    for (const issue of hit.issues) {
      this.issues.add(issue);
    }
  }

  /** What layer `i` produced, numbered as layer 0, for the cache. */
  private cached(i: number, layerIssues: IssueCollector): CachedLayer {
    const entries = this.results[i] ?? [];
    return {
      entries: entries.map((e) =>
        e.kind === "file" ? { kind: "file", node: { ...e.node, layer: 0 } } : e,
      ),
      contents: [...this.contents.entries()]
        .filter(([k]) => k.startsWith(`${i}:`))
        .map(([k, v]) => [Number(k.split(":")[1]), v]),
      sniffed: [...this.sniffed.entries()]
        .filter(([k]) => k.startsWith(`${i}:`))
        .map(([k, v]) => {
          const [, seq, ...id] = k.split(":");
          return [Number(seq), id.join(":"), v];
        }),
      issues: layerIssues.list(),
    };
  }

  /** A collected file's body is kept whole (bounded); any other file goes to the sniffers. */
  private bodySink(node: FileNode): TarBodySink | undefined {
    const collect = this.opts.collect;
    if (node.type !== "file" || !collect?.match(node.path)) {
      return this.sniffSinks(node);
    }
    const max = collect.maxFileBytes ?? 16 * 1024 * 1024;
    if (node.size > max || node.size > this.collectBudget.left) {
      this.issues.add({
        code: "SOURCE_FILE_TOO_LARGE",
        message: `not read: ${node.size} bytes is over the ${Math.min(max, this.collectBudget.left)}-byte limit for files read by catalogers`,
        path: node.path,
      });
      return undefined;
    }
    this.collectBudget.left -= node.size;
    const buf = new Uint8Array(node.size);
    let off = 0;
    return {
      write: (chunk) => {
        buf.set(chunk, off);
        off += chunk.length;
      },
      close: () => {
        const kept = collect.reduce ? collect.reduce(node.path, buf) : buf;
        // the bytes given back count again towards the budget of what is held
        this.collectBudget.left += node.size - kept.length;
        this.contents.set(`${node.layer}:${node.seq}`, kept);
      },
    };
  }

  private sniffSinks(node: FileNode): TarBodySink | undefined {
    const sinks =
      node.type === "file"
        ? (this.opts.sniff ?? [])
            .filter((x) => x.match(node))
            .map((sn) =>
              sniffSink(
                sn,
                (b) => this.sniffed.set(`${node.layer}:${node.seq}:${sn.id}`, b),
                node.size,
              ),
            )
        : [];
    if (sinks.length <= 1) {
      return sinks[0];
    }
    return {
      // sniffSink's write and close are synchronous
      write: (chunk) => {
        for (const k of sinks) {
          void k.write(chunk);
        }
      },
      close: () => {
        for (const k of sinks) {
          void k.close();
        }
      },
    };
  }
}
