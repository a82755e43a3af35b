// Lighthouse (pinned in package.json) on several pages with one Chromium: the tests' and the
// bench's way to run it. Usage: node tests/lighthouse_runner.mjs '<json>' where json is
// {"runs": [{"url": "...", "preset": "desktop"|"mobile"}], "categories": ["accessibility", ...]}.
// Prints one JSON line: [{url, preset, scores: {category: 0..1}, failed: [{id, title}]}].
// The browser is CHROME_PATH (Debian's chromium in the tests), headless, no network but loopback.
import * as chromeLauncher from "chrome-launcher";
import lighthouse from "lighthouse";
import desktopConfig from "lighthouse/core/config/desktop-config.js";

const { runs, categories } = JSON.parse(process.argv[2]);
const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROME_PATH,
  chromeFlags: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-dev-shm-usage"],
});
const out = [];
try {
  for (const { url, preset } of runs) {
    const flags = { port: chrome.port, output: "json", logLevel: "error", onlyCategories: categories };
    const result = await lighthouse(url, flags, preset === "desktop" ? desktopConfig : undefined);
    const lhr = result.lhr;
    const scores = Object.fromEntries(Object.entries(lhr.categories).map(([k, c]) => [k, c.score]));
    const failed = Object.values(lhr.audits)
      .filter((a) => a.score !== null && a.score < 1 && a.scoreDisplayMode !== "informative"
        && a.scoreDisplayMode !== "manual" && a.scoreDisplayMode !== "notApplicable")
      .map((a) => ({ id: a.id, title: a.title, score: a.score, value: a.displayValue || null }));
    out.push({ url, preset, scores, failed, runtimeError: lhr.runtimeError || null });
  }
} finally {
  await chrome.kill();
}
process.stdout.write(JSON.stringify(out) + "\n");
