export * from "./mesh.js";
