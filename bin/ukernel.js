#!/usr/bin/env node
// The `ukernel` command (npx ukernel ...). It runs the CLI bundled by esbuild into
// .deps/cli/ukernel.mjs and its chunks (its npm packages included, but esbuild), rebuilt in ~0.2 s whenever a source file is
// newer than it: Node then starts the CLI without compiling TypeScript, ~0.5 s sooner than
// through tsx's loader at every start. Where the bundle cannot be built or written (a read-only
// checkout), the TypeScript runs through tsx as before.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
process.env.ZIGU_CHECKOUT = root;
const bundle = join(root, ".deps", "cli", "ukernel.mjs");

/** The newest modification time of the .ts files under `dir`. */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith(".ts")) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

async function bundled() {
  const sources = Math.max(newest(join(root, "src")), newest(join(root, "abi")), statSync(join(root, "package-lock.json")).mtimeMs, statSync(fileURLToPath(import.meta.url)).mtimeMs);
  try {
    if (statSync(bundle).mtimeMs >= sources) return true;
  } catch {
    // not built yet
  }
  try {
    const esbuild = await import("esbuild");
    const out = dirname(bundle);
    const tmp = join(out, `.build-${process.pid}`);
    mkdirSync(tmp, { recursive: true });
    // The pure-JavaScript packages go into the bundle too (one file to read and compile instead of
    // a few hundred: ~40 ms of every start); esbuild itself (native) stays outside, loaded only
    // when a build bundles a program. `require` for the CommonJS ones (commander). What is only
    // imported dynamically (tar, with zlib and streams: only when packing) goes into chunks of its
    // own, read only when needed.
    await esbuild.build({
      entryPoints: { ukernel: join(root, "src", "cli.ts") },
      bundle: true,
      splitting: true,
      platform: "node",
      format: "esm",
      target: "node20",
      external: ["esbuild", "koffi"],
      banner: { js: 'import { createRequire as __zigu_createRequire } from "node:module"; const require = __zigu_createRequire(import.meta.url);' },
      outdir: tmp,
      chunkNames: "chunk-[hash]",
      outExtension: { ".js": ".mjs" },
      logLevel: "silent",
    });
    // Chunks are named by their content: moving one over an existing one changes nothing. The
    // entry goes last, whole or not at all, with several ukernel commands side by side.
    for (const f of readdirSync(tmp)) if (f !== "ukernel.mjs") renameSync(join(tmp, f), join(out, f));
    renameSync(join(tmp, "ukernel.mjs"), bundle);
    rmSync(tmp, { recursive: true, force: true });
    pruneChunks(out);
    return true;
  } catch {
    return false;
  }
}

/** Chunks no longer reachable from the entry, once an hour old (a command started just before
 *  a rebuild may still load its own lazily). */
function pruneChunks(out) {
  const keep = new Set();
  const visit = (file) => {
    for (const m of readFileSync(join(out, file), "utf8").matchAll(/["']\.\/(chunk-[A-Z0-9]+\.mjs)["']/g)) {
      if (!keep.has(m[1])) {
        keep.add(m[1]);
        visit(m[1]);
      }
    }
  };
  visit("ukernel.mjs");
  for (const f of readdirSync(out)) {
    const p = join(out, f);
    const stale = (f.startsWith("chunk-") && !keep.has(f)) || f.startsWith(".build-");
    if (stale && Date.now() - statSync(p).mtimeMs > 3_600_000) rmSync(p, { recursive: true, force: true });
  }
}

// A checkout without its Node packages (cloned, linked, never set up): say what to run, not
// ERR_MODULE_NOT_FOUND.
if (!existsSync(join(root, "node_modules", "commander"))) {
  process.stderr.write(`error: the Zigu checkout at ${root} is not set up (no node_modules)\nhint: run ./scripts/setup there: it installs QEMU, the pinned Zig and the Node packages\n`);
  process.exit(2);
}

if (await bundled()) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli.ts");
}
