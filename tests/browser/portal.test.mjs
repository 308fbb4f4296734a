// The portal end to end in headless Debian Chromium: what a citizen does on
// the demo catalog, in Chinese and in English. It starts the `gongshu`
// binary the tests built on a free loopback port with a fresh data
// directory, and keeps screenshots of the main pages in
// target/browser-artifacts/. Issue 4.
//
//   GONGSHU_BIN      the binary (default: ../../target/debug/gongshu)
//   CHROMIUM         the browser (default: /usr/bin/chromium); never downloaded

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const root = resolve(import.meta.dirname, "../..");
const binary = process.env.GONGSHU_BIN ?? join(root, "target/debug/gongshu");
const artifacts = join(root, "target/browser-artifacts");
mkdirSync(artifacts, { recursive: true });

let server, browser, base, dataDir;

function freePort() {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "gongshu-browser-"));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(binary, ["--data-dir", dataDir, "serve", "--demo", "--listen", `127.0.0.1:${port}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  await new Promise((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`the server did not start:\n${log}`)), 120_000);
    server.stderr.on("data", (chunk) => {
      log += chunk;
      if (log.includes("gongshu listening on")) {
        clearTimeout(timer);
        ready();
      }
    });
    server.once("exit", (code) => fail(new Error(`the server exited with ${code}:\n${log}`)));
  });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium" });
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function page(options = {}) {
  const context = await browser.newContext({ locale: "zh-CN", acceptDownloads: true, ...options });
  return [context, await context.newPage()];
}

test("search in Chinese, open a dataset, page and filter the preview", async () => {
  const [context, tab] = await page({ viewport: { width: 1280, height: 900 } });
  await tab.goto(base + "/");
  assert.equal(await tab.getAttribute("html", "lang"), "zh-CN");
  await tab.screenshot({ path: join(artifacts, "home-zh.png"), fullPage: true });

  await tab.getByRole("combobox", { name: "搜索数据目录" }).fill("天气");
  await tab.keyboard.press("Enter");
  await tab.waitForURL(/\/datasets\?q=/);
  assert.match(await tab.locator(".summary").innerText(), /共找到 1 个数据资源/);
  assert.equal(await tab.locator(".card h3 b").first().innerText(), "天气", "the matched word is highlighted");
  await tab.screenshot({ path: join(artifacts, "search-zh.png"), fullPage: true });

  await tab.locator(".card h3 a").first().click();
  await tab.waitForURL(/\/datasets\/[0-9a-f-]+$/);
  assert.match(await tab.locator("h1").innerText(), /逐日天气观测/);
  assert.match(await tab.locator("#preview .summary").innerText(), /显示第 1 至 20 行，共 1461 行/);
  assert.equal(await tab.locator("table.data tbody tr").count(), 20);
  assert.equal(await tab.locator("svg.chart rect.bar").count(), 5, "one bar per kind of weather");
  await tab.screenshot({ path: join(artifacts, "dataset-zh.png"), fullPage: true });

  await tab.locator("#preview").getByRole("link", { name: "下一页" }).click();
  assert.match(await tab.locator("#preview .summary").innerText(), /显示第 21 至 40 行/);

  await tab.locator("details.filters summary").click();
  await tab.getByRole("textbox", { name: "天气现象 (weather)" }).fill("snow");
  await tab.getByRole("button", { name: "应用" }).click();
  assert.match(await tab.locator("#preview .summary").innerText(), /共 23 行/);
  const weather = await tab.locator("table.data tbody tr td:last-child").allInnerTexts();
  assert.ok(weather.every((w) => w === "snow"), weather.join(","));
  await context.close();
});

test("download a file", async () => {
  const [context, tab] = await page();
  await tab.goto(base + "/datasets?q=天气");
  await tab.locator(".card h3 a").first().click();
  const [download] = await Promise.all([
    tab.waitForEvent("download"),
    tab.getByRole("link", { name: "Excel（XLSX）" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /-v1\.xlsx$/);
  const saved = join(artifacts, download.suggestedFilename());
  await download.saveAs(saved);
  assert.equal(readFileSync(saved).subarray(0, 2).toString(), "PK", "an XLSX is a zip archive");
  await context.close();
});

test("switch to English and stay there; facets narrow the list", async () => {
  const [context, tab] = await page();
  await tab.goto(base + "/datasets");
  await tab.getByRole("link", { name: "English" }).click();
  assert.equal(await tab.getAttribute("html", "lang"), "en");
  assert.equal(await tab.locator("h1").innerText(), "Datasets");
  await tab.goto(base + "/");
  assert.equal(await tab.getAttribute("html", "lang"), "en", "the choice is remembered");
  await tab.screenshot({ path: join(artifacts, "home-en.png"), fullPage: true });

  await tab.goto(base + "/datasets");
  await tab.getByRole("link", { name: "Open under conditions" }).click();
  assert.match(await tab.locator(".summary").innerText(), /Found 1 datasets/);
  await tab.getByRole("link", { name: /Openness: Open under conditions/ }).click();
  assert.match(await tab.locator(".summary").innerText(), /Found 10 datasets/);
  await context.close();
});

test("with JavaScript: titles suggested as one types, and the chart's column chosen", async () => {
  const [context, tab] = await page({ viewport: { width: 1280, height: 900 } });
  await tab.goto(base + "/");
  await tab.getByRole("combobox", { name: "搜索数据目录" }).pressSequentially("空气", { delay: 60 });
  await tab.waitForFunction(() => document.querySelectorAll("#q-suggestions option").length > 0);
  const suggested = await tab.locator("#q-suggestions option").evaluateAll((os) => os.map((o) => o.value));
  assert.ok(suggested.includes("宁波市环境空气质量日报"), suggested.join(","));

  await tab.goto(base + "/datasets?q=天气");
  await tab.locator(".card h3 a").first().click();
  assert.equal(await tab.getByRole("button", { name: "绘制" }).isVisible(), false, "choosing is enough");
  await Promise.all([tab.waitForURL(/chart=date/), tab.getByLabel("按列统计").selectOption("date")]);
  assert.match(await tab.locator("#chart figcaption").innerText(), /date/);
  assert.equal(await tab.locator("svg.chart polyline.line").count(), 1, "a date column draws a line");
  await tab.locator("#chart").screenshot({ path: join(artifacts, "chart-by-date.png") });
  await context.close();
});

test("a harvested dataset says where it came from (区域协作)", async () => {
  const [context, tab] = await page({ viewport: { width: 1280, height: 900 } });
  await tab.goto(base + "/datasets?origin=harvested");
  assert.match(await tab.locator(".summary").innerText(), /共找到 5 个数据资源/);
  await tab.getByRole("link", { name: "宁波市环境空气质量日报" }).click();
  const provenance = tab.locator("#provenance");
  assert.match(await provenance.innerText(), /本条目采集自 宁波市公共数据开放平台（示例）/);
  const source = await tab.getByRole("link", { name: "在来源平台查看" }).getAttribute("href");
  assert.equal(source, "https://data.ningbo.example/dataset/air-quality-daily.html");
  assert.match(await tab.locator("#preview").innerText(), /数据保存在来源平台/);
  await tab.screenshot({ path: join(artifacts, "dataset-harvested-zh.png"), fullPage: true });
  await tab.goto(base + "/harvest");
  assert.match(await tab.locator("table").innerText(), /列出 5 个：新增 5/);
  await tab.screenshot({ path: join(artifacts, "harvest-sources-zh.png"), fullPage: true });
  await context.close();
});

test("keyboard first, and a phone-sized screen", async () => {
  const [context, tab] = await page({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await tab.goto(base + "/datasets?q=区划");
  await tab.keyboard.press("Tab");
  assert.equal(await tab.evaluate(() => document.activeElement.textContent), "跳到正文");
  const overflow = await tab.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  await tab.screenshot({ path: join(artifacts, "search-phone.png"), fullPage: true });
  await tab.locator(".card h3 a").first().click();
  await tab.screenshot({ path: join(artifacts, "dataset-phone.png"), fullPage: true });
  await context.close();
});

test("submit a demand request, then sign in as the department and answer it", async () => {
  const [citizen, tab] = await page({ viewport: { width: 1100, height: 900 } });
  await tab.goto(base + "/requests");
  await tab.getByRole("link", { name: "提出需求或纠错" }).click();
  await tab.getByLabel("向哪个部门提出").selectOption({ label: "杭州市交通运输局" });
  await tab.getByLabel("标题").fill("网约车订单量统计");
  await tab.getByLabel("具体说明").fill("希望按月开放各区网约车订单量。");
  await tab.getByLabel("联系方式（可选，仅答复部门可见）").fill("citizen@example.com");
  await tab.getByRole("button", { name: "提交" }).click();
  await tab.waitForURL(/\/requests\/[0-9a-f-]+\?filed=1$/);
  assert.match(await tab.locator("[role=status]").innerText(), /已收到您的诉求/);
  assert.ok(!(await tab.content()).includes("citizen@example.com"), "the contact stays private");
  const requestUrl = tab.url().replace("?filed=1", "");
  await tab.screenshot({ path: join(artifacts, "request-filed.png"), fullPage: true });
  await citizen.close();

  const [department, console] = await page({ viewport: { width: 1100, height: 900 } });
  await console.goto(base + "/console");
  await console.waitForURL(/\/console\/sign-in$/);
  await console.getByLabel("用户名").fill("jt-editor");
  await console.getByLabel("密码").fill("gongshu-demo-2026");
  await console.getByRole("button", { name: "登录" }).click();
  await console.waitForURL(/\/console$/);
  await console.screenshot({ path: join(artifacts, "console.png"), fullPage: true });
  await console.getByRole("link", { name: "网约车订单量统计" }).click();
  assert.match(await console.locator("main").innerText(), /citizen@example\.com/, "those who answer see the contact");
  await console.getByLabel("已列入计划").check();
  await console.getByLabel("答复", { exact: true }).fill("将于明年第二季度按月开放。");
  await console.getByLabel("计划日期").fill("2027-06-30");
  await console.getByRole("button", { name: "提交" }).click();
  await console.waitForURL(/\/console$/);
  await console.goto(requestUrl);
  const answered = await console.locator("main").innerText();
  assert.match(answered, /已列入计划/);
  assert.match(answered, /2027-06-30/);
  await department.close();
});

test("a department reads under its grant and runs the sandbox; the provider decides a request (共享)", async () => {
  const [department, console] = await page({ viewport: { width: 1200, height: 1000 } });
  await console.goto(base + "/console/sign-in");
  await console.getByLabel("用户名").fill("tj-editor");
  await console.getByLabel("密码").fill("gongshu-demo-2026");
  await console.getByRole("button", { name: "登录" }).click();
  await console.waitForURL(/\/console$/);
  await console.locator("#grants a").first().click();
  await console.waitForURL(/\/console\/grants\//);
  const grant = await console.locator("main").innerText();
  assert.match(grant, /生效中/);
  assert.match(grant, /Shanghai/);
  assert.doesNotMatch(grant, /Nanchang/, "the row filter holds back one city");
  await console.getByRole("button", { name: "运行" }).click();
  await console.locator("#sandbox-result").waitFor();
  assert.match(await console.locator("#sandbox-result").innerText(), /\b7\b/);
  await console.screenshot({ path: join(artifacts, "grant-zh.png"), fullPage: true });
  await department.close();

  // The health commission decides the market regulator's overdue request, masking the city.
  const [provider, desk] = await page({ viewport: { width: 1200, height: 1000 } });
  await desk.goto(base + "/console/sign-in");
  await desk.getByLabel("用户名").fill("wj-editor");
  await desk.getByLabel("密码").fill("gongshu-demo-2026");
  await desk.getByRole("button", { name: "登录" }).click();
  await desk.waitForURL(/\/console$/);
  const row = desk.locator("#sharing-requests tr", { hasText: "已超期" });
  await row.getByRole("link").click();
  await desk.waitForURL(/\/console\/sharing\//);
  await desk.getByLabel("脱敏方式 Location").selectOption("hash");
  await desk.getByLabel("意见或理由").fill("同意，城市名称脱敏后提供");
  await desk.screenshot({ path: join(artifacts, "sharing-decision-zh.png"), fullPage: true });
  await desk.getByRole("button", { name: "同意共享" }).click();
  await desk.waitForURL(/\/console\/sharing\//);
  const decided = await desk.locator("main").innerText();
  assert.match(decided, /已授权/);
  assert.match(decided, /同意，城市名称脱敏后提供/);
  await provider.close();
});

test("an operation plan is approved, its operator selected and the agreement signed (授权运营)", async () => {
  const signIn = async (username) => {
    const [context, tab] = await page({ viewport: { width: 1200, height: 1000 } });
    await tab.goto(base + "/console/sign-in");
    await tab.getByLabel("用户名").fill(username);
    await tab.getByLabel("密码").fill("gongshu-demo-2026");
    await tab.getByRole("button", { name: "登录" }).click();
    await tab.waitForURL(/\/console$/);
    return [context, tab];
  };
  const open = async (tab, state) => {
    await tab.locator("#agreements tr", { hasText: state }).getByRole("link").first().click();
    await tab.waitForURL(/\/console\/agreements\//);
  };

  // The enterprise's signed conditional-open agreement: its full text and digest.
  const [company, desk] = await signIn("qy-admin");
  await open(desk, "履行中");
  const agreement = await desk.locator("main").innerText();
  assert.match(agreement, /受限|有条件开放/);
  assert.match(agreement, /[0-9a-f]{64}/, "the digest signed is shown");
  await desk.screenshot({ path: join(artifacts, "agreement-zh.png"), fullPage: true });
  await company.close();

  // The bureau approves the plan waiting for it, with its three reviews.
  const [bureau, review] = await signIn("sjj-admin");
  await open(review, "方案审批中");
  await review.getByLabel("风险评估结论").fill("数据为一般数据，风险可控");
  await review.getByLabel("合规审查结论").fill("符合实施规范");
  await review.getByLabel("公平竞争审查结论").fill("公开招标，未排除竞争");
  await review.getByLabel("批准文号或会议纪要").fill("杭政办函〔2026〕20号（示例）");
  await review.screenshot({ path: join(artifacts, "operation-approval-zh.png"), fullPage: true });
  await review.getByRole("button", { name: "批准", exact: true }).click();
  await review.waitForURL(/\/console\/agreements\//);
  assert.match(await review.locator("main").innerText(), /待选定运营机构/);
  await bureau.close();

  // The implementing body names the operator it selected.
  const [implementing, select] = await signIn("ss-editor");
  await open(select, "待选定运营机构");
  await select.getByLabel("运营机构", { exact: true }).selectOption({ label: "杭州数据运营有限公司" });
  await select.getByLabel("运营机构选择方式").fill("公开招标（HZSJ-2026-0401，示例）");
  await select.getByRole("button", { name: "选定运营机构" }).click();
  await select.waitForURL(/\/console\/agreements\//);
  assert.match(await select.locator("main").innerText(), /待签署协议/);
  await implementing.close();

  // The operator signs what it read; the grant is made.
  const [operator, sign] = await signIn("operator-admin");
  await open(sign, "待签署协议");
  await sign.getByRole("button", { name: "签署协议", exact: true }).click();
  await sign.waitForURL(/\/console\/agreements\//);
  const signed = await sign.locator("main").innerText();
  assert.match(signed, /履行中/);
  assert.match(signed, /授权详情/, "links to the grant it made");
  await operator.close();
});

test("anyone checks a ledger entry, and the browser checks the signature and the proof itself (可验证账本)", async () => {
  const [context, tab] = await page({ viewport: { width: 1200, height: 1000 } });
  await tab.goto(base + "/ledger");
  await tab.getByLabel("条目序号").fill("3");
  await tab.getByRole("button", { name: "核验" }).click();
  await tab.waitForURL(/entry=3/);
  const check = tab.locator("#inclusion-check .browser-check");
  await check.waitFor({ state: "visible" });
  assert.match(await check.innerText(), /检查点签名有效，证明可推导出其根哈希/);
  assert.match(await check.getAttribute("class"), /\bok\b/);
  await tab.screenshot({ path: join(artifacts, "ledger-zh.png"), fullPage: true });

  // A dataset's data tracker links each use to its entry.
  await tab.goto(base + "/datasets?q=" + encodeURIComponent("吸烟"));
  await tab.getByRole("link", { name: "吸烟与肺癌病例对照研究汇总数据" }).first().click();
  const tracker = tab.locator("#tracker");
  assert.match(await tracker.innerText(), /杭州明鉴健康科技有限公司/);
  await tracker.getByRole("link").first().click();
  await tab.waitForURL(/\/ledger\?entry=\d+/);
  await check.waitFor({ state: "visible" });
  assert.match(await check.getAttribute("class"), /\bok\b/);
  await context.close();
});
