// The browser side of the tests: Debian's Chromium through playwright-core, a fresh profile per
// run, screenshots saved as artifacts and checked for a blank page, axe-core's audit, and a
// small REST client for setting up what the scenarios need.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {createRequire} = require('node:module');

const modules = createRequire(path.join(process.env.BROWSER_MODULES || path.join(__dirname, 'node_modules'), 'index.js'));
const {chromium} = modules('playwright-core');
const axeSource = fs.readFileSync(modules.resolve('axe-core/axe.min.js'), 'utf8');

const artifacts = process.env.CONSOLE_ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'console-e2e-'));
fs.mkdirSync(artifacts, {recursive: true});

async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'console-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: {width: 1280, height: 800},
    timezoneId: 'America/New_York',
    reducedMotion: 'reduce',
    locale: 'en-US',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {context, close: async () => { await context.close(); fs.rmSync(profile, {recursive: true, force: true}); }};
}

/** Saves a screenshot as `name.png` and fails if it is blank (fewer than 8 colours). */
async function screenshot(page, name) {
  const file = path.join(artifacts, `${name}.png`);
  const image = await page.screenshot({path: file, fullPage: false});
  const scratch = await page.context().newPage();
  try {
    const colours = await scratch.evaluate(async (base64) => {
      const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${base64}`)).blob());
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const drawing = canvas.getContext('2d');
      drawing.drawImage(bitmap, 0, 0);
      const pixels = drawing.getImageData(0, 0, bitmap.width, bitmap.height).data;
      const seen = new Set();
      for (let index = 0; index < pixels.length; index += 4 * 97) seen.add((pixels[index] << 16) | (pixels[index + 1] << 8) | pixels[index + 2]);
      return seen.size;
    }, image.toString('base64'));
    if (colours < 8) throw new Error(`the screenshot ${name} looks blank (${colours} colours)`);
    return file;
  } finally {
    await scratch.close();
  }
}

/** axe-core's serious and critical violations on the page as it stands. */
async function accessibilityProblems(page) {
  // Evaluated through the debugging protocol: the console's policy refuses inline scripts.
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, {resultTypes: ['violations']}));
  return result.violations.filter((violation) => ['serious', 'critical'].includes(violation.impact))
    .map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).slice(0, 3).join(', ')})`);
}

/** A REST client for the set-up, with a bearer token. */
function client(baseUrl, token) {
  const call = async (method, route, body, headers = {}) => {
    const response = await fetch(`${baseUrl}${route}`, {method, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
      headers: {'content-type': 'application/json', ...(token ? {authorization: `Bearer ${token}`} : {}), ...headers}});
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  call.authorization = token ? `Bearer ${token}` : undefined;
  return call;
}

module.exports = {launch, screenshot, accessibilityProblems, client, artifacts};
