// openai.test.mjs — `hearth serve` driven by the official OpenAI client
// (npm package "openai"): chat (non-streaming and streaming), completions,
// embeddings, models.list, an invalid request (400) and an unknown model (404).
// Run: HEARTH_BIN=build/hearth HEARTH_MODEL=tests/data/models/licenses-llama-f16.gguf node --test
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServe, stopServe } from './serve.mjs';
import OpenAI from 'openai';

const bin = process.env.HEARTH_BIN;
const model = process.env.HEARTH_MODEL;
let server, client;

before(async () => {
  assert.ok(bin && model, 'HEARTH_BIN and HEARTH_MODEL must be set');
  let port;
  ({ server, port } = await startServe(bin, ['--model', `lic=${model}`, '-t', '2', '--parallel', '4']));
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60000 });
});

after(async () => {
  if (server) assert.equal(await stopServe(server), 0, 'the server exits 0 on SIGTERM');
});

test('models.list', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['lic']);
});

test('chat, non-streaming', async () => {
  const r = await client.chat.completions.create({
    model: 'lic', messages: [{ role: 'user', content: 'What does the license grant?' }], max_tokens: 16, temperature: 0,
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(r.choices[0].message.content.length > 0);
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('chat, streaming: chunks arrive as generated and add up to the text', async () => {
  const params = { model: 'lic', messages: [{ role: 'user', content: 'Explain patents.' }], max_tokens: 40, temperature: 0 };
  const whole = await client.chat.completions.create(params);
  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let text = '', chunks = 0, usage = null, finish = null;
  for await (const ch of stream) {
    if (ch.usage) usage = ch.usage;
    if (!ch.choices.length) continue;
    chunks++;
    text += ch.choices[0].delta.content ?? '';
    if (ch.choices[0].finish_reason) finish = ch.choices[0].finish_reason;
  }
  assert.ok(chunks > 3, `only ${chunks} chunks`);
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.equal(usage.completion_tokens, whole.usage.completion_tokens);
});

test('completions', async () => {
  const r = await client.completions.create({ model: 'lic', prompt: 'Licensor grants You', max_tokens: 8, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.ok(r.choices[0].text.length > 0);
  assert.equal(r.usage.completion_tokens, 8);
});

test('embeddings (the client asks for base64 by default)', async () => {
  const r = await client.embeddings.create({ model: 'lic', input: ['the license', 'patents'] });
  assert.equal(r.data.length, 2);
  const e = r.data[0].embedding;
  assert.ok(e.length > 0);
  const norm = Math.sqrt(e.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);
  const f = await client.embeddings.create({ model: 'lic', input: 'the license', encoding_format: 'float' });
  assert.ok(f.data[0].embedding.every((x, i) => Math.abs(x - e[i]) < 1e-6));
});

test('invalid request: 400 with an OpenAI-shaped error', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'lic', messages: [{ role: 'user', content: 'x' }], temperature: 7 }),
    (err) => err instanceof OpenAI.BadRequestError && err.status === 400 && err.param === 'temperature' &&
             /temperature/.test(err.message));
});

test('unknown model: 404', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-nothing', messages: [{ role: 'user', content: 'x' }] }),
    (err) => err instanceof OpenAI.NotFoundError && err.status === 404 && err.code === 'model_not_found');
});
