// Run by tap before any test file (`before` in .taprc): the package is built once into dist/, which the command
// line's child processes, the README's examples and the pack test all use, instead of compiling TypeScript in each.
// A build newer than every source is kept. The same build as `npm run build`: the CLI executable.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'dist', 'index.js'); // tsc writes every output on each build
const sources = [
  ...readdirSync(join(root, 'lib'), { recursive: true, encoding: 'utf8' }).map((file) => join(root, 'lib', file)),
  join(root, 'tsconfig.json'),
  join(root, 'tsconfig.build.json'),
  join(root, 'package-lock.json'),
];
const newest = Math.max(...sources.map((file) => statSync(file).mtimeMs));
if (!existsSync(built) || statSync(built).mtimeMs < newest) {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
}
