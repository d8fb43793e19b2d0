// The published package as a consumer gets it: what `npm pack` ships, and a strict TypeScript project that uses it
// with only the package's own dependencies installed (never its devDependencies).
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const modules = join(root, 'node_modules');
type Deps = Record<string, string>;
const manifest = (dir: string): { dependencies?: Deps; optionalDependencies?: Deps; peerDependencies?: Deps } =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

/** The package and what installing it brings: its dependencies and theirs, as hoisted in node_modules. */
function closure(names: string[]): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || !existsSync(join(modules, name))) return;
    seen.add(name);
    const own = manifest(join(modules, name));
    for (const dep of Object.keys({ ...own.dependencies, ...own.optionalDependencies, ...own.peerDependencies }))
      visit(dep);
  };
  names.forEach(visit);
  return seen;
}

t.test('npm pack ships the built code, its types, LICENSE and README, and maps that carry their sources', async (t) => {
  // Packed from a folder of its own (with a copy of the build test/build.ts made), so that the dist/ other tests run
  // from is never touched meanwhile.
  const out = mkdtempSync(join(tmpdir(), 'dgs-pack-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const stage = join(out, 'stage');
  mkdirSync(stage);
  for (const file of ['package.json', 'README.md', 'LICENSE'])
    if (existsSync(join(root, file))) copyFileSync(join(root, file), join(stage, file));
  cpSync(join(root, 'dist'), join(stage, 'dist'), { recursive: true });
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], {
      cwd: stage,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  );
  const files: string[] = packed.files.map((f: { path: string }) => f.path);
  for (const needed of [
    'LICENSE',
    'README.md',
    'package.json',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/cli/index.js',
    'dist/batch/queue.d.ts',
  ]) {
    t.ok(files.includes(needed), `ships ${needed}`);
  }
  t.notOk(
    files.some((f) => f.startsWith('lib/') || f.startsWith('test/')),
    'no sources or tests',
  );
  // Unpacked where a consumer's install puts it, so that its imports resolve as they would there.
  const consumer = join(out, 'consumer');
  mkdirSync(join(consumer, 'node_modules', '@types'), { recursive: true });
  execFileSync('tar', ['-xzf', join(out, packed.filename), '-C', join(consumer, 'node_modules')]);
  const installed = join(consumer, 'node_modules', 'deepgram-stream');
  renameSync(join(consumer, 'node_modules', 'package'), installed);
  const maps = files.filter((f) => f.endsWith('.map'));
  t.ok(maps.length > 10);
  for (const map of maps) {
    const { sources, sourcesContent } = JSON.parse(readFileSync(join(installed, map), 'utf8'));
    if (!(sourcesContent?.length === sources.length && sourcesContent.every((s: unknown) => typeof s === 'string'))) {
      t.fail(`${map} points at ${sources} without carrying them`);
    }
  }

  t.equal(statSync(join(installed, 'dist/cli/index.js')).mode & 0o111, 0o111, 'the command line is executable');
  // Beside it: its dependencies' closure (the optional ones too, as npm installs them), @types/node (every Node
  // project's), and TypeScript.
  const beside = (names: string[]) => {
    for (const name of closure(names)) {
      const target = join(consumer, 'node_modules', name);
      mkdirSync(dirname(target), { recursive: true });
      if (!existsSync(target)) symlinkSync(join(modules, name), target);
    }
  };
  const { dependencies, optionalDependencies } = manifest(root);
  beside([...Object.keys({ ...dependencies, ...optionalDependencies }), '@types/node', 'typescript']);
  // ws masks every frame a client sends: bufferutil's native build does it (3,200 bytes in 0.3 us, 6.7 in JS).
  const fromWs = createRequire(join(consumer, 'node_modules', 'ws', 'package.json'));
  t.match(String(fromWs('bufferutil').mask), /\[native code\]/, 'ws finds bufferutil, and its native build loads');
  writeFileSync(join(consumer, 'package.json'), '{ "type": "module" }');
  // The queue's peers are optional: without them the core loads, and the queue says what to install.
  const run = (code: string) =>
    spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: consumer, encoding: 'utf8' });
  const load = (what: string) => run(`await import('${what}')`);
  t.equal(load('deepgram-stream').status, 0, 'the core loads without BullMQ and ioredis');
  // Each entry gives what it is for; the package itself loads none of the others (no FFmpeg locator, no child_process,
  // no local server).
  for (const [entry, name] of [
    ['deepgram-stream', 'createSpeakStream'],
    ['deepgram-stream/audio', 'createTranscriber'],
    ['deepgram-stream/batch', 'transcribeMany'],
    ['deepgram-stream/live', 'createRelay'],
    ['deepgram-stream/server', 'startServer'],
  ]) {
    const loaded = run(`const m = await import('${entry}'); console.log(typeof m.${name})`);
    t.equal(loaded.stdout, 'function\n', `${entry} gives ${name}`);
  }
  const lean = run(
    "await import('ws'); const before = new Set(process.moduleLoadList); await import('deepgram-stream'); " +
      'console.log(process.moduleLoadList.filter((m) => !before.has(m)).join(" "))',
  );
  t.notMatch(
    lean.stdout,
    /child_process|NativeModule module\b|http_parser|dgram/,
    'the package loads only the streams',
  );
  t.match(
    load('deepgram-stream/queue').stderr,
    /deepgram-stream\/queue needs BullMQ and ioredis beside it: npm install/,
  );
  t.match(JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).peerDependenciesMeta, {
    bullmq: { optional: true },
    ioredis: { optional: true },
  });
  beside(['bullmq', 'ioredis']); // as a user of the queue installs them
  const manifestRead = run(
    "const m = await import('deepgram-stream/package.json', { with: { type: 'json' } }); console.log(m.default.name)",
  );
  t.equal(manifestRead.stdout, 'deepgram-stream\n', './package.json is exported');
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        noEmit: true,
        skipLibCheck: false,
        esModuleInterop: false,
        allowJs: true,
        checkJs: true,
        types: ['node'],
      },
    }),
  );
  writeFileSync(
    join(consumer, 'use.ts'),
    `
import { createListenStream, isFinal, type ServerMessage } from 'deepgram-stream';
import { createTranscriber } from 'deepgram-stream/audio';
import { startServer } from 'deepgram-stream/server';
import { enqueue } from 'deepgram-stream/queue';
const server = await startServer({ realtimeFactor: false });
const listen = createListenStream({ url: server.url, query: { model: 'nova-3', keyterm: ['a', 'b'] } });
listen.on('data', (m: ServerMessage) => { if (isFinal(m)) console.log(m.channel.alternatives[0].transcript); });
createTranscriber({ url: server.url, decode: 'always' }).on('format', (f) => console.log(f.encoding));
void enqueue;
await server.close();
`,
  );
  // What every TypeScript user writes first: narrowing on `type` (and Flux's `event`), with no guard and no cast.
  writeFileSync(
    join(consumer, 'narrow.ts'),
    `
import { createFluxStream, createListenStream } from 'deepgram-stream';
import { createTranscriber } from 'deepgram-stream/audio';
for await (const m of createListenStream({ url: 'ws://127.0.0.1:1' })) {
  if (m.type === 'Results') console.log(m.channel.alternatives[0].transcript);
  else if (m.type === 'Metadata') console.log(m.duration);
  else if (m.type === 'Unknown') console.log(m.message.type);
}
for await (const m of createFluxStream({ url: 'ws://127.0.0.1:1' })) {
  if (m.type === 'TurnInfo' && m.event === 'EndOfTurn') console.log(m.transcript, m.words[0]?.word);
}
createTranscriber({ url: 'ws://127.0.0.1:1' }).on('data', (m) => {
  if (m.type === 'Results') console.log(m.is_final);
});
`,
  );
  // Every README example, as it stands, in the same strict project: JavaScript checked as an editor checks it.
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const examples = [...readme.matchAll(/```js\n\/\/ example: (\S+)\n([\s\S]*?)```/g)];
  t.ok(examples.length >= 10, `the README's ${examples.length} examples are checked`);
  for (const [, name, code] of examples) writeFileSync(join(consumer, `example-${name}.mjs`), code);
  const tsc = join(consumer, 'node_modules', 'typescript', 'bin', 'tsc');
  let problems = '';
  try {
    execFileSync(process.execPath, [tsc, '-p', consumer], { encoding: 'utf8' });
  } catch (error) {
    problems = String((error as { stdout?: string }).stdout);
  }
  t.equal(
    problems,
    '',
    "the public types, narrowing on type, and the README's examples compile strictly, skipLibCheck off",
  );
  t.ok(readdirSync(join(consumer, 'node_modules', '@types')).includes('ws'), '@types/ws comes with the package');
});
