// The relay's page in a real browser: Debian's Chromium, headless, its fake microphone playing the speech fixture,
// against `deepgram-stream relay` run as a real process in front of the local server. The page's words must be the
// fixture's, and stop must end the session cleanly. A screenshot is kept in .tap/artifacts/.
import t, { type Test } from 'tap';

import { mkdirSync, readFileSync } from 'node:fs';
import { chromium, type Page } from 'playwright-core';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createListenStream, type ServerMessage } from '../../lib/index.js';
import { createRelay, RELAY_PAGE, type RelayOptions } from '../../lib/live/index.js';
import type { SessionReport } from '../../lib/server/index.js';
import { finals, fixture, readAll, serve, startRelay, until } from '../helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCRIPT = readFileSync(fixture('speech.txt'), 'utf8');
const plain = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z ]/g, '')
    .split(/\s+/)
    .filter(Boolean);

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${fixture('speech.wav')}`,
  ],
});
t.teardown(() => browser.close());

/** A relay made here (createRelay) on an HTTP server that serves the page: the page's URL. */
async function relayInProcess(t: Test, options: Omit<RelayOptions, 'server'>): Promise<string> {
  const app = createServer((_request, response) => response.end(RELAY_PAGE));
  const relay = createRelay({ ...options, server: app });
  app.listen(0, '127.0.0.1');
  await once(app, 'listening');
  t.teardown(async () => {
    await relay.close(0);
    app.close();
  });
  return `http://127.0.0.1:${(app.address() as AddressInfo).port}/`;
}

/** Waits for the fixture's first `count` words among the finals, presses stop, and waits for the clean end. */
async function hearThenStop(tab: Page, count: number): Promise<void> {
  await tab.waitForFunction(
    (words) =>
      (document.getElementById('finals')?.textContent ?? '')
        .toLowerCase()
        .replace(/[^a-z ]/g, '')
        .replace(/ +/g, ' ')
        .includes(words),
    plain(SCRIPT).slice(0, count).join(' '),
    { timeout: 30_000 },
  );
  await tab.click('#stop');
  await tab.waitForFunction(() => document.getElementById('status')?.textContent === 'Done.', null, {
    timeout: 30_000,
  });
}

// Each test has its own servers and browser page, and mostly waits on audio played in real time: side by side.
t.jobs = 4;

t.test('press start, the fixture is heard and its words appear; stop ends the session cleanly', async (t) => {
  const local = await serve(t, { script: SCRIPT });
  const relay = await startRelay(t, ['--url', local.url]);
  const tab = await browser.newPage();
  await tab.goto(relay.page);
  await tab.click('#start');
  await tab.waitForFunction(() => document.getElementById('interim')?.textContent, null, { timeout: 30_000 });
  t.equal(
    await tab.$eval('#interim', (interim) => getComputedStyle(interim).color),
    'rgb(136, 136, 136)',
    'interim text is grey',
  );
  t.equal(await tab.$eval('#recording', (e) => getComputedStyle(e).visibility), 'visible', 'recording is shown');
  await tab.waitForFunction(() => document.getElementById('elapsed')?.textContent !== '0:00', null, {
    timeout: 30_000,
  });
  t.match(await tab.textContent('#backend'), /^Transcribing with the default model on 127\.0\.0\.1:\d+\.$/);
  await hearThenStop(tab, 6);
  t.equal(await tab.$eval('#recording', (e) => getComputedStyle(e).visibility), 'hidden', 'and no longer after');
  // A line per utterance (finals joined until speech_final), each with its time. Under load the fake microphone can
  // lose a frame in a pause (a CI run ended the first line at "Hello world. This"), so where the first utterance
  // ends is not asserted: it holds the fixture's first words, whole, and is not the only line.
  const first = (await tab.textContent('#finals li:first-child')) ?? '';
  t.match(first, /^0:0\d Hello /, 'a line an utterance, timed');
  const heard = plain(first.slice(5));
  t.same(heard, plain(SCRIPT).slice(0, heard.length), "the first line: the fixture's first words, whole");
  const times = await tab.$$eval('#finals li', (items) => items.map((item) => item.querySelector('time')?.textContent));
  t.ok(times.length >= 2 && times.every((time) => /^0:0\d$/.test(time ?? '')), `${times.length} timed lines`);
  const saved = async (button: string) => {
    const [file] = await Promise.all([tab.waitForEvent('download'), tab.click(button)]);
    return readFileSync((await file.path())!, 'utf8');
  };
  t.match(await saved('#text'), /^0:0\d Hello[^\n]*\n(0:0\d [^\n]*\n)+$/, 'the text downloads, a timed line each');
  t.match(await saved('#vtt'), /^WEBVTT\n\n00:00:0\d\.\d{3} --> 00:00:0\d\.\d{3}\nHello/, 'so do captions');
  const finals = plain((await tab.textContent('#finals')) ?? '');
  t.same(finals.slice(0, 6), plain(SCRIPT).slice(0, 6), "the fixture's words, in order");
  t.equal(await tab.textContent('#interim'), '', 'no interim text left once the session is done');
  t.equal(await tab.getAttribute('#status', 'class'), '', 'no error shown');
  t.equal(await tab.$eval('#finals', (finals) => getComputedStyle(finals).color), 'rgb(0, 0, 0)', 'finals are black');
  mkdirSync('.tap/artifacts', { recursive: true });
  await tab.screenshot({ path: '.tap/artifacts/relay-page.png' });

  relay.child.kill('SIGTERM');
  t.equal((await relay.done).status, 0, 'the relay stops on SIGTERM');
});

