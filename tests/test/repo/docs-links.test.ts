// Docs that match the code: every relative link and image in the Markdown git tracks points at a tracked file or
// folder, and every #anchor at a heading of its file (GitHub's anchor rules) — checked by docs-links.ts, which is
// also run on a scratch folder of broken links to show that it reports each one. External links (http:, https:,
// mailto:) are not fetched: the machines this runs on have no internet.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { repoRoot } from "@tracemesh/devkit";
import { checkMarkdownLinks, githubSlug, headingAnchors, trackedMarkdownFiles, trackedPathExists } from "./docs-links.js";

describe("Markdown links", { timeout: 60_000 }, () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-docs-links-"));
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  test("every relative link, image and anchor in the tracked Markdown resolves", () => {
    const root = repoRoot();
    const files = trackedMarkdownFiles(root);
    assert.ok(files.includes("README.md") && files.length >= 10, `tracked Markdown: ${files.join(", ")}`);
    const { problems, checked } = checkMarkdownLinks({ root, files, exists: trackedPathExists(root) });
    assert.deepEqual(
      problems.map((p) => `${p.file}:${p.line}: ${p.target} — ${p.problem}`),
      [],
    );
    assert.ok(checked >= 50, `only ${checked} relative links checked`);
  });

  test("broken links, images and anchors are reported, each with its line", () => {
    fs.mkdirSync(path.join(scratch, "docs"));
    fs.writeFileSync(path.join(scratch, "docs", "guide.md"), "# Guide\n\n## Set up: the `x` tool (v2)\n\n## Set up: the `x` tool (v2)\n");
    fs.writeFileSync(path.join(scratch, "pic.png"), "");
    fs.writeFileSync(
      path.join(scratch, "README.md"),
      [
        "# Title",
        "[guide](docs/guide.md) and [its second set-up](docs/guide.md#set-up-the-x-tool-v2-1) and ![pic](pic.png)",
        "[gone](docs/missing.md)",
        "![no picture](img/none.svg)",
        "[no such heading](docs/guide.md#set-up-the-x-tool-v2-2) and [here](#title) and [not here](#nowhere)",
        "[outside](../elsewhere.md) and [folder](docs/) and [web](https://example.invalid/x.md) `[code](nope.md)`",
        "```md",
        "[in a code block](nope.md)",
        "```",
        "[ref]: docs/also-missing.md",
        '<img src="missing.png" alt="">',
      ].join("\n"),
    );
    const { problems, checked } = checkMarkdownLinks({ root: scratch, files: ["README.md"] });
    assert.deepEqual(
      problems.map((p) => `${p.line} ${p.target}: ${p.problem}`),
      [
        "3 docs/missing.md: no such file or folder: docs/missing.md",
        "4 img/none.svg: no such file or folder: img/none.svg",
        "5 docs/guide.md#set-up-the-x-tool-v2-2: no heading with anchor #set-up-the-x-tool-v2-2 in docs/guide.md",
        "5 #nowhere: no heading with anchor #nowhere in README.md",
        "6 ../elsewhere.md: points outside the repository",
        "10 docs/also-missing.md: no such file or folder: docs/also-missing.md",
        "11 missing.png: no such file or folder: missing.png",
      ],
    );
    assert.equal(checked, 12, "the https link and the links in code are not checked");
  });

  test("anchors follow GitHub's rules: lowercase, punctuation dropped but - and _, spaces to -, duplicates numbered", () => {
    assert.equal(githubSlug("How CI proves the golden path: a real cluster"), "how-ci-proves-the-golden-path-a-real-cluster");
    assert.equal(githubSlug("`tracemesh trace <trace id>`"), "tracemesh-trace-trace-id");
    assert.equal(githubSlug("Why a client of its own (beside undici)"), "why-a-client-of-its-own-beside-undici");
    assert.equal(githubSlug("MODERATION_URL & the [X-Ray](https://x.invalid) SDK — 2.0"), "moderation_url--the-x-ray-sdk--20");
    assert.deepEqual(
      [...headingAnchors("# A\n\n## A\n\nB\n---\n\n```\n# not a heading\n```\n\n## A\n")],
      ["a", "a-1", "b", "a-2"],
    );
  });
});
