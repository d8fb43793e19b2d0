// A local server that stalls (a thousand sessions in one process, a long callback) must not close a session whose
// audio came during the stall as idle (NET-0001): in a file of its own, since the stall holds every test beside it.
import t from 'tap';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { serve, stall, until } from '../helpers.js';

/** A client in a child process, so that it goes on sending while this one is stalled: 100 ms every 50 ms for 1.5 s. */
const CLIENT = `
  const WebSocket = require('ws');
  const ws = new WebSocket(process.argv[1]);
  let sent = 0;
  ws.on('open', () => {
    const timer = setInterval(() => {
      if (++sent <= 30) return ws.send(Buffer.alloc(3200));
      clearInterval(timer);
      ws.send(JSON.stringify({ type: 'CloseStream' }));
    }, 50);
  });
  ws.on('close', (code) => console.log(code));
  ws.on('error', () => {});`;

t.test('audio that came while the server was stalled past its inactivity timeout keeps the session', async (t) => {
  const server = await serve(t, { inactivityTimeout: 200 });
  const url = `${server.url}/v1/listen?encoding=linear16&sample_rate=16000`;
  const client = spawn(process.execPath, ['-e', CLIENT, url], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => client.kill());
  const closed = once(client.stdout, 'data');
  await until(() => server.connections === 1, 'the client connected');
  for (let n = 0; n < 3; n++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    // In the loop's check phase: the inactivity deadline is due when it ends, and the loop runs its timers first.
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        stall(400);
        resolve();
      }),
    );
  }
  const [code] = (await closed) as [Buffer];
  t.equal(code.toString().trim(), '1000', 'closed normally after CloseStream, not 1011 (NET-0001)');
});
