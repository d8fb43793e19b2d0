// The formatter (prettier, run by `npm test` and applied by `npm run format`) cannot break a long string or
// comment: this holds every line of the code under 120 columns.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

t.test('no line of lib/, test/ or bench/ is over 120 columns', async (t) => {
  const files = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', 'lib', 'test', 'bench'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  )
    .split('\n')
    .filter((f) => f.endsWith('.ts'));
  t.ok(files.length > 50);
  const long = files.flatMap((file) =>
    readFileSync(`${root}${file}`, 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.length > 120 ? [`${file}:${i + 1} (${line.length})`] : [])),
  );
  t.same(long, []);
});
