// serve.mjs — starts `hearth serve` for the node tests (openai*.test.mjs) and
// stops it: the port comes from its "listening on" line (--port 0 picks a
// free one); stopping sends SIGTERM and returns the exit code.
import { spawn } from 'node:child_process';

export async function startServe(bin, args) {
  const server = spawn(bin, ['serve', ...args, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 30000);
    server.stderr.on('data', (d) => {
      err += d;
      const m = /listening on http:\/\/[\d.]+:(\d+)/.exec(err);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    server.on('exit', (c) => reject(new Error(`server exited (${c}): ${err}`)));
  });
  return { server, port };
}

export async function stopServe(server) {
  const exited = new Promise((resolve) => server.on('exit', (code) => resolve(code)));
  server.kill('SIGTERM');
  return exited;
}
