/**
 * Paths of modules that run in another thread or process (the verification worker, a validator child), so
 * the same code works as TypeScript under tsx and as the compiled JavaScript of `npm run build` (dist/): a
 * module names the other one without extension and gets `.ts` or `.js` to match its own file.
 */

/** True when `fromUrl` (an `import.meta.url`) is compiled JavaScript, false when it is TypeScript. */
export function isCompiled(fromUrl: string): boolean {
  return /\.[cm]?js$/.test(new URL(fromUrl).pathname);
}

/**
 * The URL of the module at `relativePath` (relative to `fromUrl`, without extension), with the extension of
 * the running code: `.js` from the build, `.ts` under tsx.
 */
export function siblingModuleUrl(relativePath: string, fromUrl: string): URL {
  if (/\.[cm]?[jt]s$/.test(relativePath)) throw new Error(`siblingModuleUrl takes a path without extension, got ${relativePath}`);
  return new URL(`${relativePath}${isCompiled(fromUrl) ? '.js' : '.ts'}`, fromUrl);
}

/**
 * Node flags a child process needs to run a module of the same kind as `fromUrl`: the tsx loader for
 * TypeScript, none for compiled JavaScript (which spares each child the loader thread and its compile time).
 * The loader is named by the file this module resolves it to, not as `tsx`, which a child would look up from
 * its working directory: a clone's CLI started from another directory finds it all the same. tsx is a
 * development dependency, there only in a clone; the installed package is compiled and never asks for it.
 */
export function loaderFlags(fromUrl: string): string[] {
  return isCompiled(fromUrl) ? [] : ['--import', import.meta.resolve('tsx')];
}

/**
 * The command a person types to run the CLI, as it runs now (`fromUrl` is the CLI's own module): `npx tsx
 * src/main.ts` from the sources, `npx strongcast` from an installed package, `node dist/src/main.js` from a
 * clone's build (where `npx strongcast` would look for the name on the registry, not in the clone).
 */
export function cliCommand(fromUrl: string): string {
  if (!isCompiled(fromUrl)) return 'npx tsx src/main.ts';
  return new URL(fromUrl).pathname.includes('/node_modules/') ? 'npx strongcast' : 'node dist/src/main.js';
}
