// The built app (Vite's output), read into memory once at start: index.html and the hashed assets,
// each with a gzip copy for text types. Nothing is read from disk per request.
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

export interface StaticFile {
  body: Buffer;
  /** Present when compressing paid off (text types). */
  gzip?: Buffer;
  contentType: string;
  etag: string;
  /** Vite names files under assets/ by content hash: they never change, so they can be cached for a year. */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json; charset=utf-8",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};
const COMPRESSIBLE = /^(text\/|application\/(json|manifest)|image\/svg)/;

export class StaticFiles {
  private constructor(private readonly files: ReadonlyMap<string, StaticFile>) {}

  /** Reads every file under root; throws when root has no index.html (the app was not built). */
  static load(root: string): StaticFiles {
    if (!fs.existsSync(path.join(root, "index.html"))) {
      throw new Error(`no built app at ${root} (index.html missing): run pnpm --filter @tracemesh/frontend build`);
    }
    const files = new Map<string, StaticFile>();
    for (const rel of walk(root)) {
      const body = fs.readFileSync(path.join(root, rel));
      const contentType = TYPES[path.extname(rel)] ?? "application/octet-stream";
      const gz = COMPRESSIBLE.test(contentType) && body.length > 512 ? gzipSync(body, { level: 9 }) : undefined;
      files.set(`/${rel.split(path.sep).join("/")}`, {
        body,
        gzip: gz && gz.length < body.length ? gz : undefined,
        contentType,
        etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
        immutable: rel.startsWith(`assets${path.sep}`),
      });
    }
    return new StaticFiles(files);
  }

  get(urlPath: string): StaticFile | undefined {
    return this.files.get(urlPath);
  }

  index(): StaticFile {
    return this.files.get("/index.html")!;
  }

  /** Bytes of the JavaScript and CSS the page loads, raw and gzipped (reported by the browser test). */
  sizes(): { raw: number; gzip: number } {
    let raw = 0;
    let gzip = 0;
    for (const [name, f] of this.files) {
      if (!/\.(js|css|html)$/.test(name)) continue;
      raw += f.body.length;
      gzip += (f.gzip ?? f.body).length;
    }
    return { raw, gzip };
  }
}

function* walk(root: string, dir = ""): Generator<string> {
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(root, rel);
    else if (entry.isFile() && !rel.endsWith(".map")) yield rel;
  }
}
