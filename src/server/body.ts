import { isToolError } from "../core/errors.js";
import { parseJson } from "../core/json.js";
import { problem, type Reply, type Route, type ServerRequest } from "./http.js";
import { validate } from "./validate.js";

/** Request bodies: size-limited while read, parsed with bounded nesting, checked on schemas. */

export async function readBody(req: ServerRequest, max: number): Promise<Buffer | "too-large"> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > max) {
    return "too-large";
  }
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req.body) {
    n += c.length;
    if (n > max) {
      return "too-large";
    }
    parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  }
  return Buffer.concat(parts);
}

/** The request's JSON body, checked against the route's schema; or the answer refusing it. */
export async function jsonBody(
  r: Route,
  req: ServerRequest,
): Promise<{ body: unknown } | { reply: Reply }> {
  if (!r.body) {
    return { body: undefined };
  }
  const max = r.maxBody ?? 1024 * 1024;
  const raw = await readBody(req, max);
  if (raw === "too-large") {
    return {
      reply: {
        ...problem(413, "Too large", `the body is larger than ${max} bytes`),
        headers: { connection: "close" },
      },
    };
  }
  let body: unknown;
  try {
    body = parseJson(raw, "the body");
  } catch (e) {
    return {
      reply: isToolError(e)
        ? problem(400, "Too deep", e.message)
        : problem(400, "Not JSON", `the body is not JSON: ${(e as Error).message}`),
    };
  }
  const invalid = validate(r.body, body);
  return invalid ? { reply: problem(400, "Invalid body", invalid) } : { body };
}
