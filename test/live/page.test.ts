// The relay's page in a real browser: Debian's Chromium, headless, its fake microphone playing the speech fixture,
// against `deepgram-stream relay` run as a real process in front of the local server. The page's words must be the
// fixture's, and stop must end the session cleanly. A screenshot is kept in .tap/artifacts/.
import t from 'tap';

import { mkdirSync, readFileSync } from 'node:fs';
import { chromium, type Page } from 'playwright-core';
import { fixture, serve, startRelay } from '../helpers.js';

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

/** Waits for the fixture's first `count` words among the finals, presses stop, and waits for the clean end. */
async function hearThenStop(tab: Page, count: number): Promise<void> {
  await tab.waitForFunction(
    (words) =>
      (document.getElementById('finals')?.textContent ?? '')
        .toLowerCase()
        .replace(/[^a-z ]/g, '')
        .includes(words),
    plain(SCRIPT).slice(0, count).join(' '),
    { timeout: 30_000 },
  );
  await tab.click('#stop');
  await tab.waitForFunction(() => document.getElementById('status')?.textContent === 'Done.', null, {
    timeout: 30_000,
  });
}

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
  await hearThenStop(tab, 6);
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
