// chat.test.mjs — the chat playground in a real browser (Debian's chromium,
// playwright-core), against `hearth serve` (the small default model; a tiny
// model with an image encoder); gateway.test.mjs has the tests through
// `hearth gateway`:
//   - how the console's files are served (ETag/304, gzip, CSP, MIME, bad paths);
//   - a message's reply streams in (the log changes at least twice before the
//     reply ends) and is still there after a reload;
//   - a very long message gets the server's error, and the page goes on;
//   - an image attached for a model served with --mmproj (and no button for one without);
//   - an answer grounded in a knowledge collection (--rag-db) with its sources;
//   - a prompt from the prompt library (--prompts) with its variables;
//   - --ui-dir (a folder served as it is edited), --no-ui, a missing folder.
// Run: HEARTH_BIN=build/hearth node --test tests/ui/chat.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { connect } from 'node:net';
import * as h from './harness.mjs';

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


test('a reply streams in, shows its token count and speed, and survives a reload', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base);
  await page.locator('#model option').first().waitFor({ state: 'attached' });
  await page.locator('#max_tokens').fill('48');
  await page.locator('#temperature').fill('0');
  await watchReplies(page);
  const reply = await h.sendAndWait(page, 'Tell me about the hearth project.');
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
  await h.screenshot(page, 'webchat.png');
  await page.close();
});

test('a very long message gets the server\'s error; the page goes on working', async () => {
  const page = await browser.newPage();
  await page.goto(base);
  await page.locator('#model option').first().waitFor({ state: 'attached' });
  await page.getByRole('button', { name: 'New chat' }).click();
  const long = 'lorem ipsum dolor sit amet '.repeat(8000);   // 216,000 characters, far past the context
  await h.sendAndWait(page, long);
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /^Error: .*(token|context|long)/i);
  assert.equal((await page.locator('#log .msg.user .body').last().textContent()).length, long.length,
               'the message is shown whole');
  await page.getByRole('button', { name: 'New chat' }).click();
  await page.locator('#max_tokens').fill('8');
  const reply = await h.sendAndWait(page, 'Hello');
  assert.ok((await reply.locator('.body').textContent()).trim().length > 0);
  assert.equal(await alert.isHidden(), true, 'the error is cleared by the next reply');
  await page.close();
});

