/**
 * The original design's flag-style commands (`cleanimg-init --build --image myapp:1.0.0`),
 * rewritten to the subcommands that also exist on their own.
 */
const FORMS: Readonly<Record<string, { command: string; takesValue: boolean }>> = {
  "--build": { command: "build", takesValue: false },
  "--scan": { command: "scan", takesValue: false },
  "--compliance-status": { command: "status", takesValue: false },
  "--compliance": { command: "report", takesValue: true },
  "--audit-trail": { command: "audit", takesValue: false },
};

/** Rewrites argv (without node and script) when it uses a design form; otherwise returns it. */
export function rewriteDesignForm(args: readonly string[]): string[] {
  const idx = args.findIndex((a) => {
    const name = a.split("=")[0] ?? a;
    return name in FORMS;
  });
  if (idx < 0) {
    return [...args];
  }
  const arg = args[idx] as string;
  const eq = arg.indexOf("=");
  const name = eq >= 0 ? arg.slice(0, eq) : arg;
  const form = FORMS[name] as { command: string; takesValue: boolean };
  const rest = [...args.slice(0, idx), ...args.slice(idx + 1)];
  const out = [form.command];
  if (form.takesValue) {
    if (eq >= 0) {
      out.push(arg.slice(eq + 1));
    } else if (idx + 1 < args.length) {
      out.push(args[idx + 1] as string);
      rest.splice(idx, 1);
    }
  }
  return [...out, ...rest];
}