t.test('the page says when the words are synthetic, and why a plain http:// page has no microphone', async (t) => {
  const relay = await startRelay(t, ['--local']);
  const tab = await browser.newPage();
  await tab.goto(relay.page);
  await tab.click('#start');
  await tab.waitForFunction(() => /synthetic/.test(document.getElementById('backend')?.textContent ?? ''), null, {
    timeout: 30_000,
  });
  t.equal(await tab.getAttribute('#backend', 'class'), 'synthetic', 'said, and in red');
  await tab.click('#stop');
  const insecure = await browser.newPage();
  // What a browser gives a page over plain http:// from another machine: no mediaDevices at all.
  await insecure.addInitScript(() => Object.defineProperty(navigator, 'mediaDevices', { value: undefined }));
  await insecure.goto(relay.page);
  await insecure.click('#start');
  t.match(
    await insecure.textContent('#status'),
    /needs a secure page: open this page over HTTPS, or at http:\/\/localhost/,
  );
  relay.child.kill('SIGTERM');
});

t.test('with a Flux model the page shows the turn so far, then each finished turn', async (t) => {
  const local = await serve(t, { script: SCRIPT });
  const relay = await startRelay(t, ['--url', local.url, '--model', 'flux-general-en']);
  const tab = await browser.newPage();
  await tab.goto(relay.page);
  await tab.click('#start');
  await hearThenStop(tab, 2);
  t.same(plain((await tab.textContent('#finals')) ?? '').slice(0, 2), ['hello', 'world'], "the first turn's words");
});

t.test('a refused key is shown in words on the page, and the key is not in it', async (t) => {
  const local = await serve(t, { apiKey: 'the-right-key' });
  const relay = await startRelay(t, ['--url', local.url, '--api-key', 'relay-wrong-key-42']);
  const tab = await browser.newPage();
  await tab.goto(relay.page);
  await tab.click('#start');
  await tab.waitForSelector('#status.error', { timeout: 30_000 });
  const status = (await tab.textContent('#status')) ?? '';
  t.match(status, /^Transcription stopped: .*401/);
  t.notMatch(await tab.content(), /relay-wrong-key-42/);
  t.equal(await tab.isDisabled('#start'), false, 'start can be pressed again');
});

