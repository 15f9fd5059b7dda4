// The Web APIs of the runtime that no npm package gives as Node does: DOMException, atob/btoa,
// AbortController/AbortSignal (on event-target-shim's EventTarget), crypto's random parts.
import { EventTarget as ShimEventTarget, Event, getEventAttributeValue, setEventAttributeValue, setErrorHandler, setWarningHandler } from "event-target-shim";

// Node's EventTarget warns of nothing on the console (a listener added twice, preventDefault on a
// non-cancelable event), and refuses to dispatch what is not an Event.
setWarningHandler(() => {});
// A listener that throws is an uncaught exception, as in Node: reported after the dispatch.
setErrorHandler((error: unknown) => {
  (globalThis as unknown as { process: { nextTick(f: () => void): void } }).process.nextTick(() => {
    throw error;
  });
});
export class EventTarget extends ShimEventTarget {
  override dispatchEvent(event: Event): boolean {
    if (!(event instanceof Event)) throw new TypeError(`The "event" argument must be an instance of Event. Received ${typeof event}`);
    return super.dispatchEvent(event);
  }
}
Object.defineProperty(EventTarget, "name", { value: "EventTarget" });
import { native } from "./native.ts";
import { check } from "./zigu.ts";

const codes: Record<string, number> = {
  IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5, NoModificationAllowedError: 7,
  NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11, SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14,
  InvalidAccessError: 15, TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
  QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
};

export class DOMException extends Error {
  readonly #name: string;
  constructor(message = "", options: string | { name?: string; cause?: unknown } = "Error") {
    const name = typeof options === "string" ? options : String(options?.name ?? "Error");
    super(String(message), typeof options === "object" && options && "cause" in options ? { cause: options.cause } : undefined);
    this.#name = name;
  }
  override get name(): string {
    return this.#name;
  }
  get code(): number {
    return codes[this.#name] ?? 0;
  }
}
Object.defineProperty(DOMException.prototype, Symbol.toStringTag, { value: "DOMException", configurable: true });

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function btoa(input: unknown): string {
  if (arguments.length === 0) throw new TypeError('The "data" argument must be specified');
  const s = `${input}`;
  let out = "";
  for (let i = 0; i < s.length; i += 3) {
    const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
    if (a > 255 || b > 255 || c > 255) throw new DOMException("Invalid character", "InvalidCharacterError");
    out += B64[a >> 2]! + B64[((a & 3) << 4) | (i + 1 < s.length ? b >> 4 : 0)]!;
    out += i + 1 < s.length ? B64[((b & 15) << 2) | (i + 2 < s.length ? c >> 6 : 0)]! : "=";
    out += i + 2 < s.length ? B64[c & 63]! : "=";
  }
  return out;
}

export function atob(input: unknown): string {
  if (arguments.length === 0) throw new TypeError('The "data" argument must be specified');
  let s = `${input}`.replace(/[\t\n\f\r ]/g, "");
  if (s.length % 4 === 0) s = s.replace(/==?$/, "");
  if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) throw new DOMException("The string to be decoded is not correctly encoded.", "InvalidCharacterError");
  let out = "";
  let bits = 0, n = 0;
  for (const ch of s) {
    bits = (bits << 6) | B64.indexOf(ch);
    n += 6;
    if (n >= 8) {
      n -= 8;
      out += String.fromCharCode((bits >> n) & 255);
    }
  }
  return out;
}

// ---- AbortController / AbortSignal ----------------------------------------------------------

let constructing = false;
const aborted = new WeakMap<object, { reason: unknown }>();

function makeSignal(): AbortSignal {
  constructing = true;
  try {
    return new AbortSignal();
  } finally {
    constructing = false;
  }
}

function signalAbort(signal: AbortSignal, reason: unknown): void {
  if (aborted.has(signal)) return;
  aborted.set(signal, { reason: reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason });
  signal.dispatchEvent(new Event("abort"));
}

export class AbortSignal extends EventTarget {
  constructor() {
    if (!constructing) throw new TypeError("Illegal constructor");
    super();
  }
  get aborted(): boolean {
    return aborted.has(this);
  }
  get reason(): unknown {
    return aborted.get(this)?.reason;
  }
  /** An event handler attribute: called in the order it was set among the listeners. */
  get onabort(): unknown {
    return getEventAttributeValue(this, "abort");
  }
  set onabort(fn: unknown) {
    setEventAttributeValue(this, "abort", typeof fn === "function" ? (fn as never) : null);
  }
  throwIfAborted(): void {
    const a = aborted.get(this);
    if (a) throw a.reason;
  }
  static abort(reason?: unknown): AbortSignal {
    const s = makeSignal();
    signalAbort(s, reason);
    return s;
  }
  static timeout(ms: number): AbortSignal {
    const s = makeSignal();
    setTimeout(() => signalAbort(s, new DOMException("The operation was aborted due to timeout", "TimeoutError")), ms);
    return s;
  }
  static any(signals: Iterable<AbortSignal>): AbortSignal {
    const s = makeSignal();
    const list = [...signals];
    for (const other of list) {
      if (other.aborted) {
        signalAbort(s, other.reason);
        return s;
      }
    }
    for (const other of list) other.addEventListener("abort", () => signalAbort(s, other.reason), { once: true });
    return s;
  }
}
Object.defineProperty(AbortSignal.prototype, Symbol.toStringTag, { value: "AbortSignal", configurable: true });

export class AbortController {
  readonly #signal = makeSignal();
  get signal(): AbortSignal {
    return this.#signal;
  }
  abort(reason?: unknown): void {
    signalAbort(this.#signal, reason);
  }
}
Object.defineProperty(AbortController.prototype, Symbol.toStringTag, { value: "AbortController", configurable: true });

// ---- crypto (CAP_RANDOM) --------------------------------------------------------------------

const integerArrays = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array];

function getRandomValues<T extends ArrayBufferView | null>(array: T): T {
  if (!integerArrays.some((C) => array instanceof C)) {
    throw new DOMException("The data argument must be an integer-type TypedArray", "TypeMismatchError");
  }
  const view = array as unknown as ArrayBufferView;
  if (view.byteLength > 65536) {
    throw new DOMException(`The ArrayBufferView's byte length (${view.byteLength}) exceeds the number of bytes of entropy available via this API (65536)`, "QuotaExceededError");
  }
  check("crypto.getRandomValues", native.random(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)), "random");
  return array;
}

function randomUUID(): string {
  const b = getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const crypto = { getRandomValues, randomUUID };
export { Event };
