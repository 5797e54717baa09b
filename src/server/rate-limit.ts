/**
 * Token-bucket rate limiting per API token (or per client address for unauthenticated calls):
 * `rate` requests per second on average, bursts up to `burst`.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one request from `key`'s bucket; returns 0 when allowed, else seconds to wait. */
  take(key: string): number {
    const t = this.now();
    const b = this.#buckets.get(key) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.rate);
    b.at = t;
    if (this.#buckets.size > 100_000 && !this.#buckets.has(key)) {
      this.#buckets.clear(); // bounded under a flood of distinct keys
    }
    this.#buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.rate;
  }
}
