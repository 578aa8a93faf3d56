// Drives the explorer of a running dev network in headless chromium (npm playwright-core), as a person would:
// the live page updates without a reload when the test sends a token transfer, the message graph of the transfer
// links to its Debit-Notice and Credit-Notice, a tag search finds the Credit-Notice, and the pages fit a phone.
// Protocol with the Go test: prints "ready" once the live stream is open, then reads the transfer's id on stdin;
// prints one JSON line of facts at the end. Env: AOGO_EXPLORER (the explorer's URL), AOGO_CHROMIUM,
// AOGO_PROFILE (a fresh user-data dir), AOGO_SHOTS (the directory for screenshots), AOGO_TOKEN (the token process).
const { chromium } = require("playwright-core");
const readline = require("readline");
const path = require("path");

const base = process.env.AOGO_EXPLORER;
const shots = process.env.AOGO_SHOTS;
const lines = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise(resolve => lines.once("line", resolve));

function check(cond, msg) { if (!cond) throw new Error(msg); }

(async () => {
  // A fresh profile (playwright passes it as --user-data-dir) and one browser session for the whole test.
  const browser = await chromium.launchPersistentContext(process.env.AOGO_PROFILE, {
    executablePath: process.env.AOGO_CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  const facts = {};
  try {
    const page = browser.pages()[0] || await browser.newPage();
    const errors = [];
    page.on("pageerror", e => errors.push(String(e)));
    await page.goto(base);
    await page.waitForSelector(".live-dot.on", { timeout: 20000 });
    const before = await page.locator("#stream li").count();
    console.log("ready");
    const transfer = (await nextLine()).trim();
    facts.transfer = transfer;
    // The transfer and the Credit-Notice it caused arrive on the open stream: no reload, no navigation.
    await page.waitForSelector(`#stream li[data-id="${transfer}"]`, { timeout: 30000 });
    await page.waitForSelector(`#stream li:has(.action:text-is("Credit-Notice"))`, { timeout: 30000 });
    facts.liveRows = (await page.locator("#stream li").count()) - before;
    await page.screenshot({ path: path.join(shots, "explorer-live.png"), fullPage: true });

    // The message page of the transfer: its graph shows both notices; click through to each.
    await page.goto(`${base}#/message/${transfer}`);
    await page.waitForSelector("#message-action:text-is('Transfer')");
    const node = action => page.locator(`#graph a.node[data-action="${action}"]`);
    await node("Debit-Notice").waitFor({ timeout: 20000 });
    await node("Credit-Notice").waitFor({ timeout: 20000 });
    await page.screenshot({ path: path.join(shots, "explorer-graph.png"), fullPage: true });
    for (const action of ["Debit-Notice", "Credit-Notice"]) {
      const id = await node(action).getAttribute("data-id");
      facts[action] = id;
      await node(action).click();
      await page.waitForFunction(id => location.hash === "#/message/" + id, id);
      // The Debit-Notice went to a wallet: its item comes from the gateway, where the MU uploads it.
      for (let i = 0; ; i++) {
        const shown = await page.locator("#message-action").textContent({ timeout: 10000 }).catch(() => "");
        if (shown === action) break;
        check(i < 20, `message page of ${action} shows ${JSON.stringify(shown)}`);
        await page.waitForTimeout(250);
        await page.reload();
      }
      // Its graph has the transfer as its parent.
      await page.locator(`#graph a.node.parent[data-id="${transfer}"]`).waitFor({ timeout: 10000 });
      await page.goBack();
      await page.waitForSelector("#message-action:text-is('Transfer')");
    }

    // Search by a tag.
    await page.fill("#q", "Action=Credit-Notice");
    await page.press("#q", "Enter");
    await page.waitForSelector(`#results li[data-id="${facts["Credit-Notice"]}"]`, { timeout: 10000 });
    facts.searchRows = await page.locator("#results li").count();

    // A phone's width: no page wider than the screen (the graph scrolls inside its card).
    await page.setViewportSize({ width: 390, height: 844 });
    for (const hash of [`#/message/${transfer}`, `#/process/${process.env.AOGO_TOKEN}`]) {
      await page.goto(base + hash);
      await page.waitForSelector("h1");
      await page.waitForTimeout(300);
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      check(wide <= 392, `${hash} is ${wide}px wide at a 390px viewport`);
    }
    await page.screenshot({ path: path.join(shots, "explorer-phone.png"), fullPage: true });
    check(errors.length === 0, "page errors: " + errors.join("; "));
    facts.ok = true;
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(facts));
  process.exit(0);
})().catch(e => { console.error(e && e.stack || e); process.exit(1); });
