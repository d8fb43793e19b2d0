// startServer({ workers }) and `serve --workers`: sessions spread over processes, with one limit, reports in the
// primary, a dead worker replaced, and no worker left behind however the server ends.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createListenStream, type DeepgramError } from '../../lib/index.js';
import type { SessionReport } from '../../lib/server/index.js';
import {
  children,
  cli,
  descriptors,
  LINEAR16,
  readAll,
  serve,
  serveBuilt,
  silentFlood,
  tones,
  until,
  words,
} from '../helpers.js';

const WORKER = /server\/worker\.[jt]s/;
const speech = tones([0.3, 0.2, 0.3, 0.2, 0.3]);

async function transcribe(url: string): Promise<string[]> {
  const listen = createListenStream({ url, query: LINEAR16 });
  listen.end(speech);
  return words(await readAll(listen));
}

t.test('sessions are spread over the workers and say what one process says', async (t) => {
  const reports: SessionReport[] = [];
  const alone = await serve(t);
  const spread = await serveBuilt(t, { workers: 2, onSession: (report) => reports.push(report) });
  const expected = await transcribe(alone.url);
  t.ok(expected.length >= 3, `${expected.length} words in one process`);
  const results = await Promise.all(Array.from({ length: 6 }, () => transcribe(spread.url)));
  for (const result of results) t.same(result, expected, 'the same words through a worker');
  await until(() => reports.length === 6, 'every session reported in the primary');
  t.same([...new Set(reports.map((r) => r.worker))].sort(), [0, 1], 'both workers served');
  t.ok(
    reports.every((r) => r.code === 1000 && r.bytes === speech.length),
    'each closed normally with all its audio',
  );
  t.equal(spread.connections, 0, 'every slot given back');
});

t.test('maxConnections holds for all the workers together', async (t) => {
  const server = await serveBuilt(t, { workers: 2, maxConnections: 2 });
  const held = [0, 1].map(() => createListenStream({ url: server.url, query: LINEAR16 }));
  await Promise.all(held.map((listen) => once(listen, 'open')));
  t.equal(server.connections, 2);
  for (let i = 0; i < 2; i++) {
    const refused = createListenStream({ url: server.url, query: LINEAR16 });
    refused.resume();
    const [error] = (await once(refused, 'error')) as [DeepgramError];
    t.equal(error.status, 429, `a third session is refused, whichever worker has it (${i + 1})`);
  }
  held[0].end(speech);
  await readAll(held[0]);
  await until(() => server.connections === 1, 'the slot came back');
  t.ok((await transcribe(server.url)).length > 0, 'and the next session is let in');
  held[1].end();
  await readAll(held[1]);
});

t.test('faults and the script cross to the workers as data; functions are refused', async (t) => {
  const scripted = await serveBuilt(t, { workers: 1, script: 'alpha beta gamma' });
  t.same((await transcribe(scripted.url)).slice(0, 3), ['alpha', 'beta', 'gamma']);
  const faulty = await serveBuilt(t, { workers: 1, faults: { dropAfterBytes: 1000 } });
  const listen = createListenStream({ url: faulty.url, query: LINEAR16 });
  listen.end(speech);
  const error = await readAll(listen).then(
    () => undefined,
    (e: DeepgramError) => e,
  );
  t.equal(error?.closeCode, 1006, 'the drop fault struck in the worker');
  await t.rejects(serveBuilt(t, { workers: 2, script: () => 'x' }), TypeError);
  await t.rejects(serveBuilt(t, { workers: 2, faults: () => ({}) }), TypeError);
  await t.rejects(serveBuilt(t, { workers: 1.5 }), RangeError);
  await t.rejects(serveBuilt(t, { workers: 100_000 }), RangeError, 'an absurd count forks nothing');
});

t.test('a worker that dies is replaced, and its slots are given back', async (t) => {
  const server = await serveBuilt(t, { workers: 2 });
  const open = createListenStream({ url: server.url, query: LINEAR16 });
  open.on('error', () => {});
  open.resume();
  await once(open, 'open');
  t.equal(server.connections, 1);
  const warned = once(process, 'warning');
  const before = children(WORKER);
  t.equal(before.length, 2, 'two workers');
  for (const pid of before) process.kill(pid, 'SIGKILL');
  t.match(String((await warned)[0]), /worker \d exited \(SIGKILL\); starting another/);
  await until(() => server.connections === 0, 'the dead worker’s slot is free');
  await until(() => children(WORKER).filter((pid) => !before.includes(pid)).length === 2, 'two new workers');
  t.ok((await transcribe(server.url)).length > 0, 'the server still serves');
});

/** Sockets this process holds (the primary's accepted connections among them). */
const sockets = () => descriptors((target) => target.startsWith('socket:'));

