// The body of a Request or Response, kept as bytes in memory (no ReadableStream in the guest).

export type BodyInit = string | ArrayBuffer | ArrayBufferView | URLSearchParams;

interface BodyState { bytes: Uint8Array | null; used: boolean }

const states = new WeakMap<object, BodyState>();

const utf8 = new TextEncoder();

/** The bytes and the default Content-Type of a body init (the standard's "extract a body"). */
export function extractBody(init: unknown): { bytes: Uint8Array; type: string | null } {
  if (typeof init === "string") return { bytes: utf8.encode(init), type: "text/plain;charset=UTF-8" };
  if (init instanceof ArrayBuffer) return { bytes: new Uint8Array(init.slice(0)), type: null };
  if (ArrayBuffer.isView(init)) return { bytes: new Uint8Array(init.buffer.slice(init.byteOffset, init.byteOffset + init.byteLength)), type: null };
  if (init instanceof URLSearchParams) return { bytes: utf8.encode(init.toString()), type: "application/x-www-form-urlencoded;charset=UTF-8" };
  if (init !== null && typeof init === "object") {
    const o = init as Record<string | symbol, unknown>;
    if (typeof o.getReader === "function" || typeof o.pipeTo === "function") throw new TypeError("ReadableStream bodies are not supported in Zigu: pass a string, an ArrayBuffer or a Uint8Array");
    if (typeof o[Symbol.asyncIterator] === "function") throw new TypeError("async iterable bodies are not supported in Zigu: pass a string, an ArrayBuffer or a Uint8Array");
    const tag = Object.prototype.toString.call(init);
    if (tag === "[object Blob]" || tag === "[object File]" || tag === "[object FormData]") throw new TypeError(`${tag.slice(8, -1)} bodies are not supported in Zigu: pass a string, an ArrayBuffer or a Uint8Array`);
  }
  return { bytes: utf8.encode(String(init)), type: "text/plain;charset=UTF-8" };
}

export function initBody(target: object, bytes: Uint8Array | null): void {
  states.set(target, { bytes, used: false });
}

/** The body's bytes without consuming them (the server writing a Response, clone()). */
export function peekBody(target: object): Uint8Array | null {
  return states.get(target)!.bytes;
}

/** Takes the body: the bytes (null for no body), or a TypeError once used. Marks it used. */
export function takeBody(target: object): Uint8Array | null {
  const s = states.get(target);
  if (!s) throw new TypeError("Illegal invocation");
  if (s.used) throw new TypeError("Body is unusable: Body has already been read");
  if (s.bytes !== null) s.used = true;
  return s.bytes;
}

/** The body methods shared by Request and Response. */
export abstract class Body {
  /**
   * Not a ReadableStream, as the standard has it: the bytes (a copy), or null without a body.
   * The guest has no streams; code that only tests `body !== null` works.
   */
  get body(): Uint8Array | null {
    const s = states.get(this)!;
    return s.bytes && s.bytes.slice();
  }

  get bodyUsed(): boolean {
    return states.get(this)!.used;
  }

  async bytes(): Promise<Uint8Array> {
    const b = takeBody(this);
    return b ? b.slice() : new Uint8Array(0);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.bytes()).buffer as ArrayBuffer;
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async blob(): Promise<never> {
    throw new TypeError("Blob is not supported in Zigu: use arrayBuffer(), bytes() or text()");
  }

  async formData(): Promise<never> {
    throw new TypeError("FormData is not supported in Zigu: use text() and URLSearchParams");
  }
}
