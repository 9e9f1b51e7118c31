// chat.js — the chat playground at /: model and adapter picker (GET
// /v1/models), system prompt and sampling settings, streaming replies (POST
// /v1/chat/completions with stream: true), Markdown rendered and sanitised,
// stop, regenerate, conversations kept in this browser and exported as JSON,
// an image attachment for models with an image encoder, answers grounded in a
// knowledge collection (a vector store, with its sources), a prompt from the
// prompt library with its variables, token counts and speed per reply. Works against `hearth serve` and `hearth gateway` (with
// an API key).
import { renderMarkdown } from './markdown.js';
import { sseData, StreamCut } from './sse.js';
import * as store from './store.js';

const $ = (id) => document.getElementById(id);
const ui = {
  model: $('model'), adapter: $('adapter'), status: $('status'), log: $('log'), empty: $('empty'),
  notice: $('notice'), form: $('composer'), message: $('message'), send: $('send'), stop: $('stop'),
  regenerate: $('regenerate'), list: $('conversations'), newChat: $('new-chat'), exportBtn: $('export'),
  system: $('system'), temperature: $('temperature'), topP: $('top_p'), maxTokens: $('max_tokens'),
  seed: $('seed'), apiKey: $('api-key'), attachLabel: $('attach-label'), image: $('image'),
  attachment: $('attachment'), preview: $('attachment-preview'), removeImage: $('attachment-remove'),
  knowledge: $('knowledge'), knowledgePick: $('knowledge-pick'),
  prompt: $('prompt'), promptPick: $('prompt-pick'), promptVars: $('prompt-vars'), promptFields: $('prompt-fields'),
};

let conversations = store.loadAll();
let conv = null;          // the conversation on screen
let models = [];          // from /v1/models: { id, base, adapter, vision }
let running = null;       // { abort: AbortController } while a reply streams
let pendingImage = null;  // data URL of the image to send with the next message

