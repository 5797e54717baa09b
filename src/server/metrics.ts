/**
 * Prometheus metrics in the text exposition format (version 0.0.4): counters and one latency
 * histogram, kept in memory per server process.
 */

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const label = (v: string): string =>
  v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labels = (l: Record<string, string>): string => {
  const e = Object.entries(l);
  return e.length ? `{${e.map(([k, v]) => `${k}="${label(v)}"`).join(",")}}` : "";
};

export class Metrics {
  readonly #counters = new Map<string, { help: string; values: Map<string, number> }>();
  readonly #histograms = new Map<
    string,
    { help: string; series: Map<string, { buckets: number[]; sum: number; count: number }> }
  >();
  readonly #read = new Map<string, { help: string; type: string; read: () => number }>();

  inc(name: string, help: string, l: Record<string, string> = {}, by = 1): void {
    const c = this.#counters.get(name) ?? { help, values: new Map() };
    const k = labels(l);
    c.values.set(k, (c.values.get(k) ?? 0) + by);
    this.#counters.set(name, c);
  }

  observe(name: string, help: string, l: Record<string, string>, seconds: number): void {
    const h = this.#histograms.get(name) ?? { help, series: new Map() };
    const k = labels(l);
    const s = h.series.get(k) ?? { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) {
        s.buckets[i] = (s.buckets[i] ?? 0) + 1;
      }
    });
    s.sum += seconds;
    s.count++;
    h.series.set(k, s);
    this.#histograms.set(name, h);
  }

  /** A gauge read when scraped. */
  gauge(name: string, help: string, read: () => number): void {
    this.#read.set(name, { help, type: "gauge", read });
  }

  /** A counter kept elsewhere, read when scraped. */
  counterFrom(name: string, help: string, read: () => number): void {
    this.#read.set(name, { help, type: "counter", read });
  }

  render(): string {
    const out: string[] = [];
    for (const [name, c] of this.#counters) {
      out.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      for (const [k, v] of c.values) {
        out.push(`${name}${k} ${v}`);
      }
    }
    for (const [name, g] of this.#read) {
      out.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} ${g.type}`, `${name} ${g.read()}`);
    }
    for (const [name, h] of this.#histograms) {
      out.push(`# HELP ${name} ${h.help}`, `# TYPE ${name} histogram`);
      for (const [k, s] of h.series) {
        const inner = k ? `${k.slice(1, -1)},` : "";
        BUCKETS.forEach((b, i) => {
          out.push(`${name}_bucket{${inner}le="${b}"} ${s.buckets[i]}`);
        });
        out.push(`${name}_bucket{${inner}le="+Inf"} ${s.count}`);
        out.push(`${name}_sum${k} ${s.sum}`, `${name}_count${k} ${s.count}`);
      }
    }
    return `${out.join("\n")}\n`;
  }
}