t.test(
  "a connection sent to a worker as it dies goes to the one replacing it, not to its client's timeout",
  async (t) => {
    const server = await serveBuilt(t, { workers: 1 });
    const [pid] = children(WORKER);
    // Stopped, it can never say it got the connection: as a worker that dies with one on its way to it.
    process.kill(pid, 'SIGSTOP');
    const before = sockets();
    const served = transcribe(server.url);
    // The client's socket and the primary's: the primary sends a connection on as it accepts it.
    await until(() => sockets() >= before + 2, 'the connection was accepted and sent to the stopped worker');
    process.kill(pid, 'SIGKILL');
    t.ok((await served).length > 0, 'its replacement served it');
  },
);

t.test('connections a worker does not take are bounded here as one process bounds its own', async (t) => {
  const server = await serveBuilt(t, { workers: 1, maxConnections: 1 });
  const [pid] = children(WORKER);
  // Stopped, it takes none of the connections sent to it: each stays here (twice its sessions, or its sessions and
  // 256, at most), and those past that are closed as they come.
  process.kill(pid, 'SIGSTOP');
  const before = sockets();
  t.pass(`${await silentFlood(server.port, 257)} of 300 closed as they came`);
  process.kill(pid, 'SIGCONT');
  // Until the worker has them (gone by then, their clients having given up), a new connection is past the bound.
  await until(() => sockets() <= before, 'the worker said it got them, and they were let go here');
  t.ok((await transcribe(server.url)).length > 0, 'then the server serves again');
});

t.test('a worker that cannot be replaced: the connections waiting for it, and those after, are refused', async (t) => {
  // A replacement inherits the environment of its moment: this one makes it exit as it starts, half a second on.
  const pause = 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500)';
  const fail = `if (process.env.DGS_TEST_NO_START) ${pause}, process.exit(3)`;
  const server = await serveBuilt(t, { workers: 1, workerExecArgv: ['--import', `data:text/javascript,${fail}`] });
  process.env.DGS_TEST_NO_START = '1';
  t.teardown(() => delete process.env.DGS_TEST_NO_START);
  let heard: (warning: Error) => void = () => {};
  const failed = new Promise((resolve) => (heard = (w) => /exited at start/.test(w.message) && resolve(w)));
  process.on('warning', heard);
  t.teardown(() => process.off('warning', heard));
  const [pid] = children(WORKER);
  process.kill(pid, 'SIGKILL');
  await until(() => !children(WORKER).includes(pid), 'the worker is gone');
  // Made while the replacement is on its way: it waits for it, then is refused with it.
  const waiting = transcribe(server.url).catch((error: DeepgramError) => error.code);
  await failed;
  t.equal(await waiting, 'DG_CONNECT', 'the waiting connection is refused, not left to its timeout');
  const after = await transcribe(server.url).catch((error: DeepgramError) => error.code);
  t.equal(after, 'DG_CONNECT', 'and one made after is refused at once');
});

t.test('close() ends every worker', async (t) => {
  const server = await serveBuilt(t, { workers: 2 });
  t.equal(children(WORKER).length, 2);
  await server.close();
  t.same(children(WORKER), [], 'no worker left');
});

const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));

/** `serve` as a real process in its own process group (as a terminal runs it), once it says where it is. */
async function serveProcess(t: Test) {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--workers', '2'], { detached: true });
  t.teardown(() => child.exitCode === null && child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const exited = once(child, 'exit');
  await until(() => /2 worker processes\)/.test(out), 'serve said where it is');
  const url = /on (ws:\S+?): /.exec(out)![1];
  return { child, url, exited, workers: children(WORKER, child.pid) };
}

t.test('serve --workers: Ctrl-C to the whole group ends it cleanly, workers and all', async (t) => {
  const { child, url, exited, workers } = await serveProcess(t);
  t.equal(workers.length, 2);
  t.ok((await transcribe(url)).length > 0, 'it serves');
  process.kill(-child.pid!, 'SIGINT');
  t.same(await exited, [0, null], 'exit 0');
  await until(() => workers.every((pid) => !alive(pid)), 'no worker left');
});

t.test('serve --workers: if the primary is killed outright, its workers end too', async (t) => {
  const { child, exited, workers } = await serveProcess(t);
  child.kill('SIGKILL');
  await exited;
  await until(() => workers.every((pid) => !alive(pid)), 'no worker left');
  t.pass('every worker ended');
});

t.test('serve --workers takes a whole number', async (t) => {
  const { status, stderr } = await cli(['serve', '--workers', 'two']).done;
  t.equal(status, 2);
  t.match(stderr, /--workers takes a whole number, not "two"/);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