// ==== small helpers ===========================================================
function headers(json) {
  const h = {};
  if (json) h['Content-Type'] = 'application/json';
  const key = ui.apiKey.value.trim();
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

function notice(text) {
  ui.notice.textContent = text || '';
  ui.notice.hidden = !text;
}

function setStatus(text) { ui.status.textContent = text; }

async function errorText(resp) {
  try {
    const j = await resp.json();
    if (j && j.error) return j.error.message || JSON.stringify(j.error);
  } catch { /* not JSON */ }
  return `HTTP ${resp.status} ${resp.statusText}`;
}

function save() {
  if (!store.saveAll(conversations))
    notice('This browser refused to store the conversation (storage full?): export it and delete old chats.');
}

// ==== models ==================================================================
async function loadModels() {
  try {
    const r = await fetch('v1/models', { headers: headers(false) });
    if (!r.ok) {
      setStatus(r.status === 401 ? 'API key needed' : 'models unavailable');
      if (r.status === 401) notice(`${await errorText(r)} — enter an API key in Settings.`);
      return false;
    }
    const j = await r.json();
    models = (j.data || []).map((m) => {
      const plus = m.id.indexOf('+');
      return { id: m.id, base: plus < 0 ? m.id : m.id.slice(0, plus), adapter: plus < 0 ? '' : m.id.slice(plus + 1),
               vision: !!m.vision, ctx: m.context_length };
    });
    const keep = ui.model.value || conv?.model?.split('+')[0];
    ui.model.replaceChildren(...[...new Set(models.map((m) => m.base))].map((b) => new Option(b, b)));
    if (keep && models.some((m) => m.base === keep)) ui.model.value = keep;
    fillAdapters();
    setStatus(models.length ? 'ready' : 'no models served');
    return models.length > 0;
  } catch {
    setStatus('server unreachable');
    return false;
  }
}

// knowledge collections: the server's vector stores (hearth serve --rag-db);
// the picker stays hidden when there are none or the API is off
async function loadStores() {
  try {
    const r = await fetch('v1/vector_stores', { headers: headers(false) });
    const j = r.ok ? await r.json() : { data: [] };
    const keep = ui.knowledge.value;
    ui.knowledge.replaceChildren(new Option('none', ''),
      ...(j.data || []).map((v) => new Option(v.name || v.id, v.id)));
    if ([...ui.knowledge.options].some((o) => o.value === keep)) ui.knowledge.value = keep;
    ui.knowledgePick.hidden = ui.knowledge.options.length < 2;
  } catch {
    ui.knowledgePick.hidden = true;
  }
}

// the prompt library (hearth serve --prompts DB): a prompt by name, its
// variables as labelled fields; the picker stays hidden when there is none
async function loadPrompts() {
  try {
    const r = await fetch('v1/prompts', { headers: headers(false) });
    const list = r.ok ? await r.json() : [];
    const keep = ui.prompt.value;
    ui.prompt.replaceChildren(new Option('none', ''),
      ...(Array.isArray(list) ? list : []).map((p) => new Option(p.name, p.name)));
    if ([...ui.prompt.options].some((o) => o.value === keep)) ui.prompt.value = keep;
    ui.promptPick.hidden = ui.prompt.options.length < 2;
  } catch {
    ui.promptPick.hidden = true;
  }
}

async function showPromptVars() {
  ui.promptFields.replaceChildren();
  ui.promptVars.hidden = true;
  const name = ui.prompt.value;
  if (!name) return;
  const r = await fetch(`v1/prompts/${encodeURIComponent(name)}`, { headers: headers(false) });
  if (!r.ok) return notice(`Prompt ${name}: ${await errorText(r)}`);
  const vars = ((await r.json()).spec || {}).variables || {};
  for (const [k, type] of Object.entries(vars)) {
    const id = `var-${k}`;
    const label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = `${k} (${typeof type === 'string' ? type : 'value'})`;
    const input = document.createElement('input');
    input.id = id;
    input.dataset.name = k;
    input.dataset.type = typeof type === 'string' ? type : '';
    ui.promptFields.append(label, input);
  }
  ui.promptVars.hidden = !Object.keys(vars).length;
}

// the variables typed in: strings as typed, other types read as JSON when they parse
function promptVariables() {
  const v = {};
  for (const input of ui.promptFields.querySelectorAll('input')) {
    if (input.value === '') continue;
    let x = input.value;
    if (input.dataset.type && input.dataset.type !== 'string') {
      try { x = JSON.parse(input.value); } catch { /* sent as typed: the server names the field */ }
    }
    v[input.dataset.name] = x;
  }
  return v;
}

function fillAdapters() {
  const base = ui.model.value;
  const keep = ui.adapter.value;
  const opts = [new Option('none', '')].concat(
    models.filter((m) => m.base === base && m.adapter).map((m) => new Option(m.adapter, m.adapter)));
  ui.adapter.replaceChildren(...opts);
  if (opts.some((o) => o.value === keep)) ui.adapter.value = keep;
  const vision = models.some((m) => m.base === base && m.vision);
  ui.attachLabel.hidden = !vision;
  if (!vision) clearImage();
}

function chosenModel() {
  return ui.model.value ? ui.model.value + (ui.adapter.value ? `+${ui.adapter.value}` : '') : undefined;
}

// ==== the conversation on screen =============================================
function statsText(s) {
  const parts = [];
  if (s.completion_tokens != null) parts.push(`${s.completion_tokens} tokens`);
  if (s.tokens_per_s != null) parts.push(`${s.tokens_per_s.toFixed(1)} tokens/s`);
  if (s.prompt_tokens != null) parts.push(`prompt ${s.prompt_tokens}`);
  if (s.seconds != null) parts.push(`${s.seconds.toFixed(2)} s`);
  if (s.finish) parts.push(s.finish === 'length' ? 'cut at max tokens' : s.finish);
  return parts.join(' · ');
}

function messageView(m) {
  const el = document.createElement('article');
  el.className = `msg ${m.role}`;
  const who = document.createElement('div');
  who.className = 'who';
  who.textContent = m.role === 'user' ? 'You' : (m.model || 'Assistant');
  const body = document.createElement('div');
  body.className = 'body';
  el.append(who);
  if (m.image) {
    const img = document.createElement('img');
    img.className = 'attached';
    img.alt = 'attached image';
    img.src = m.image;
    el.append(img);
  }
  el.append(body);
  if (m.sources && m.sources.length) el.append(sourcesView(m.sources));
  const foot = document.createElement('div');
  foot.className = 'stats';
  el.append(foot);
  updateView(el, m);
  return el;
}

// the passages a grounded answer was given (as text, never HTML)
function sourcesView(sources) {
  const d = document.createElement('details');
  d.className = 'sources';
  const sum = document.createElement('summary');
  sum.textContent = `Sources (${sources.length})`;
  const ol = document.createElement('ol');
  for (const x of sources) {
    const li = document.createElement('li');
    const name = document.createElement('strong');
    name.textContent = x.filename || x.file_id || 'source';
    const where = [x.page ? `page ${x.page}` : '', typeof x.score === 'number' ? `score ${x.score.toFixed(2)}` : '',
                   x.cited ? 'cited' : ''].filter(Boolean).join(' · ');
    const q = document.createElement('blockquote');
    q.textContent = x.text || '';
    li.append(name, where ? ` — ${where}` : '', q);
    ol.append(li);
  }
  d.append(sum, ol);
  return d;
}

function updateView(el, m) {
  const body = el.querySelector('.body');
  if (m.role === 'user') body.textContent = m.content;   // what the user typed is shown as typed
  else body.innerHTML = renderMarkdown(m.content);
  const foot = el.querySelector('.stats');
  foot.textContent = m.error ? m.error : m.stats ? statsText(m.stats) : '';
  foot.classList.toggle('error', !!m.error);
}

function showConversation() {
  ui.log.replaceChildren();
  if (!conv.messages.length) ui.log.append(ui.empty);
  for (const m of conv.messages) ui.log.append(messageView(m));
  ui.system.value = conv.system || '';
  ui.log.scrollTop = ui.log.scrollHeight;
  showList();
}

function showList() {
  ui.list.replaceChildren(...conversations.slice().reverse().map((c) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = c.title || 'Untitled';
    b.title = new Date(c.created).toLocaleString();
    if (c === conv) b.setAttribute('aria-current', 'true');
    b.addEventListener('click', () => { if (!running) { conv = c; store.setCurrentId(c.id); showConversation(); } });
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'del';
    del.textContent = '×';
    del.setAttribute('aria-label', `Delete ${c.title}`);
    del.addEventListener('click', () => deleteConversation(c));
    li.append(b, del);
    return li;
  }));
}

