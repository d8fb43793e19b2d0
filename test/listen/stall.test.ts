// A process that stalls (a long callback, a busy machine) must not take a live server for dead: in a file of its own,
// since the stall holds every test that runs beside it.
import t from 'tap';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { createListenStream } from '../../lib/index.js';
import { startTicking, stopTicking } from '../../lib/listen/ticks.js';
import { childWsServer, LINEAR16, stall, until } from '../helpers.js';

t.test(
  'this process stalled past the timeout, the pong waiting unread: the server is not taken for dead',
  async (t) => {
    // The stand-in answers pings from another process, so the pong arrives while this one is busy. A member of the
    // watch's interval, ticked just after it, holds the process for longer than the timeout once the watch's ping has
    // gone, in the loop's check phase: what comes meanwhile is read after the next timers, as after any long callback.
    const url = await childWsServer(t);
    const liveness = { interval: 100, timeout: 200 };
    const listen = createListenStream({ url, query: LINEAR16, liveness, keepAlive: false });
    const failed: Error[] = [];
    listen.on('error', (error: Error) => failed.push(error));
    listen.resume();
    await once(listen, 'open');
    let stalls = 0;
    const staller = {
      tick() {
        setImmediate(() => {
          stall(600); // time enough for a loaded machine to answer
          stalls++;
        });
      },
    };
    startTicking(liveness.interval, staller);
    t.teardown(() => stopTicking(liveness.interval, staller));
    await until(() => stalls >= 4 || failed.length > 0, 'four stalls');
    stopTicking(liveness.interval, staller);
    listen.end();
    await finished(listen).catch(() => {}); // its error, if any, is in failed
    t.same(failed, [], 'no DG_TIMEOUT: what came during a stall is read before the watch counts the silence');
  },
);

t.test(
  'progress that came in a stall moves the close deadline on before its verdict: the stream ends cleanly',
  async (t) => {
    // After CloseStream the stand-in (another process) sends a final at once and closes 400 ms later; this one is held
    // for 600 ms from just after it sent CloseStream, past the 300 ms close timeout, with the final waiting unread.
    const url = await childWsServer(t, 400);
    const listen = createListenStream({ url, query: LINEAR16, closeTimeout: 300 });
    const failed: Error[] = [];
    listen.on('error', (error: Error) => failed.push(error));
    listen.resume();
    await once(listen, 'open');
    listen.on('finish', () => {
      stall(600);
    });
    listen.end();
    await finished(listen).catch(() => {}); // its error, if any, is in failed
    t.same(failed, [], 'no DG_CLOSE_TIMEOUT: the final read after the stall counts before the deadline is judged');
  },
);

t.test("the server's close frame that came in a stall, past the close deadline, ends the stream cleanly", async (t) => {
  // After CloseStream the stand-in sends a final at once and closes 400 ms later; this one is held for 600 ms from
  // the final on: the close deadline (300 ms) lapses in the stall, and the close frame waits unread. Read before the
  // verdict, it ends the stream, without the rest of the handshake (a round trip after the stall).
  const url = await childWsServer(t, 400);
  const listen = createListenStream({ url, query: LINEAR16, closeTimeout: 300 });
  const failed: Error[] = [];
  listen.on('error', (error: Error) => failed.push(error));
  await once(listen, 'open');
  listen.once('data', () => stall(600));
  listen.end();
  await finished(listen).catch(() => {}); // its error, if any, is in failed
  t.same(failed, [], 'no DG_CLOSE_TIMEOUT: the close frame read before the verdict ends the stream');
});
