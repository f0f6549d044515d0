// The web app's user flows in a real browser (Debian's chromium driven by playwright-core), shared by the local
// browser test (frontend.browser.test.ts: the mesh as processes) and the cluster test (k8s-cluster-golden.ts: the
// frontend Service): each step checks what the page shows, and axe-core checks each screen on the way.
import assert from "node:assert/strict";
import fs from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";

export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
// What this closed network needs: no QUIC, no background fetches to Google, no GPU in a container.
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
export const PHONE = { width: 390, height: 844 };

export interface Person {
  context: BrowserContext;
  page: Page;
}

/** One browser on the web app at baseURL, recording every /api request and axe's findings per screen. */
export class WebApp {
  /** Every /api request the pages sent, with its headers (traceparent, baggage). */
  readonly apiRequests: Array<{ url: string; headers: Record<string, string> }> = [];
  /** axe's serious and critical violations per screen. */
  readonly axeFindings: Record<string, string[]> = {};

  private constructor(
    readonly browser: Browser,
    readonly baseURL: string,
  ) {}

  static async launch(baseURL: string): Promise<WebApp> {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: run bash scripts/tools/10-chromium.sh`);
    // playwright gives every launch a fresh, temporary profile (--user-data-dir).
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
    return new WebApp(browser, baseURL);
  }

  /** A person of their own: a browser context (cookies, localStorage) with one page. */
  async open(): Promise<Person> {
    const context = await this.browser.newContext({ viewport: PHONE, baseURL: this.baseURL });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    page.on("request", (req) => {
      if (new URL(req.url()).pathname.startsWith("/api/")) this.apiRequests.push({ url: req.url(), headers: req.headers() });
    });
    page.on("pageerror", (err) => process.stderr.write(`[page error] ${err.message}\n`));
    return { context, page };
  }

  async checkA11y(page: Page, screen: string): Promise<void> {
    const results = await new AxeBuilder({ page }).analyze();
    this.axeFindings[screen] = results.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  }

  /** No serious or critical violation on any screen checked (at least `screens` of them). */
  assertAccessible(screens: number): void {
    assert.ok(Object.keys(this.axeFindings).length >= screens, `screens checked: ${Object.keys(this.axeFindings).join(", ")}`);
    const failing = Object.entries(this.axeFindings).filter(([, v]) => v.length > 0);
    assert.deepEqual(failing, [], failing.map(([screen, v]) => `${screen}:\n  ${v.join("\n  ")}`).join("\n"));
  }

  /** Every /api fetch carried traceparent and baggage with the session id. */
  assertPropagated(requests: number): void {
    assert.ok(this.apiRequests.length >= requests, `api requests seen: ${this.apiRequests.length}`);
    for (const r of this.apiRequests) {
      assert.match(r.headers.traceparent ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/, `traceparent on ${r.url}`);
      assert.match(r.headers.baggage ?? "", /(^|,)\s*session\.id=[0-9a-f]{32}/, `baggage on ${r.url}`);
    }
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

/** The sign-up page: handle and display name, then the signed-in home page. */
export async function signUp(page: Page, handle: string, name: string): Promise<void> {
  await page.goto("/signup");
  await page.getByLabel("Handle").fill(handle);
  await page.getByLabel("Display name").fill(name);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  await page.getByRole("link", { name: `@${handle}` }).waitFor();
}

/** A post with an @mention and a one-day TTL from the home page: it tops the feed, the form is cleared. */
export async function postWithMention(app: WebApp, page: Page, text: string, mentioned: string): Promise<void> {
  await page.getByLabel("What's happening?").fill(text);
  await page.getByLabel("Expires after").selectOption("1-day");
  await page.getByRole("button", { name: "Post" }).click();
  const first = page.getByRole("article").first();
  await first.getByText(text, { exact: false }).waitFor();
  assert.match(await first.innerText(), /expires in (23h|1d)/);
  assert.equal(await page.getByLabel("What's happening?").inputValue(), "", "the form is cleared");
  // The mention is a link to the mentioned person's profile.
  assert.equal(await first.getByRole("link", { name: `@${mentioned}` }).getAttribute("href"), `/@${mentioned}`);
  await app.checkA11y(page, "home (signed in)");
}

/** The mentioned person opens the mention from their notifications, replies to the post and likes it. */
export async function replyAndLike(app: WebApp, page: Page, author: string, postText: string, replyText: string): Promise<void> {
  await page.goto("/");
  await page.getByRole("link", { name: "Notifications, 1 unread" }).waitFor({ timeout: 20_000 });
  await page.getByRole("link", { name: /^Notifications/ }).click();
  const mention = page.getByRole("listitem").filter({ hasText: "mentioned you" });
  await mention.waitFor();
  assert.match(await mention.innerText(), new RegExp(`@${author} mentioned you`));
  await mention.getByRole("link", { name: new RegExp(postText.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) }).click();

  await page.getByRole("heading", { level: 1, name: "Post" }).waitFor();
  await page.getByRole("article").first().getByText(postText).waitFor();
  await app.checkA11y(page, "activity");
  await page.getByLabel("Your reply").fill(replyText);
  await page.getByRole("button", { name: "Reply", exact: true }).click();
  await page.getByRole("heading", { name: "Replies (1)" }).waitFor();
  await page.getByRole("article").filter({ hasText: replyText }).waitFor();

  const like = page.getByRole("article").first().getByRole("button", { name: /^Like/ });
  await like.click();
  await page.getByRole("article").first().getByRole("button", { name: "Like, 1 like" }).waitFor();
  assert.equal(await page.getByRole("article").first().getByRole("button", { name: /^Like/ }).getAttribute("aria-pressed"), "true");
}

/** The author reads the reply and the like in their notifications; the unread count is gone after. */
export async function readNotifications(app: WebApp, page: Page, from: string): Promise<void> {
  await page.goto("/");
  await page.getByRole("link", { name: "Notifications, 2 unread" }).waitFor({ timeout: 20_000 });
  await page.getByRole("link", { name: /^Notifications/ }).click();
  await page.getByRole("listitem").filter({ hasText: "replied to your post" }).waitFor();
  await page.getByRole("listitem").filter({ hasText: "liked your post" }).waitFor();
  const items = await page.getByRole("listitem").filter({ hasText: `@${from}` }).allInnerTexts();
  assert.equal(items.length, 2, `two notifications from ${from}, got ${JSON.stringify(items)}`);
  await page.getByRole("link", { name: "Notifications", exact: true }).waitFor();
  await app.checkA11y(page, "notifications");
}
