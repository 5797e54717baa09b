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

/** Failed authentications one client address may make in a window (default). */
export const AUTH_FAILURE_LIMIT = 10;
/** The window of AUTH_FAILURE_LIMIT, in seconds (default). */
export const AUTH_FAILURE_WINDOW_SECONDS = 60;

/**
 * Failed authentications per client address, in fixed windows: the first failure opens a window
 * of `windowMs`; once `limit` failures fall in it, the address is refused until it ends.
 */
export class FailureLimiter {
  readonly #windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Seconds until `key` may try again (whole seconds, rounded up); 0 when it may now. */
  blocked(key: string): number {
    const w = this.#windows.get(key);
    if (!w) {
      return 0;
    }
    const left = w.start + this.windowMs - this.now();
    if (left <= 0) {
      this.#windows.delete(key);
      return 0;
    }
    return w.failures >= this.limit ? Math.ceil(left / 1000) : 0;
  }

  /** Counts one failed authentication of `key`. */
  fail(key: string): void {
    const t = this.now();
    const w = this.#windows.get(key);
    if (w && t - w.start < this.windowMs) {
      w.failures++;
      return;
    }
    if (this.#windows.size > 100_000) {
      // bounded under a flood of distinct addresses: forget the windows that are over
      for (const [k, v] of this.#windows) {
        if (t - v.start >= this.windowMs) {
          this.#windows.delete(k);
        }
      }
      if (this.#windows.size > 100_000) {
        this.#windows.delete(this.#windows.keys().next().value as string); // the oldest
      }
    }
    this.#windows.set(key, { start: t, failures: 1 });
  }
}
