// The globals of Zigu's in-guest JavaScript runtime (runtime/js/runtime.c and its prelude,
// runtime/js/prelude/), for `ukernel build`'s type check: the program is checked against ES2023
// and these, not against Node's types, so an import of `fs` or another `node:` module fails the
// build instead of failing in the microVM.
/* eslint-disable @typescript-eslint/no-explicit-any -- the same shapes as lib.dom's */
declare global {
  interface Console {
    log(...data: unknown[]): void;
    info(...data: unknown[]): void;
    debug(...data: unknown[]): void;
    dirxml(...data: unknown[]): void;
    warn(...data: unknown[]): void;
    error(...data: unknown[]): void;
    trace(...data: unknown[]): void;
    dir(item?: unknown, options?: { depth?: number | null; showHidden?: boolean; colors?: boolean }): void;
    assert(condition?: unknown, ...data: unknown[]): void;
    count(label?: string): void;
    countReset(label?: string): void;
    group(...label: unknown[]): void;
    groupCollapsed(...label: unknown[]): void;
    groupEnd(): void;
    time(label?: string): void;
    timeLog(label?: string, ...data: unknown[]): void;
    timeEnd(label?: string): void;
  }
  var console: Console;
  function setTimeout(callback: (...args: any[]) => void, ms?: number, ...args: any[]): number;
  function setInterval(callback: (...args: any[]) => void, ms?: number, ...args: any[]): number;
  function setImmediate(callback: (...args: any[]) => void, ...args: any[]): number;
  function clearTimeout(id: number | undefined): void;
  function clearInterval(id: number | undefined): void;
  function clearImmediate(id: number | undefined): void;
  function queueMicrotask(callback: () => void): void;
  function structuredClone<T>(value: T, options?: { transfer?: unknown[] }): T;
  function atob(data: string): string;
  function btoa(data: string): string;

  interface Performance { now(): number; readonly timeOrigin: number }
  var performance: Performance;

  var process: {
    /** ["/zigu/js", "/main.js", ...ukernel.toml's [workload] args]. */
    readonly argv: string[];
    readonly argv0: string;
    readonly execArgv: string[];
    /** ukernel.toml's [env]. */
    readonly env: Record<string, string | undefined>;
    /** Ends the workload at once with `code` (default: process.exitCode, else 0). */
    exit(code?: number): never;
    /** The status the workload ends with when nothing is left to run. */
    exitCode: number | undefined;
    /** Runs `callback` after the current operation, before the Promise jobs (Node's order). */
    nextTick(callback: (...args: any[]) => void, ...args: any[]): void;
    hrtime: { (time?: [number, number]): [number, number]; bigint(): bigint };
    uptime(): number;
    readonly stdout: { write(chunk: string | Uint8Array, callback?: () => void): boolean; readonly isTTY: false; readonly fd: 1 };
    readonly stderr: { write(chunk: string | Uint8Array, callback?: () => void): boolean; readonly isTTY: false; readonly fd: 2 };
  };

  class TextEncoder {
    readonly encoding: "utf-8";
    encode(input?: string): Uint8Array;
    encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
  }
  class TextDecoder {
    constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
    readonly encoding: string;
    readonly fatal: boolean;
    readonly ignoreBOM: boolean;
    decode(input?: ArrayBuffer | ArrayBufferView, options?: { stream?: boolean }): string;
  }

  class URLSearchParams implements Iterable<[string, string]> {
    constructor(init?: string[][] | Record<string, string> | string | URLSearchParams);
    readonly size: number;
    append(name: string, value: string): void;
    delete(name: string, value?: string): void;
    get(name: string): string | null;
    getAll(name: string): string[];
    has(name: string, value?: string): boolean;
    set(name: string, value: string): void;
    sort(): void;
    forEach(callback: (value: string, key: string, parent: URLSearchParams) => void, thisArg?: any): void;
    keys(): IterableIterator<string>;
    values(): IterableIterator<string>;
    entries(): IterableIterator<[string, string]>;
    [Symbol.iterator](): IterableIterator<[string, string]>;
    toString(): string;
  }
  class URL {
    constructor(url: string | URL, base?: string | URL);
    static canParse(url: string | URL, base?: string | URL): boolean;
    static parse(url: string | URL, base?: string | URL): URL | null;
    hash: string;
    host: string;
    hostname: string;
    href: string;
    readonly origin: string;
    password: string;
    pathname: string;
    port: string;
    protocol: string;
    search: string;
    readonly searchParams: URLSearchParams;
    username: string;
    toString(): string;
    toJSON(): string;
  }

  class DOMException extends Error {
    constructor(message?: string, options?: string | { name?: string; cause?: unknown });
    readonly code: number;
  }

  class Event {
    constructor(type: string, options?: { bubbles?: boolean; cancelable?: boolean; composed?: boolean });
    readonly type: string;
    readonly target: EventTarget | null;
    readonly currentTarget: EventTarget | null;
    readonly defaultPrevented: boolean;
    readonly cancelable: boolean;
    readonly timeStamp: number;
    preventDefault(): void;
    stopPropagation(): void;
    stopImmediatePropagation(): void;
  }
  type EventListenerOrEventListenerObject = ((event: Event) => void) | { handleEvent(event: Event): void };
  class EventTarget {
    addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | { once?: boolean; passive?: boolean; capture?: boolean; signal?: AbortSignal }): void;
    removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | { capture?: boolean }): void;
    dispatchEvent(event: Event): boolean;
  }
  class AbortSignal extends EventTarget {
    readonly aborted: boolean;
    readonly reason: any;
    onabort: ((this: AbortSignal, ev: Event) => any) | null;
    throwIfAborted(): void;
    static abort(reason?: any): AbortSignal;
    static timeout(milliseconds: number): AbortSignal;
    static any(signals: Iterable<AbortSignal>): AbortSignal;
  }
  class AbortController {
    readonly signal: AbortSignal;
    abort(reason?: any): void;
  }

  /** Random values need the "random" capability (ukernel.toml: [capabilities] allow). */
  var crypto: {
    getRandomValues<T extends Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array>(array: T): T;
    randomUUID(): `${string}-${string}-${string}-${string}-${string}`;
  };

  // ---- HTTP: runtime/js/prelude/http/ (bodies are bytes: no ReadableStream) ----
  type HeadersInit = [string, string][] | Record<string, string> | Headers;
  type BodyInit = string | ArrayBuffer | ArrayBufferView | URLSearchParams;
  class Headers implements Iterable<[string, string]> {
    constructor(init?: HeadersInit);
    append(name: string, value: string): void;
    delete(name: string): void;
    get(name: string): string | null;
    getSetCookie(): string[];
    has(name: string): boolean;
    set(name: string, value: string): void;
    forEach(callback: (value: string, key: string, parent: Headers) => void): void;
    entries(): IterableIterator<[string, string]>;
    keys(): IterableIterator<string>;
    values(): IterableIterator<string>;
    [Symbol.iterator](): IterableIterator<[string, string]>;
  }
  interface Body {
    readonly bodyUsed: boolean;
    arrayBuffer(): Promise<ArrayBuffer>;
    bytes(): Promise<Uint8Array>;
    json(): Promise<any>;
    text(): Promise<string>;
  }
  interface RequestInit {
    method?: string;
    headers?: HeadersInit;
    body?: BodyInit | null;
    redirect?: "follow" | "manual" | "error";
    signal?: AbortSignal | null;
  }
  class Request implements Body {
    constructor(input: string | URL | Request, init?: RequestInit);
    readonly method: string;
    readonly url: string;
    readonly headers: Headers;
    readonly redirect: "follow" | "manual" | "error";
    readonly signal: AbortSignal;
    readonly bodyUsed: boolean;
    arrayBuffer(): Promise<ArrayBuffer>;
    bytes(): Promise<Uint8Array>;
    json(): Promise<any>;
    text(): Promise<string>;
    clone(): Request;
  }
  interface ResponseInit {
    status?: number;
    statusText?: string;
    headers?: HeadersInit;
  }
  class Response implements Body {
    constructor(body?: BodyInit | null, init?: ResponseInit);
    static json(data: unknown, init?: ResponseInit): Response;
    static redirect(url: string | URL, status?: number): Response;
    static error(): Response;
    readonly status: number;
    readonly statusText: string;
    readonly ok: boolean;
    readonly headers: Headers;
    readonly redirected: boolean;
    readonly type: string;
    readonly url: string;
    readonly bodyUsed: boolean;
    arrayBuffer(): Promise<ArrayBuffer>;
    bytes(): Promise<Uint8Array>;
    json(): Promise<any>;
    text(): Promise<string>;
    clone(): Response;
  }
  /** http:// URLs only (no TLS inside Zigu yet), to destinations [network] connect names. */
  function fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
}

export {};
