// sse.js — reads an OpenAI-style server-sent-event stream from a fetch()
// response body: yields each event's data (the JSON text, or "[DONE]").
// Throws StreamCut when the body ends before "data: [DONE]".
export class StreamCut extends Error {}

export async function* sseData(body) {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let cut;
    while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut).replace(/^\r?\n\r?\n/, '');
      const data = event.split(/\r?\n/).filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (!data) continue;
      yield data;
      if (data === '[DONE]') return;
    }
  }
  throw new StreamCut('the stream ended before the reply was complete');
}
