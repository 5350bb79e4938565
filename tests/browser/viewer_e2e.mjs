// Drives voxeld's viewer page in headless Chromium (Debian's /usr/bin/chromium, through
// playwright-core) against a running server; called by tests/viewer_browser.rs, which starts the
// server. Exits 0 when every check holds, else prints what failed and exits 1.
//
//   node viewer_e2e.mjs check URL TOKEN SOCKET OUT_DIR
//     - the page with the right token goes live and shows the world's status;
//     - a script run over the Unix socket changes the page's pixels and its status (seq);
//     - the page with a wrong token is refused and shows no world.
//   node viewer_e2e.mjs load URL TOKEN RUNS
//     - times page load to "the whole world is on screen" (the 1 M-voxel target), RUNS times.

import { chromium } from 'playwright-core';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // WebGL2 on the CPU: headless machines have no GPU.
  '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
];

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

/** One JSON-RPC request over the Unix socket; resolves with the reply object. */
function socketCall(socketPath, method, params) {
  return new Promise((resolve, reject) => {
    const client = net.createConnection(socketPath);
    let buffer = '';
    client.on('connect', () => client.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })}\n`));
    client.on('data', (data) => {
      buffer += data;
      try {
        const reply = JSON.parse(buffer);
        client.end();
        resolve(reply);
      } catch { /* not complete yet */ }
    });
    client.on('error', reject);
  });
}

async function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

async function waitFor(page, predicate, arg, what, timeout = 20000) {
  try {
    await page.waitForFunction(predicate, arg, { timeout, polling: 50 });
  } catch {
    const state = await page.evaluate(() => JSON.stringify(window.voxeldViewer));
    fail(`${what} within ${timeout} ms (viewer state: ${state})`);
  }
}

/** Pixels of the world canvas whose colour is near `rgb` under any of the viewer's face shades. */
async function countPixels(page, rgb) {
  return page.evaluate((rgb) => {
    const view = document.getElementById('view');
    const c = document.createElement('canvas');
    c.width = view.width; c.height = view.height;
    const g = c.getContext('2d');
    g.drawImage(view, 0, 0);
    const data = g.getImageData(0, 0, c.width, c.height).data;
    const shades = [1.0, 0.88, 0.8, 0.72, 0.66, 0.5];
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      for (const s of shades) {
        if (Math.abs(data[i] - rgb[0] * s) <= 3 && Math.abs(data[i + 1] - rgb[1] * s) <= 3 && Math.abs(data[i + 2] - rgb[2] * s) <= 3) { n++; break; }
      }
    }
    return n;
  }, rgb);
}

async function check(url, token, socketPath, outDir) {
  const browser = await launch();
  const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${url}?token=${encodeURIComponent(token)}`);
  await waitFor(page, () => window.voxeldViewer.connection === 'open' && window.voxeldViewer.shownSeq >= 0 && window.voxeldViewer.frames > 0, null, 'the page went live');
  const before = await page.evaluate(() => window.voxeldViewer.status);
  await page.screenshot({ path: path.join(outDir, 'viewer-before.png') });
  const green = [40, 200, 90];
  const greenBefore = await countPixels(page, green);

  const script = `for (let x = 0; x < 12; x++) for (let y = 0; y < 12; y++) for (let z = 0; z < 6; z++) goxel.addVoxel(x, y, z, [${green}, 255]);`;
  const reply = await socketCall(socketPath, 'goxel.execute_script', { script });
  if (!reply.result || reply.result.success === false) fail(`the script failed: ${JSON.stringify(reply)}`);
  const status = await socketCall(socketPath, 'goxel.get_status', {});
  const seq = status.result.seq;
  if (!(seq > before.seq)) fail(`the script did not move seq (${before.seq} -> ${seq})`);

  await waitFor(page, (seq) => window.voxeldViewer.shownSeq >= seq && window.voxeldViewer.status.seq >= seq, seq, `the page showed seq ${seq}`);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.screenshot({ path: path.join(outDir, 'viewer-after.png') });
  const greenAfter = await countPixels(page, green);
  const shownSeq = await page.locator('#status-seq').textContent();
  const voxels = await page.locator('#status-voxels').textContent();
  if (Number(shownSeq) !== seq) fail(`the status panel shows seq ${shownSeq}, the server ${seq}`);
  if (Number(voxels) !== status.result.voxel_count) fail(`the status panel shows ${voxels} voxels, the server ${status.result.voxel_count}`);
  if (!(greenAfter > greenBefore + 2000)) fail(`the script's voxels did not appear on screen (${greenBefore} -> ${greenAfter} green pixels)`);
  if (errors.length) fail(`page errors: ${errors.join('; ')}`);
  console.log(`live page: seq ${before.seq} -> ${seq}, green pixels ${greenBefore} -> ${greenAfter}`);

  const intruder = await browser.newPage();
  await intruder.goto(`${url}?token=wrong-${encodeURIComponent(token)}`);
  await waitFor(intruder, () => window.voxeldViewer.connection === 'failed', null, 'the page with a wrong token was refused');
  const leaked = await intruder.evaluate(() => ({ status: window.voxeldViewer.status, chunks: window.voxeldViewer.chunks }));
  if (leaked.status !== null || leaked.chunks !== 0) fail(`a wrong token saw the world: ${JSON.stringify(leaked)}`);
  console.log('wrong token: refused');
  await browser.close();
}

async function load(url, token, runs) {
  const browser = await launch();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    const start = Date.now();
    await page.goto(`${url}?token=${encodeURIComponent(token)}`);
    await waitFor(page, () => window.voxeldViewer.shownSeq >= 0 && window.voxeldViewer.frames > 0 && window.voxeldViewer.framed, null, 'the world loaded', 120000);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
    times.push(Date.now() - start);
    const chunks = await page.evaluate(() => window.voxeldViewer.chunks);
    console.log(`run ${i + 1}: ${times[i]} ms, ${chunks} chunks`);
    await page.close();
  }
  times.sort((a, b) => a - b);
  console.log(`median load: ${times[Math.floor(times.length / 2)]} ms over ${runs} runs`);
  await browser.close();
}

const [mode, url, token, ...rest] = process.argv.slice(2);
if (mode === 'check') {
  const [socketPath, outDir] = rest;
  fs.mkdirSync(outDir, { recursive: true });
  await check(url, token, socketPath, outDir);
} else if (mode === 'load') {
  await load(url, token, Number(rest[0] || 5));
} else {
  fail('usage: viewer_e2e.mjs check URL TOKEN SOCKET OUT_DIR | load URL TOKEN RUNS');
}