test('an image goes with a message to a model with an image encoder', async (t) => {
  const data = process.env.HEARTH_TEST_DATA;
  assert.ok(data, 'HEARTH_TEST_DATA must be set');
  const lm = `${data}/models/tiny-llama-spm-f16.gguf`;
  const vis = await h.startServe(['--model', `llava=${lm}`, '--model', `plain=${lm}`,
                                  '--mmproj', `llava=${data}/vision/tiny-mmproj-224-p14-f16.gguf`]);
  t.after(() => h.stop(vis));
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${vis.port}`);
  await page.locator('#model option[value="plain"]').waitFor({ state: 'attached' });
  await page.locator('#model').selectOption('plain');
  assert.equal(await page.getByText('Attach image').isHidden(), true, 'no image button for a text-only model');
  await page.locator('#model').selectOption('llava');
  await page.getByText('Attach image').waitFor();
  await page.locator('#image').setInputFiles(`${data}/vision/chelsea.png`);
  await page.locator('#attachment-preview').waitFor();
  await page.locator('#max_tokens').fill('6');
  const reply = await h.sendAndWait(page, 'What is in the picture?');
  assert.equal(await page.getByRole('alert').isHidden(), true, await page.locator('#notice').textContent());
  assert.match(await reply.locator('.stats').textContent(), /\d+ tokens/);
  const img = page.locator('#log .msg.user img.attached');
  assert.match(await img.getAttribute('src'), /^data:image\/png;base64,/);
  assert.equal(await page.locator('#attachment').isHidden(), true, 'the attachment went with the message');
  await page.reload();
  await page.locator('#log .msg.user img.attached').waitFor();
  await page.close();
});

test('an answer grounded in a knowledge collection shows its sources', async (t) => {
  const dir = h.tempDir();
  const rag = await h.startServe(['--model', `tiny=${process.env.HEARTH_TEST_DATA}/models/tiny-llama-spm-f16.gguf`,
                                  '--rag-db', dir.path]);
  t.after(async () => { await h.stop(rag); dir.remove(); });
  const api = `http://127.0.0.1:${rag.port}/v1`;
  // a collection made through the OpenAI files and vector stores API
  const form = new FormData();
  form.append('purpose', 'assistants');
  form.append('file', new Blob(['# Handbook\n\nThe office kettle is descaled every Friday by the facilities team.\n']),
              'handbook.md');
  const file = await (await fetch(`${api}/files`, { method: 'POST', body: form })).json();
  assert.ok(file.id, JSON.stringify(file));
  const vs = await (await fetch(`${api}/vector_stores`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                                         body: JSON.stringify({ name: 'handbook', file_ids: [file.id] }) })).json();
  assert.equal(vs.status, 'completed', JSON.stringify(vs));

  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${rag.port}`);
  await page.getByLabel('Knowledge').waitFor();
  await page.getByLabel('Knowledge').selectOption({ label: 'handbook' });
  await page.locator('#max_tokens').fill('8');
  const reply = await h.sendAndWait(page, 'When is the kettle descaled?');
  assert.equal(await page.getByRole('alert').isHidden(), true, await page.locator('#notice').textContent());
  const sources = reply.locator('details.sources');
  assert.match(await sources.locator('summary').textContent(), /Sources \(1\)/);
  await sources.locator('summary').click();
  assert.match(await sources.textContent(), /handbook\.md.*descaled every Friday/s);
  await h.screenshot(page, 'webchat-sources.png');
  await page.reload();   // kept with the conversation
  assert.match(await page.locator('#log details.sources').textContent(), /handbook\.md/);
  await page.close();
});

test('serve --ui-dir serves a folder as it is edited; --no-ui turns the console off', async (t) => {
  const dir = h.tempDir();
  t.after(() => dir.remove());
  writeFileSync(join(dir.path, 'index.html'), '<!doctype html><title>dev</title><p>first draft</p>');
  const dev = await h.startServe(['--ui-dir', dir.path]);
  t.after(() => h.stop(dev));
  const url = `http://127.0.0.1:${dev.port}/`;
  assert.match(await (await fetch(url)).text(), /first draft/);
  writeFileSync(join(dir.path, 'index.html'), '<!doctype html><title>dev</title><p>second draft</p>');
  const r = await fetch(url);
  assert.match(await r.text(), /second draft/, 'an edited file is served at once');
  assert.match(r.headers.get('content-security-policy'), /script-src 'self'/);
  assert.equal((await fetch(`${url}chat.js`)).status, 404, 'only the folder is served');

  const off = await h.startServe(['--no-ui']);
  t.after(() => h.stop(off));
  const o = await fetch(`http://127.0.0.1:${off.port}/`);
  assert.equal(o.status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${off.port}/v1/models`)).status, 200, 'the API is still there');

  await assert.rejects(h.startServe(['--ui-dir', join(dir.path, 'missing')]), /--ui-dir .*missing is not a readable folder/);
});

test('a prompt from the prompt library, its variables filled in the page', async (t) => {
  const dir = h.tempDir();
  const srv = await h.startServe(['--prompts', join(dir.path, 'prompts.db')]);
  t.after(async () => { await h.stop(srv); dir.remove(); });
  const api = `http://127.0.0.1:${srv.port}/v1`;
  const added = await (await fetch(`${api}/prompts`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'translate', author: 'ui-test', spec: { system: 'You translate into French.',
      template: 'Translate: {{ text }}', variables: { text: 'string' }, sampling: { max_tokens: 8 } } }) })).json();
  assert.equal(added.version, 1, JSON.stringify(added));

  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${srv.port}`);
  await page.locator('#prompt').waitFor();
  await page.locator('#prompt').selectOption('translate');
  const text = page.getByLabel('text (string)');
  await text.waitFor();
  await page.locator('#max_tokens').fill('8');
  await text.fill('good morning');
  const reply = await h.sendAndWait(page, 'Please.');
  assert.equal(await page.getByRole('alert').isHidden(), true, await page.locator('#notice').textContent());
  assert.ok((await reply.locator('.body').textContent()).trim().length > 0);
  assert.match(await reply.locator('.stats').textContent(), /\d+ tokens/);

  await text.fill('');   // a missing variable: the server's error names it
  await h.sendAndWait(page, 'Again.');
  assert.match(await page.getByRole('alert').textContent(), /prompt\.variables\.text: missing/);
  await page.close();
});
