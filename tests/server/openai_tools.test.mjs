// openai_tools.test.mjs — tool calling in `hearth serve` through the official
// OpenAI client (npm "openai"): a required call on the small default model
// gives arguments that pass the tool's schema, the tool's result goes back and
// the model answers; a named tool_choice; streaming deltas as the client's own
// accumulator (beta.chat.completions.stream) reads them; bad requests (an
// invalid parameters schema, an unknown tool_choice name, history arguments
// failing their schema) are 400s naming the field.
// Run: HEARTH_BIN=build/hearth HEARTH_MODEL=models/hearth-default.gguf node --test
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServe, stopServe } from './serve.mjs';
import OpenAI from 'openai';

const bin = process.env.HEARTH_BIN;
const model = process.env.HEARTH_MODEL;
let server, client;

// The tools of every request. The checks below hold the replies to these schemas.
const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string', minLength: 1, maxLength: 20 },
        unit: { enum: ['celsius', 'fahrenheit'] },
      },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
  },
};
const time = {
  type: 'function',
  function: {
    name: 'get_time',
    description: 'Local time in a time zone',
    parameters: {
      type: 'object',
      properties: { zone: { type: 'string', maxLength: 12 }, hours24: { type: 'boolean' } },
      required: ['zone', 'hours24'],
      additionalProperties: false,
    },
  },
};
const tools = [weather, time];
const question = [{ role: 'user', content: 'What is the weather in Paris?' }];

function checkWeatherArgs(text) {
  const a = JSON.parse(text);
  assert.deepEqual(Object.keys(a).sort(), ['city', 'unit']);
  assert.equal(typeof a.city, 'string');
  assert.ok([...a.city].length >= 1 && [...a.city].length <= 20, `city '${a.city}'`);
  assert.ok(['celsius', 'fahrenheit'].includes(a.unit), `unit '${a.unit}'`);
  return a;
}

function checkTimeArgs(text) {
  const a = JSON.parse(text);
  assert.deepEqual(Object.keys(a).sort(), ['hours24', 'zone']);
  assert.equal(typeof a.hours24, 'boolean');
  assert.ok(typeof a.zone === 'string' && [...a.zone].length <= 12);
  return a;
}

before(async () => {
  assert.ok(bin && model, 'HEARTH_BIN and HEARTH_MODEL must be set');
  // the tools' description makes prompts of ~300 tokens: more context than the model's 128
  let port;
  ({ server, port } = await startServe(bin, ['--model', `tiny=${model}`, '-t', '2', '--parallel', '2', '--ctx-per-seq', '1024']));
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60000 });
});

after(async () => {
  if (server) assert.equal(await stopServe(server), 0, 'the server exits 0 on SIGTERM');
});

test('round trip: a required call with valid arguments, then the result, then an answer', async () => {
  for (const seed of [1, 2, 3]) {
    const r = await client.chat.completions.create({
      model: 'tiny', messages: question, tools, tool_choice: 'required', temperature: 1, seed, max_tokens: 120,
    });
    const msg = r.choices[0].message;
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    assert.equal(msg.content, null);
    assert.equal(msg.tool_calls.length, 1);
    const call = msg.tool_calls[0];
    assert.equal(call.type, 'function');
    assert.match(call.id, /^call_[A-Za-z0-9]{24}$/);
    if (call.function.name === 'get_weather') checkWeatherArgs(call.function.arguments);
    else { assert.equal(call.function.name, 'get_time'); checkTimeArgs(call.function.arguments); }

    // the result goes back with the call in the history
    const messages = [...question, msg, { role: 'tool', tool_call_id: call.id, content: '{"temp_c": 18, "sky": "clear"}' }];
    const answer = await client.chat.completions.create({ model: 'tiny', messages, tools, temperature: 0, max_tokens: 24 });
    const a = answer.choices[0];
    assert.equal(a.message.role, 'assistant');
    if (a.message.tool_calls) {   // auto: a call is possible, and then valid
      assert.equal(a.finish_reason, 'tool_calls');
      for (const c of a.message.tool_calls) (c.function.name === 'get_weather' ? checkWeatherArgs : checkTimeArgs)(c.function.arguments);
    } else {
      assert.equal(typeof a.message.content, 'string');
      assert.ok(a.message.content.length > 0);
      assert.ok(['stop', 'length'].includes(a.finish_reason));
    }
    assert.ok(answer.usage.prompt_tokens > r.usage.prompt_tokens, 'the history (call and result) is in the prompt');
  }
});

test('a named tool_choice calls that tool', async () => {
  const r = await client.chat.completions.create({
    model: 'tiny', messages: question, tools, temperature: 0.8, seed: 7, max_tokens: 120,
    tool_choice: { type: 'function', function: { name: 'get_time' } },
  });
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  const call = r.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'get_time');
  checkTimeArgs(call.function.arguments);
});

