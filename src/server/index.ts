export {
  createServerApp,
  routes,
  type ServerApp,
  type ServerDeps,
  type ServerOptions,
} from "./app.js";
export type { Reply, Route, ServerRequest } from "./http.js";
export { parseListen, type RunningServer, startServer, toServerRequest } from "./main.js";
export { Metrics } from "./metrics.js";
export { openapi } from "./openapi.js";
export { RateLimiter } from "./rate-limit.js";
export { type Schema, validate } from "./validate.js";
