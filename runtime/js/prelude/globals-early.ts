// What must be global before node-inspect-extracted loads: it copies the intrinsics it names
// (this engine is built without Atomics: no threads, so a stand-in is there while it loads and
// removed after, in globals-late.ts) and reaches for URL.
import { TextEncoder, TextDecoder } from "@exodus/bytes/encoding-lite.js";
import { native } from "./native.ts";

declare const require: (id: string) => unknown;

const g = globalThis as Record<string, unknown>;
export const atomicsStandIn = !("Atomics" in g);
if (atomicsStandIn) g.Atomics = {};
for (const [name, value] of Object.entries({ TextEncoder, TextDecoder })) {
  Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
}
// URL and URLSearchParams: whatwg-url (with tr46's IDNA tables) is set up on first use only.
for (const name of ["URL", "URLSearchParams"]) {
  Object.defineProperty(g, name, {
    configurable: true,
    enumerable: false,
    get() {
      const value = (require("whatwg-url") as Record<string, unknown>)[name];
      Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
      return value;
    },
    set(value: unknown) {
      Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
    },
  });
}

// util.inspect's view of a Promise's state and of an iterator's entries (src/runtime-js.ts
// patches them in).
Object.defineProperty(g, Symbol.for("zigu.promiseDetails"), { value: (p: Promise<unknown>) => native.promise(p) });
Object.defineProperty(g, Symbol.for("zigu.previewEntries"), { value: (it: unknown) => native.preview(it) });
