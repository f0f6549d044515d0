export { listenOnLoopback, readBody, sendJson } from "./http-util.js";
export * from "./honeycomb.js";
export * from "./rollbar.js";
export * from "./xray.js";
export * from "./xray-daemon.js";
export * from "./sigv4.js";
export * from "./recording.js";
export * from "./cloudwatch-logs.js";
export * from "./tls.js";
