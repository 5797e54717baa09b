export { Metrics } from "./metrics.js";
export { RateLimiter } from "./rate-limit.js";
export {
  openapi,
  parseListen,
  type Route,
  type RunningServer,
  routes,
  type ServerOptions,
  startServer,
} from "./server.js";
export { type Schema, validate } from "./validate.js";