function deleteConversation(c) {
  if (running) return;
  conversations = conversations.filter((x) => x !== c);
  if (conv === c) conv = conversations[conversations.length - 1] || startConversation();
  save();
  showConversation();
}

function startConversation() {
  const c = store.newConversation();
  conversations.push(c);
  store.setCurrentId(c.id);
  return c;
}

// ==== sending and streaming ===================================================
function requestBody() {
  const msgs = [];
  const system = ui.system.value.trim();
  if (system) msgs.push({ role: 'system', content: system });
  for (const m of conv.messages) {
    if (m.error && !m.content) continue;   // a reply that never came
    if (m.image) msgs.push({ role: m.role, content: [{ type: 'text', text: m.content },
                                                     { type: 'image_url', image_url: { url: m.image } }] });
    else msgs.push({ role: m.role, content: m.content });
  }
  const body = { messages: msgs, stream: true, stream_options: { include_usage: true },
                 temperature: Number(ui.temperature.value), top_p: Number(ui.topP.value) };
  const model = chosenModel();
  if (model) body.model = model;
  const maxTokens = parseInt(ui.maxTokens.value, 10);
  if (maxTokens > 0) body.max_tokens = maxTokens;
  const seed = parseInt(ui.seed.value, 10);
  if (Number.isFinite(seed) && seed >= 0) body.seed = seed;
  if (ui.prompt.value) body.prompt = { name: ui.prompt.value, variables: promptVariables() };
  if (ui.knowledge.value) {   // grounded: the server sends sources with whole answers only
    body.tools = [{ type: 'file_search', vector_store_ids: [ui.knowledge.value] }];
    body.stream = false;
    delete body.stream_options;
  }
  return body;
}

function setRunning(on) {
  ui.send.disabled = on;
  ui.regenerate.disabled = on;
  ui.stop.disabled = !on;
  ui.newChat.disabled = on;
}