t.test(
  'a session from the page survives an upstream drop: a cluster of margin, the transcript of a clean run',
  async (t) => {
    const sessions: SessionReport[] = [];
    const local = await serve(t, {
      faults: ({ index }) => (index === 0 ? { dropAfterBytes: 120_000 } : undefined),
      onSession: (report) => sessions.push(report),
    });
    const query = { interim_results: true } as const;
    const pageUrl = await relayInProcess(t, { listen: { url: local.url, query, reconnect: { attempts: 3 } } });
    const tab = await browser.newPage();
    // What the page sends and receives, kept in the page: the bytes for a clean run, the messages to compare with it.
    await tab.addInitScript(() => {
      const sent: Blob[] = [];
      const got: string[] = [];
      const send = WebSocket.prototype.send;
      WebSocket.prototype.send = function (data) {
        if (data instanceof Blob) sent.push(data);
        return send.call(this, data);
      };
      const Native = WebSocket;
      window.WebSocket = class extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          this.addEventListener('message', (event) => got.push(String(event.data)));
        }
      };
      Object.assign(window, { captured: { sent, got } });
    });
    await tab.goto(pageUrl);
    await tab.click('#start');
    // Past the drop at 120 kB, and on to about 160 kB: the drop falls at three quarters of the session.
    const sentBytes = () =>
      tab.evaluate(() =>
        (window as unknown as { captured: { sent: Blob[] } }).captured.sent.reduce((n, b) => n + b.size, 0),
      );
    await tab.waitForFunction(
      () =>
        (window as unknown as { captured: { sent: Blob[] } }).captured.sent.reduce((n, b) => n + b.size, 0) > 160_000,
      null,
      { timeout: 60_000, polling: 100 },
    );
    await tab.click('#stop');
    await tab.waitForFunction(() => document.getElementById('status')?.textContent === 'Done.', null, {
      timeout: 30_000,
    });
    const total = await sentBytes();
    const { bytes, messages } = await tab.evaluate(async () => {
      const { sent, got } = (window as unknown as { captured: { sent: Blob[]; got: string[] } }).captured;
      const all = new Uint8Array(await new Blob(sent).arrayBuffer());
      let binary = '';
      for (const byte of all) binary += String.fromCharCode(byte);
      return { bytes: btoa(binary), messages: got };
    });
    await until(() => sessions.length >= 2, 'both upstream sessions reported');
    t.equal(sessions.length, 2, 'one drop, one reconnect');
    const carried = sessions[1].bytes / total;
    t.ok(carried < 0.45, `the new connection carried ${(carried * 100).toFixed(1)}% of the session's ${total} bytes`);

    const clean = createListenStream({ url: local.url, query });
    clean.end(Buffer.from(bytes, 'base64'));
    const want = await readAll(clean);
    const timeline = (list: ServerMessage[]) =>
      finals(list).map((f) => [
        f.start,
        f.duration,
        f.channel.alternatives[0].words.map((w) => `${w.word}@${w.start}`),
      ]);
    const page = messages.map((m) => JSON.parse(m) as ServerMessage);
    t.ok(finals(want).flatMap((f) => f.channel.alternatives[0].words).length > 10, 'a clean run of many words');
    t.same(timeline(page), timeline(want), "the page's finals are a clean run's: same words, same times");
  },
);

t.test('a relay that answers: the reply is played on the page, and stops when the speaker talks over it', async (t) => {
  const local = await serve(t, { script: SCRIPT, realtimeFactor: 1 });
  const replies: string[] = [];
  const page = await relayInProcess(t, {
    listen: { url: local.url, query: { punctuate: true, interim_results: true } },
    // Long enough to be still playing when the speaker goes on.
    reply: (said) => (replies.push(said), `You said: ${said}. Let me think about that for a little while, please.`),
  });
  const tab = await browser.newPage();
  await tab.goto(page);
  await tab.click('#start');
  // The page counts what it did: audio chunks scheduled, and playbacks stopped (the text shows only the latest).
  await tab.waitForFunction(() => Number(document.getElementById('reply')?.dataset.played) > 0, null, {
    timeout: 30_000,
  });
  t.pass('the reply is playing');
  await tab.waitForFunction(() => Number(document.getElementById('reply')?.dataset.stopped) > 0, null, {
    timeout: 30_000,
  });
  t.pass('the speaker went on, and the playback stopped');
  t.match(replies[0], /^Hello( world)?\.?$/i, 'the first reply answered the first turn');
  await tab.click('#stop');
  await tab.waitForFunction(() => document.getElementById('status')?.textContent === 'Done.', null, {
    timeout: 30_000,
  });
});
