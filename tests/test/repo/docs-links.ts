// The Markdown link checker behind docs-links.test.ts: every relative link and image in a set of Markdown files
// must point at a file or folder that exists, and every #anchor (in the same file or another Markdown file) at one
// of that file's headings, under GitHub's rules for heading anchors. Links with a scheme (http:, https:, mailto:…)
// are not followed: the machines this runs on have no internet.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export interface LinkProblem {
  /** The Markdown file, relative to the root. */
  file: string;
  line: number;
  target: string;
  problem: string;
}

export interface LinkCheck {
  problems: LinkProblem[];
  /** How many relative links and images were checked (external ones are not counted). */
  checked: number;
}

export interface LinkCheckOptions {
  root: string;
  /** The Markdown files to read, relative to the root (forward slashes). */
  files: readonly string[];
  /** Whether a path relative to the root (no trailing slash) names a file or folder; default: it is on disk. */
  exists?: (relativePath: string) => boolean;
}

/** The Markdown files git tracks under `root` (none under node_modules or dist). */
export function trackedMarkdownFiles(root: string): string[] {
  return gitLsFiles(root, ["*.md"]).filter((f) => !/(^|\/)(node_modules|dist)\//.test(f));
}

/** A test for `exists` that GitHub would agree with: the path is a tracked file or a folder holding one. */
export function trackedPathExists(root: string): (relativePath: string) => boolean {
  const paths = new Set<string>();
  for (const file of gitLsFiles(root, [])) {
    for (let p = file; p !== "." && !paths.has(p); p = path.posix.dirname(p)) paths.add(p);
  }
  return (relativePath) => relativePath === "" || paths.has(relativePath);
}

function gitLsFiles(root: string, patterns: string[]): string[] {
  const res = spawnSync("git", ["ls-files", "-z", "--", ...patterns], { cwd: root, encoding: "utf8", timeout: 30_000 });
  if (res.status !== 0) throw new Error(`git ls-files in ${root} failed: ${res.stderr || res.error?.message}`);
  return res.stdout.split("\0").filter(Boolean);
}

export function checkMarkdownLinks(options: LinkCheckOptions): LinkCheck {
  const { root, files } = options;
  const exists = options.exists ?? ((p: string) => fs.existsSync(path.join(root, p)));
  const anchorsOf = new Map<string, Set<string>>();
  const anchors = (file: string) => {
    let set = anchorsOf.get(file);
    if (!set) anchorsOf.set(file, (set = headingAnchors(fs.readFileSync(path.join(root, file), "utf8"))));
    return set;
  };
  const problems: LinkProblem[] = [];
  let checked = 0;
  for (const file of files) {
    for (const { line, target } of markdownLinks(fs.readFileSync(path.join(root, file), "utf8"))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue; // external: not fetched
      checked++;
      const report = (problem: string) => problems.push({ file, line, target, problem });
      const hash = target.indexOf("#");
      const pathPart = decodeURIComponentSafe(hash === -1 ? target : target.slice(0, hash));
      const anchor = hash === -1 ? undefined : decodeURIComponentSafe(target.slice(hash + 1));
      // GitHub resolves "/x" from the repository's root, anything else from the linking file's folder.
      const resolved = pathPart === "" ? file : path.posix.normalize(pathPart.startsWith("/") ? pathPart.slice(1) : path.posix.join(path.posix.dirname(file), pathPart));
      const relative = resolved.replace(/\/+$/, "").replace(/^\.$/, "");
      if (relative.startsWith("../")) {
        report("points outside the repository");
        continue;
      }
      if (!exists(relative)) {
        report(`no such file or folder: ${relative}`);
        continue;
      }
      if (anchor === undefined || anchor === "") continue;
      if (relative.endsWith(".md")) {
        if (!anchors(relative).has(anchor)) report(`no heading with anchor #${anchor} in ${relative}`);
      } else if (!/^L\d+(-L\d+)?$/.test(anchor)) {
        report(`#${anchor}: only #L<line> anchors point into a file that is not Markdown`);
      }
    }
  }
  return { problems, checked };
}

/** Every link and image target in a Markdown text, outside code blocks and code spans, with its line number. */
export function markdownLinks(markdown: string): Array<{ line: number; target: string }> {
  const links: Array<{ line: number; target: string }> = [];
  proseLines(markdown).forEach(({ line, text }) => {
    const prose = text.replace(/(`+)[^`]*?\1/g, "");
    // [text](target "title") and ![alt](target): the target is <…> or runs to the first space or ")".
    for (const m of prose.matchAll(/\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)) {
      links.push({ line, target: m[1]!.replace(/^<|>$/g, "") });
    }
    // [label]: target — a reference definition.
    const definition = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(prose);
    if (definition) links.push({ line, target: definition[1]!.replace(/^<|>$/g, "") });
    // <a href="…">, <img src="…">
    for (const m of prose.matchAll(/<(?:a|img)\b[^>]*?\s(?:href|src)\s*=\s*"([^"]*)"/gi)) links.push({ line, target: m[1]! });
  });
  return links;
}

/** The anchors GitHub gives a Markdown file's headings (ATX and setext), and any explicit id= or name= on HTML. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const lines = proseLines(markdown);
  lines.forEach(({ line, text }, i) => {
    const atx = /^ {0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$/.exec(text);
    const next = lines[i + 1];
    const setext = next && next.line === line + 1 && text.trim() !== "" && !/^ {0,3}([-*_>]|\d+\.|#)/.test(text) && /^ {0,3}(=+|-+)\s*$/.test(next.text);
    const heading = atx ? (atx[1] ?? "") : setext ? text.trim() : undefined;
    if (heading !== undefined) {
      const base = githubSlug(heading);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const m of text.matchAll(/<[a-z][^>]*?\s(?:id|name)\s*=\s*"([^"]+)"/gi)) anchors.add(m[1]!);
  });
  return anchors;
}

/**
 * GitHub's anchor for a heading: the heading as rendered text (code spans keep their content; links, images, HTML
 * tags and emphasis leave only their text), lowercased, punctuation removed except "-" and "_", each space a "-".
 */
export function githubSlug(heading: string): string {
  const text = heading
    .split(/(`+[^`]*?`+)/)
    .map((part, i) =>
      i % 2 === 1
        ? part.replace(/^`+\s?|\s?`+$/g, "")
        : part
            .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
            .replace(/<[^>]+>/g, "")
            .replace(/(^|\W)_(\S(?:.*?\S)?)_(?=\W|$)/g, "$1$2"),
    )
    .join("");
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/**
 * The lines of a Markdown text outside fenced code blocks (a fence may be indented, in a list), numbered from 1.
 * Indented code blocks are read as prose: telling them from indented list items needs a full parser, and the docs
 * fence their code.
 */
function proseLines(markdown: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let fence: string | undefined;
  markdown.split("\n").forEach((raw, i) => {
    const text = raw.replace(/\r$/, "");
    const marker = /^\s*(`{3,}|~{3,})/.exec(text)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length && text.trim() === marker) fence = undefined;
    } else if (marker) {
      fence = marker;
    } else {
      out.push({ line: i + 1, text });
    }
  });
  return out;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