// streams one assistant reply to the end of the conversation
async function reply() {
  if (!models.length) await loadModels();
  notice('');
  conv.system = ui.system.value;
  const m = { role: 'assistant', content: '', model: chosenModel() || '' };
  const body = requestBody();
  conv.messages.push(m);
  ui.empty.remove();
  let el = messageView(m);
  el.classList.add('streaming');
  ui.log.append(el);
  ui.log.scrollTop = ui.log.scrollHeight;
  running = { abort: new AbortController() };
  setRunning(true);
  setStatus('generating…');
  const t0 = performance.now();
  let tFirst = null, usage = null, finish = null;
  try {
    const r = await fetch('v1/chat/completions', { method: 'POST', headers: headers(true), body: JSON.stringify(body),
                                                   signal: running.abort.signal });
    if (!r.ok) throw new Error(await errorText(r));
    if (!body.stream) {   // a whole answer (grounded in a knowledge collection)
      const j = await r.json();
      const ch = j.choices && j.choices[0];
      m.content = (ch && ch.message && ch.message.content) || '';
      finish = ch && ch.finish_reason;
      usage = j.usage;
      if (Array.isArray(j.sources)) m.sources = j.sources;
      tFirst = t0;
      const whole = messageView(m);
      whole.classList.add('streaming');
      el.replaceWith(whole);
      el = whole;
    }
    for await (const data of body.stream ? sseData(r.body) : []) {
      if (data === '[DONE]') break;
      let chunk;
      try { chunk = JSON.parse(data); } catch { throw new Error('the server sent a malformed event'); }
      if (chunk.error) throw new Error(chunk.error.message || 'the server reported an error');
      if (chunk.usage) usage = chunk.usage;
      const ch = chunk.choices && chunk.choices[0];
      if (!ch) continue;
      if (ch.finish_reason) finish = ch.finish_reason;
      const delta = ch.delta && ch.delta.content;
      if (delta) {
        if (tFirst === null) tFirst = performance.now();
        m.content += delta;
        updateView(el, m);
        ui.log.scrollTop = ui.log.scrollHeight;
      }
    }
    const t1 = performance.now();
    const n = usage ? usage.completion_tokens : undefined;
    m.stats = { completion_tokens: n, prompt_tokens: usage ? usage.prompt_tokens : undefined,
                seconds: (t1 - t0) / 1000, finish,
                // streamed: decode speed after the first token; whole: tokens over the wall time
                tokens_per_s: !n ? undefined : !body.stream ? n / ((t1 - t0) / 1000)
                  : tFirst !== null && t1 > tFirst && n > 1 ? (n - 1) / ((t1 - tFirst) / 1000) : undefined };
    setStatus('ready');
  } catch (e) {
    if (e.name === 'AbortError') {
      m.stats = { seconds: (performance.now() - t0) / 1000, finish: 'stopped' };
      setStatus('stopped');
    } else {
      const lost = e instanceof StreamCut || e instanceof TypeError;
      m.error = lost ? 'The connection to the server was lost before the reply was complete.'
                     : `The server refused: ${e.message}`;
      notice(lost ? 'The server went away mid-reply. What arrived is kept; press Regenerate or send again once it is back.'
                  : `Error: ${e.message}`);
      setStatus(lost ? 'server unreachable' : 'error');
      if (lost) models = [];   // ask again next time
    }
  } finally {
    running = null;
    el.classList.remove('streaming');
    updateView(el, m);
    setRunning(false);
    save();
    showList();
  }
}

async function send() {
  const text = ui.message.value;
  if (running || (!text.trim() && !pendingImage)) return;
  const m = { role: 'user', content: text };
  if (pendingImage) m.image = pendingImage;
  if (!conv.messages.length) conv.title = text.trim().slice(0, 60) || 'Image';
  conv.model = chosenModel() || '';
  conv.messages.push(m);
  ui.empty.remove();
  ui.log.append(messageView(m));
  ui.message.value = '';
  clearImage();
  save();
  showList();
  await reply();
}

async function regenerate() {
  if (running || !conv.messages.length) return;
  const last = conv.messages[conv.messages.length - 1];
  if (last.role === 'assistant') {
    conv.messages.pop();
    ui.log.lastElementChild?.remove();
  }
  if (!conv.messages.length) return;
  await reply();
}

// ==== images ==================================================================
function clearImage() {
  pendingImage = null;
  ui.image.value = '';
  ui.attachment.hidden = true;
  ui.preview.removeAttribute('src');
}

ui.image.addEventListener('change', () => {
  const f = ui.image.files[0];
  if (!f) return clearImage();
  if (f.size > 3 << 20) {
    notice(`${f.name} is ${(f.size / 1048576).toFixed(1)} MiB; images up to 3 MiB can be sent.`);
    return clearImage();
  }
  const rd = new FileReader();
  rd.onload = () => {
    pendingImage = rd.result;
    ui.preview.src = pendingImage;
    ui.attachment.hidden = false;
  };
  rd.readAsDataURL(f);
});
ui.removeImage.addEventListener('click', clearImage);

// ==== wiring ==================================================================
ui.form.addEventListener('submit', (e) => { e.preventDefault(); send(); });
ui.message.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
});
ui.stop.addEventListener('click', () => running && running.abort.abort());
ui.regenerate.addEventListener('click', regenerate);
ui.newChat.addEventListener('click', () => {
  if (running) return;
  conv = conv.messages.length ? startConversation() : conv;
  save();
  showConversation();
  ui.message.focus();
});
ui.exportBtn.addEventListener('click', () => store.exportJSON(conversations));
ui.model.addEventListener('change', fillAdapters);
ui.prompt.addEventListener('change', showPromptVars);
ui.system.addEventListener('change', () => { conv.system = ui.system.value; save(); });
for (const [input, out] of [[ui.temperature, $('temperature-value')], [ui.topP, $('top_p-value')]]) {
  const show = () => { out.textContent = Number(input.value).toFixed(2); };
  input.addEventListener('input', show);
  show();
}
ui.apiKey.value = sessionStorage.getItem('hearth.apiKey') || '';
ui.apiKey.addEventListener('change', () => {
  sessionStorage.setItem('hearth.apiKey', ui.apiKey.value.trim());
  loadModels();
  loadStores();
  loadPrompts();
});

conv = conversations.find((c) => c.id === store.currentId()) || conversations[conversations.length - 1]
  || startConversation();
showConversation();
loadModels();
loadStores();
loadPrompts();
