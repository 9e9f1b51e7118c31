// chat.test.mjs — the chat playground in a real browser (Debian's chromium,
// playwright-core), against a `hearth serve` with the small default model and
// a `hearth gateway` in front of a fake upstream started here:
//   - how the console's files are served (ETag/304, gzip, CSP, MIME, bad paths);
//   - a message's reply streams in (the log changes at least twice before the
//     reply ends) and is still there after a reload;
//   - a very long message gets the server's error, and the page goes on;
//   - a reply carrying HTML and script runs no script (page-level flag);
//   - the server going away mid-reply: the page says so and recovers.
// Run: HEARTH_BIN=build/hearth node --test tests/ui/chat.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { connect } from 'node:net';
import { join } from 'node:path';
import * as h from './harness.mjs';

// HEARTH_UI_SCREENSHOTS=DIR: the tests also save screenshots of the pages there
const shots = process.env.HEARTH_UI_SCREENSHOTS;
async function screenshot(page, name) {
  if (shots) await page.screenshot({ path: join(shots, name) });
}

let serve, browser, base;

before(async () => {
  serve = await h.startServe();
  base = `http://127.0.0.1:${serve.port}`;
  browser = await h.launchBrowser();
});

after(async () => {
  await browser?.close();
  assert.equal(await h.stop(serve), 0, 'hearth serve exits 0 on SIGTERM');
});

// one raw HTTP/1.1 GET (fetch would normalise the path)
function rawGet(port, path) {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let out = '';
    s.on('data', (d) => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

test('the console is served with ETags, gzip, a strict CSP and MIME types', async () => {
  const r = await fetch(`${base}/`, { headers: { 'Accept-Encoding': 'identity' } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(csp, /frame-ancestors 'none'/);
  const html = await r.text();
  assert.match(html, /<script type="module" src="chat.js"><\/script>/);
  assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]/, 'no inline script in the page');
  const etag = r.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);

  const again = await fetch(`${base}/`, { headers: { 'If-None-Match': etag, 'Accept-Encoding': 'identity' } });
  assert.equal(again.status, 304);
  assert.equal((await again.arrayBuffer()).byteLength, 0);
  const other = await fetch(`${base}/`, { headers: { 'If-None-Match': '"0-0"', 'Accept-Encoding': 'identity' } });
  assert.equal(other.status, 200);

  // gzip, byte for byte the same page once inflated (raw socket: fetch would inflate it)
  const gz = await new Promise((resolve, reject) => {
    const s = connect(serve.port, '127.0.0.1',
      () => s.write('GET /chat.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br;q=1, gzip;q=0.8\r\nConnection: close\r\n\r\n'));
    const parts = [];
    s.on('data', (d) => parts.push(d));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
  const split = gz.indexOf('\r\n\r\n');
  const head = gz.subarray(0, split).toString();
  assert.match(head, /content-encoding: gzip/i);
  assert.match(head, /content-type: text\/javascript/i);
  const plain = await (await fetch(`${base}/chat.js`, { headers: { 'Accept-Encoding': 'identity' } })).text();
  assert.equal(gunzipSync(gz.subarray(split + 4)).toString(), plain);
  assert.match(plain, /sseData/);

  assert.match((await fetch(`${base}/style.css`)).headers.get('content-type'), /^text\/css/);
  assert.match((await fetch(`${base}/favicon.svg`)).headers.get('content-type'), /^image\/svg\+xml/);

  // not the console's: the API's own 404, and paths that try to leave the folder
  const missing = await fetch(`${base}/no-such-page.html`);
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /no such endpoint/);
  for (const p of ['/../../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/vendor/../../CMakeLists.txt', '/.hidden'])
    assert.match(await rawGet(serve.port, p), /^HTTP\/1\.1 (404|400)/, p);
});

// the reply's text as it changes in the log, recorded in the page
async function watchReplies(page) {
  await page.evaluate(() => {
    window.__seen = [];
    new MutationObserver(() => {
      const m = [...document.querySelectorAll('#log .msg.assistant')].pop();
      if (m && m.classList.contains('streaming')) {
        const t = m.querySelector('.body').textContent;
        if (window.__seen[window.__seen.length - 1] !== t) window.__seen.push(t);
      }
    }).observe(document.getElementById('log'), { subtree: true, childList: true, characterData: true });
  });
}

async function sendAndWait(page, text) {
  const before = await page.locator('#log .msg.assistant').count();
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('#log .msg.assistant').nth(before).waitFor();
  await page.waitForFunction(() => !document.querySelector('#log .msg.streaming'), null, { timeout: 60000 });
  return page.locator('#log .msg.assistant').nth(before);
}

test('a reply streams in, shows its token count and speed, and survives a reload', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base);
  await page.locator('#model option').first().waitFor({ state: 'attached' });
  await page.locator('#max_tokens').fill('48');
  await page.locator('#temperature').fill('0');
  await watchReplies(page);
  const reply = await sendAndWait(page, 'Tell me about the hearth project.');
  const text = (await reply.locator('.body').textContent()).trim();
  assert.ok(text.length > 0, 'the reply has text');
  const seen = await page.evaluate(() => window.__seen);
  assert.ok(seen.length >= 2, `the log changed ${seen.length} time(s) while the reply streamed`);
  assert.match(await reply.locator('.stats').textContent(), /\d+ tokens · [\d.]+ tokens\/s/);
  const log = page.getByRole('log');
  assert.match(await log.textContent(), /Tell me about the hearth project\./);

  await page.reload();
  await page.getByRole('log').locator('.msg.assistant').first().waitFor();
  assert.equal((await page.locator('#log .msg.assistant .body').first().textContent()).trim(), text);
  assert.match(await page.getByRole('log').textContent(), /Tell me about the hearth project\./);
  assert.match(await page.locator('#conversations').textContent(), /Tell me about the hearth project/);
  assert.deepEqual(errors, []);
  await screenshot(page, 'webchat.png');
  await page.close();
});

