// structuredClone: HTML's structured serialize and deserialize in one pass, as V8 does them for
// Node (holes stay holes, an Error keeps its stack and cause, a transferred ArrayBuffer is
// detached). @ungap/structured-clone fills holes and does not detach, so this is our own.
import { DOMException } from "./web.ts";

const errorNames = new Set(["Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError"]);
const errorClasses: Record<string, ErrorConstructor> = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
const tag = (v: object) => Object.prototype.toString.call(v).slice(8, -1);

function refuse(what: string): never {
  throw new DOMException(`${what} could not be cloned.`, "DataCloneError");
}

type View = ArrayBufferView & { constructor: new (buffer: ArrayBuffer, offset: number, length: number) => ArrayBufferView };

export function structuredClone(value: unknown, options?: { transfer?: unknown[] }): unknown {
  const memory = new Map<object, unknown>();
  for (const t of options?.transfer ?? []) {
    if (!(t instanceof ArrayBuffer)) refuse(`${String(t)}`);
    if (memory.has(t)) throw new DOMException("An ArrayBuffer is transferred twice.", "DataCloneError");
    memory.set(t, undefined);
  }
  // Transferred buffers move: the clone takes their bytes, the originals are detached.
  for (const t of memory.keys()) memory.set(t, (t as ArrayBuffer & { transfer(): ArrayBuffer }).transfer());
  const copyProps = (from: object, to: Record<string, unknown>) => {
    for (const key of Object.keys(from)) to[key] = clone((from as Record<string, unknown>)[key]);
  };
  const clone = (v: unknown): unknown => {
    if (typeof v === "symbol") refuse(String(v));
    if (typeof v === "function") refuse(Function.prototype.toString.call(v));
    if (v === null || typeof v !== "object") return v;
    if (memory.has(v)) return memory.get(v);
    const kind = tag(v);
    let out: unknown;
    switch (kind) {
      case "Boolean": out = Object(Boolean.prototype.valueOf.call(v)); break;
      case "Number": out = Object(Number.prototype.valueOf.call(v)); break;
      case "String": out = Object(String.prototype.valueOf.call(v)); break;
      case "BigInt": out = Object(BigInt.prototype.valueOf.call(v)); break;
      case "Date": out = new Date(Date.prototype.getTime.call(v)); break;
      case "RegExp": out = new RegExp((v as RegExp).source, (v as RegExp).flags); break;
      case "ArrayBuffer": out = (v as ArrayBuffer).slice(0); break;
      default: break;
    }
    if (out !== undefined) {
      memory.set(v, out);
      return out;
    }
    if (ArrayBuffer.isView(v)) {
      const view = v as View;
      const buffer = clone(view.buffer) as ArrayBuffer;
      const length = view instanceof DataView ? view.byteLength : (view as unknown as { length: number }).length;
      out = new view.constructor(buffer, view.byteOffset, length);
      memory.set(v, out);
      return out;
    }
    if (v instanceof Map) {
      const m = new Map();
      memory.set(v, m);
      for (const [k, val] of [...v]) m.set(clone(k), clone(val));
      return m;
    }
    if (v instanceof Set) {
      const s = new Set();
      memory.set(v, s);
      for (const k of [...v]) s.add(clone(k));
      return s;
    }
    if (v instanceof Error || kind === "Error") {
      const e = v as Error & { cause?: unknown };
      const name = errorNames.has(e.name) ? e.name : "Error";
      const copy = new errorClasses[name]!();
      memory.set(v, copy);
      const message = Object.getOwnPropertyDescriptor(e, "message");
      if (message && "value" in message) Object.defineProperty(copy, "message", { value: String(message.value), writable: true, configurable: true, enumerable: false });
      else delete (copy as { message?: string }).message;
      Object.defineProperty(copy, "stack", { value: e.stack, writable: true, configurable: true, enumerable: false });
      if (Object.prototype.hasOwnProperty.call(e, "cause")) Object.defineProperty(copy, "cause", { value: clone(e.cause), writable: true, configurable: true, enumerable: false });
      return copy;
    }
    if (Array.isArray(v)) {
      const a = new Array(v.length) as unknown as Record<string, unknown>;
      memory.set(v, a);
      copyProps(v, a);
      return a;
    }
    if (kind !== "Object" && kind !== "Arguments" && !(Symbol.toStringTag in v)) refuse(`#<${kind}>`);
    if (v instanceof WeakMap || v instanceof WeakSet || v instanceof WeakRef || v instanceof Promise) refuse(`#<${kind}>`);
    const o: Record<string, unknown> = {};
    memory.set(v, o);
    copyProps(v, o);
    return o;
  };
  return clone(value);
}
