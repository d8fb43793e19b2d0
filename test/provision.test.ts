// `npm test` provisions what the tests need (test/provision.sh), or stops with one line naming it.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./provision.sh', import.meta.url));

/** Runs the script with a PATH of stubs only: `id` says who we are, `apt-get` does what it is told. */
function provision(user: number, aptGet?: string, present: string[] = ['chromium']) {
  const bin = mkdtempSync(join(tmpdir(), 'dgs-provision-'));
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  for (const tool of ['mktemp', 'rm', 'dirname', 'chmod']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
  stub('id', `echo ${user}`);
  if (aptGet !== undefined) stub('apt-get', aptGet);
  for (const name of present) stub(name, 'exit 0');
  const run = spawnSync('/bin/bash', [script], { env: { PATH: bin }, encoding: 'utf8' });
  return { status: run.status, lines: run.stderr.trim().split('\n').filter(Boolean) };
}

t.test('redis-server and chromium present: nothing to do, nothing said', async (t) => {
  const run = provision(1000, undefined, ['redis-server', 'chromium']);
  t.equal(run.status, 0);
  t.same(run.lines, []);
});

t.test('missing and not root: one line that names it and the command that installs it', async (t) => {
  const run = provision(1000, 'exit 0');
  t.equal(run.status, 1);
  t.same(run.lines, ['test setup: the tests need redis-server: install it first (sudo apt-get install redis-server)']);
  const both = provision(1000, 'exit 0', []);
  t.same(both.lines, [
    'test setup: the tests need redis-server chromium: install it first (sudo apt-get install redis-server chromium)',
  ]);
});

t.test("missing, as root: installs Debian's package, or says in one line that it could not", async (t) => {
  // The stub apt-get "installs" by putting a redis-server beside itself.
  const installs = provision(
    0,
    'if [ "$1" = install ]; then printf "#!/bin/bash\\nexit 0\\n" > "$(dirname "$0")/redis-server"; chmod +x ' +
      '"$(dirname "$0")/redis-server"; fi',
  );
  t.equal(installs.status, 0);
  t.same(installs.lines, ["test setup: installing redis-server (Debian's package) for the tests"]);
  const fails = provision(0, 'echo "E: Unable to locate package" >&2; exit 100');
  t.equal(fails.status, 1);
  t.match(
    fails.lines.pop(),
    new RegExp(
      "^test setup: installing redis-server failed \\(apt-get's words in .*\\); " +
        'install it by hand: apt-get install redis-server$',
    ),
  );
});
