export * from "./mesh.js";
export * from "./frontend.js";