test('a very long message gets the server\'s error; the page goes on working', async () => {
  const page = await browser.newPage();
  await page.goto(base);
  await page.locator('#model option').first().waitFor({ state: 'attached' });
  await page.getByRole('button', { name: 'New chat' }).click();
  const long = 'lorem ipsum dolor sit amet '.repeat(8000);   // 216,000 characters, far past the context
  await sendAndWait(page, long);
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /^Error: .*(token|context|long)/i);
  assert.equal((await page.locator('#log .msg.user .body').last().textContent()).length, long.length,
               'the message is shown whole');
  await page.getByRole('button', { name: 'New chat' }).click();
  await page.locator('#max_tokens').fill('8');
  const reply = await sendAndWait(page, 'Hello');
  assert.ok((await reply.locator('.body').textContent()).trim().length > 0);
  assert.equal(await alert.isHidden(), true, 'the error is cleared by the next reply');
  await page.close();
});

// ---- through hearth gateway, in front of an upstream whose answers the test writes
test('HTML and script in a reply run nothing; a server gone mid-reply is reported and recovered from', async (t) => {
  const dir = h.tempDir();
  let next = { chunks: ['ok'] };
  const fake = await h.startFakeUpstream(() => next);
  let gw = await h.startGateway(dir.path, [fake.url]);
  t.after(async () => { await h.stop(gw); await fake.close(); dir.remove(); });
  const key = h.createKey(gw.config, 'ui-test');
  const page = await browser.newPage();
  const gbase = `http://127.0.0.1:${gw.port}`;
  await page.goto(gbase);   // the pages need no key; the API does
  await page.getByRole('status').getByText('API key needed').waitFor();
  await page.locator('#api-key').fill(key);
  await page.locator('#api-key').dispatchEvent('change');
  await page.locator('#model option[value="fake"]').waitFor({ state: 'attached' });

  // 1. hostile HTML: every way of running script we can think of, over several chunks
  next = { chunks: ['Here: <img src=x onerror="window.__pwned=1">', ' <script>window.__pwned=2</script>',
                    '<svg onload="window.__pwned=3"></svg> [link](javascript:window.__pwned=4) ',
                    '<iframe srcdoc="<script>parent.__pwned=5</script>"></iframe>',
                    '\n\n```html\n<script>alert(1)</script>\n```\n'] };
  const reply = await sendAndWait(page, 'show me html');
  await page.waitForTimeout(300);   // an onerror would fire now
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no script ran');
  const html = await reply.locator('.body').innerHTML();
  assert.doesNotMatch(html, /onerror|onload|<script|<iframe|javascript:/i);
  assert.match(await reply.locator('.body pre code').textContent(), /<script>alert\(1\)<\/script>/,
               'code blocks show HTML as text');
  await page.locator('#log a').first().click().catch(() => {});   // the neutralised link, if one remains
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await screenshot(page, 'webchat-sanitised.png');

  // 2. the gateway dies while the reply streams: the page says so
  next = { chunks: ['The first part', ' of a reply'], hang: true };
  await page.getByRole('textbox', { name: 'Message' }).fill('a long answer please');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.getByRole('log').getByText('The first part of a reply').waitFor();
  gw.proc.kill('SIGKILL');
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /server went away mid-reply/);
  await page.waitForFunction(() => !document.querySelector('#log .msg.streaming'));
  assert.match(await page.locator('#log .msg.assistant').last().textContent(), /The first part of a reply/);
  assert.equal(await page.getByRole('button', { name: 'Send' }).isEnabled(), true);

  // 3. it comes back on the same port: the page carries on
  gw = await h.startGateway(dir.path, [fake.url], { port: new URL(gbase).port });
  next = { chunks: ['Back', ' again.'] };
  const back = await sendAndWait(page, 'are you back?');
  assert.equal((await back.locator('.body').textContent()).trim(), 'Back again.');
  assert.equal(await alert.isHidden(), true);
  await page.close();
});
