/**
 * Issues are partial failures collected instead of thrown: an unreadable entry, a duplicate
 * tar entry, a skipped device file. An operation that finishes returns them beside its result.
 */
export interface Issue {
  readonly code: string;
  readonly message: string;
  /** File path inside the image or directory, when the issue concerns one. */
  readonly path?: string;
  /** Digest of the blob or layer concerned. */
  readonly subject?: string;
}

/** Collects issues, capping how many are kept so a hostile input cannot exhaust memory. */
export class IssueCollector {
  readonly #issues: Issue[] = [];
  #dropped = 0;
  constructor(readonly max = 1000) {}

  add(issue: Issue): void {
    if (this.#issues.length < this.max) {
      this.#issues.push(issue);
    } else {
      this.#dropped++;
    }
  }

  /** The collected issues, with a final summary issue when some were dropped. */
  list(): readonly Issue[] {
    if (this.#dropped === 0) {
      return [...this.#issues];
    }
    return [
      ...this.#issues,
      { code: "CORE_ISSUES_TRUNCATED", message: `${this.#dropped} further issues were not kept` },
    ];
  }

  get size(): number {
    return this.#issues.length + this.#dropped;
  }
}

/** One-line rendering for terminals and logs. */
export function formatIssue(i: Issue): string {
  const where = [i.path, i.subject].filter(Boolean).join(" in ");
  return `${i.code}: ${i.message}${where ? ` (${where})` : ""}`;
}