test('streaming: deltas (index, id, name, arguments in pieces) add up to the non-streamed call', async () => {
  const params = { model: 'tiny', messages: question, tools: [weather], tool_choice: 'required', temperature: 0, max_tokens: 120 };
  const whole = await client.chat.completions.create(params);

  // raw chunks as OpenAI sends them
  const stream = await client.chat.completions.create({ ...params, stream: true });
  let pieces = 0, args = '', name = null, id = null, finish = null;
  for await (const ch of stream) {
    const d = ch.choices[0]?.delta;
    if (ch.choices[0]?.finish_reason) finish = ch.choices[0].finish_reason;
    for (const tc of d?.tool_calls ?? []) {
      assert.equal(tc.index, 0);
      if (tc.id) { assert.equal(id, null, 'the id comes once'); id = tc.id; name = tc.function.name; }
      if (tc.function?.arguments) { args += tc.function.arguments; pieces++; }
    }
  }
  assert.equal(finish, 'tool_calls');
  assert.equal(name, 'get_weather');
  assert.match(id, /^call_/);
  assert.ok(pieces > 3, `arguments came in ${pieces} pieces`);
  assert.equal(args, whole.choices[0].message.tool_calls[0].function.arguments);
  checkWeatherArgs(args);

  // the client's own accumulator
  const runner = client.beta.chat.completions.stream(params);
  const final = await runner.finalChatCompletion();
  const call = final.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  assert.equal(call.function.arguments, args);
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
});

async function badRequest(params, field) {
  await assert.rejects(client.chat.completions.create({ model: 'tiny', max_tokens: 4, ...params }), (e) => {
    assert.equal(e.status, 400, e.message);
    assert.equal(e.param, field, e.message);
    return true;
  });
}

test('bad requests: 400 naming the field', async () => {
  const badSchema = { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { x: { type: 'strung' } } } } };
  await badRequest({ messages: question, tools: [badSchema] }, 'tools[0].function.parameters');
  const badRegex = { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { x: { type: 'string', pattern: '([' } } } } };
  await badRequest({ messages: question, tools: [weather, badRegex] }, 'tools[1].function.parameters');
  await badRequest({ messages: question, tools: [{ type: 'function', function: { name: 'no spaces' } }] }, 'tools[0].function.name');
  await badRequest({ messages: question, tools, tool_choice: { type: 'function', function: { name: 'get_stock' } } },
                   'tool_choice.function.name');
  await badRequest({ messages: question, tools, tool_choice: 'sometimes' }, 'tool_choice');
  await badRequest({ messages: question, tool_choice: 'required' }, 'tool_choice');
  const history = [...question,
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris", "unit": "kelvin"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '18' }];
  await badRequest({ messages: history, tools }, 'messages[1].tool_calls[0].function.arguments');
  history[1].tool_calls[0].function.arguments = '{"city": "Par';
  await badRequest({ messages: history, tools }, 'messages[1].tool_calls[0].function.arguments');
  await badRequest({ messages: [...question, { role: 'tool', content: 'x' }], tools }, 'messages[1].tool_call_id');
  // a schema a required call cannot enforce is refused there, accepted with auto
  const hard = { type: 'function', function: { name: 'h', parameters: { type: 'object', properties: { n: { type: 'integer', multipleOf: 3 } } } } };
  await badRequest({ messages: question, tools: [weather, hard], tool_choice: 'required' }, 'tools[1].function.parameters');
  const r = await client.chat.completions.create({ model: 'tiny', messages: question, tools: [weather, hard], max_tokens: 4 });
  assert.equal(r.choices[0].message.role, 'assistant');
});

// With tool_choice auto the reply is parsed for calls. A GBNF grammar (llama.cpp's
// `grammar` field) makes the small model write an exact reply, so the parsing of
// what a model writes is tested end to end: a valid call after some content, and
// a call whose arguments fail the schema.
const gbnf = (text) => `root ::= ${JSON.stringify(text)}`;
const validReply = 'Let me look.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "celsius"}}\n</tool_call>';
const invalidReply = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "kelvin"}}\n</tool_call>';

test('auto: a call the model writes becomes tool_calls, content around it stays content', async () => {
  const params = { model: 'tiny', messages: question, tools, max_tokens: 120, grammar: gbnf(validReply) };
  const r = await client.chat.completions.create(params);
  const m = r.choices[0].message;
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.equal(m.content, 'Let me look.');
  assert.equal(m.tool_calls.length, 1);
  assert.equal(m.tool_calls[0].function.name, 'get_weather');
  assert.deepEqual(JSON.parse(m.tool_calls[0].function.arguments), { city: 'Oslo', unit: 'celsius' });
  const final = await client.beta.chat.completions.stream(params).finalChatCompletion();
  assert.equal(final.choices[0].message.content, 'Let me look.');
  assert.equal(final.choices[0].message.tool_calls[0].function.arguments, m.tool_calls[0].function.arguments);
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
});

test('auto: a call whose arguments fail the schema comes back as text; streaming ends with an error', async () => {
  const params = { model: 'tiny', messages: question, tools, max_tokens: 120, grammar: gbnf(invalidReply) };
  const r = await client.chat.completions.create(params);
  assert.equal(r.choices[0].message.content, invalidReply);
  assert.equal(r.choices[0].message.tool_calls, undefined);
  assert.equal(r.choices[0].finish_reason, 'stop');
  const stream = await client.chat.completions.create({ ...params, stream: true });
  await assert.rejects(async () => { for await (const _ of stream) { /* until the error event */ } },
                       (e) => { assert.match(e.message, /tool call 1: get_weather: .*unit/); return true; });
});
