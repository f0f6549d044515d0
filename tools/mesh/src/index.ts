export * from "./mesh.js";
export * from "./frontend.js";
export * from "./heaps.js";
