/**
 * The in-guest JavaScript runtime's prelude: runtime/js/prelude/ (console with Node's
 * util.inspect, the Web APIs, process, the `zigu` module), bundled with esbuild into one ES module
 * that build.zig compiles to bytecode (zigu-qjsc) and builds into the runtime's ELF
 * (`-Djs-prelude`); runtime.c runs it before the program. Written only when its text changes, so zig's cache keeps the ELF when nothing did.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Plugin } from "esbuild";
import { jsDeps, netLib, repoRoot } from "./zig.ts";

export const preludeDir = join(repoRoot, "runtime", "js", "prelude");
export const preludeBundle = join(repoRoot, "zig-out", "js-prelude", "prelude.js");

/**
 * node-inspect-extracted is Node's util.inspect without V8's internals: it sees every Promise as
 * pending and every Map/Set iterator as empty. The engine knows (JS_PromiseState; the iterator
 * preview our QuickJS patch adds), so its stand-ins for getPromiseDetails and previewEntries ask
 * the runtime (runtime/js/prelude/globals-early.ts sets the hooks). The text replaced is that of the pinned
 * version; a different one fails here, loudly.
 */
const promiseDetails: Plugin = {
  name: "zigu-promise-details",
  setup(b) {
    b.onLoad({ filter: /node-inspect-extracted[\\/]dist[\\/]inspect\.js$/ }, (args) => {
      const text = readFileSync(args.path, "utf8");
      const stub = "getPromiseDetails:function(){return[c,void 0]}";
      if (!text.includes(stub)) throw new Error(`node-inspect-extracted changed (no "${stub}" in ${args.path}): the prelude expects version 3.0.2`);
      const hook = 'getPromiseDetails:function(p){var d=globalThis[Symbol.for("zigu.promiseDetails")](p);return d[0]===0?[c,void 0]:[d[0]===2?l:1,d[1]]}';
      // previewEntries(iterator, true): a Map or Set iterator's entries; weak collections keep
      // the stub ("<items unknown>", as Node prints them without showHidden).
      const previewStub = "previewEntries:function(t){return[[],!1]}";
      if (!text.includes(previewStub)) throw new Error(`node-inspect-extracted changed (no "${previewStub}" in ${args.path}): the prelude expects version 3.0.2`);
      const previewHook = 'previewEntries:function(t,e){if(e){var d=globalThis[Symbol.for("zigu.previewEntries")](t);if(d)return d}return[[],!1]}';
      return { contents: text.replace(stub, hook).replace(previewStub, previewHook), loader: "js" };
    });
  },
};

/** Bundles the prelude (about 0.1 s) and returns its path. */
export async function buildPrelude(): Promise<string> {
  const esbuild = await import("esbuild");
  const r = await esbuild.build({
    absWorkingDir: repoRoot,
    entryPoints: [join(preludeDir, "index.ts")],
    bundle: true, format: "esm", platform: "neutral", target: "es2023", write: false, logLevel: "silent",
    mainFields: ["module", "main"], minifyWhitespace: true, minifySyntax: true, legalComments: "none",
    keepNames: true,
    // whatwg-url needs UTF-8 only: the lite build of @exodus/bytes leaves out the legacy
    // multi-byte encodings' tables (150 KB).
    alias: { "@exodus/bytes/encoding.js": "@exodus/bytes/encoding-lite.js" },
    plugins: [promiseDetails],
  });
  const text = r.outputFiles[0]!.text;
  mkdirSync(join(preludeBundle, ".."), { recursive: true });
  if (!existsSync(preludeBundle) || readFileSync(preludeBundle, "utf8") !== text) writeFileSync(preludeBundle, text);
  return preludeBundle;
}

/** The zig build options that build the js workload: its C archives and the bundled prelude. */
export async function jsBuildArgs(): Promise<string[]> {
  return [`-Djs-deps=${jsDeps}`, `-Djs-prelude=${await buildPrelude()}`, ...(existsSync(netLib) ? [`-Dnet-lib=${netLib}`] : [])];
}
