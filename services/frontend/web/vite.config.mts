// The browser app's build: web/ → dist/web (served by the frontend server, src/store.ts).
import fs from "node:fs";
import path from "node:path";
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const root = import.meta.dirname;
const pkg = JSON.parse(fs.readFileSync(path.join(root, "..", "package.json"), "utf8")) as { version: string };

export default defineConfig({
  root,
  plugins: [react()],
  define: { __APP_VERSION__: JSON.stringify(pkg.version) },
  build: {
    outDir: path.join(root, "..", "dist", "web"),
    emptyOutDir: true,
    target: "es2022",
    // Source maps are not shipped (the image drops *.map anyway).
    sourcemap: false,
  },
});
