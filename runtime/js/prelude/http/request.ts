// WHATWG Request (https://fetch.spec.whatwg.org/#request-class), with the body as bytes.
import { Body, extractBody, initBody, peekBody, takeBody, type BodyInit } from "./body.ts";
import { Headers, isToken, type HeadersInit } from "./headers.ts";

export type RequestRedirect = "follow" | "manual" | "error";

export interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit | null;
  redirect?: RequestRedirect;
  signal?: AbortSignal | null;
  [other: string]: unknown;
}

const NORMALIZED = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
const FORBIDDEN = new Set(["CONNECT", "TRACE", "TRACK"]);

export function parseURL(input: unknown, base?: string | URL): URL {
  try {
    return new URL(String(input), base);
  } catch (cause) {
    throw new TypeError(`Failed to parse URL from ${String(input)}`, { cause });
  }
}

export class Request extends Body {
  readonly #url: string;
  readonly #method: string;
  readonly #headers: Headers;
  readonly #redirect: RequestRedirect;
  #signal: AbortSignal | null;

  constructor(input: string | URL | Request, init: RequestInit = {}) {
    super();
    if (init === null || (typeof init !== "object" && typeof init !== "function")) init = {};
    const from = input instanceof Request ? input : null;
    let url: URL;
    if (from) {
      url = new URL(from.#url);
    } else {
      url = parseURL(input);
      if (url.username || url.password) throw new TypeError(`Request cannot be constructed from a URL that includes credentials: ${String(input)}`);
    }
    let method = from ? from.#method : "GET";
    if (init.method !== undefined) {
      method = String(init.method);
      if (!isToken(method)) throw new TypeError(`'${method}' is not a valid HTTP method.`);
      const upper = method.toUpperCase();
      if (FORBIDDEN.has(upper)) throw new TypeError(`'${method}' HTTP method is unsupported.`);
      if (NORMALIZED.has(upper)) method = upper;
    }
    const redirect = init.redirect ?? (from ? from.#redirect : "follow");
    if (!["follow", "manual", "error"].includes(redirect)) throw new TypeError(`Request constructor: ${String(redirect)} is not a valid redirect mode`);
    const headers = new Headers(init.headers !== undefined ? init.headers : from ? from.#headers : undefined);

    let bytes: Uint8Array | null = null;
    if (init.body !== undefined && init.body !== null) {
      if (method === "GET" || method === "HEAD") throw new TypeError("Request with GET/HEAD method cannot have body.");
      const body = extractBody(init.body);
      bytes = body.bytes;
      if (body.type !== null && !headers.has("content-type")) headers.append("content-type", body.type);
    } else if (from && peekBody(from) !== null) {
      if (method === "GET" || method === "HEAD") throw new TypeError("Request with GET/HEAD method cannot have body.");
      bytes = takeBody(from); // the input's body moves to the new request: the input is used
    }
    initBody(this, bytes);
    this.#url = url.href;
    this.#method = method;
    this.#headers = headers;
    this.#redirect = redirect;
    this.#signal = init.signal !== undefined ? init.signal : from ? from.#signal : null;
  }

  get url(): string { return this.#url; }
  get method(): string { return this.#method; }
  get headers(): Headers { return this.#headers; }
  get redirect(): RequestRedirect { return this.#redirect; }
  /** The signal given in init (or the input Request's), else one that never aborts. */
  get signal(): AbortSignal {
    if (!this.#signal) this.#signal = new AbortController().signal;
    return this.#signal;
  }
  get keepalive(): boolean { return false; }
  get credentials(): string { return "same-origin"; }
  get mode(): string { return "cors"; }
  get cache(): string { return "default"; }
  get referrer(): string { return "about:client"; }
  get integrity(): string { return ""; }
  get duplex(): string { return "half"; }

  clone(): Request {
    if (this.bodyUsed) throw new TypeError("Request.clone: Body has already been consumed.");
    const bytes = peekBody(this);
    return new Request(this.#url, { method: this.#method, headers: this.#headers, body: bytes && bytes.slice(), redirect: this.#redirect, signal: this.#signal });
  }

  get [Symbol.toStringTag](): string {
    return "Request";
  }
}
