// WHATWG Response (https://fetch.spec.whatwg.org/#response-class), with the body as bytes.
import { Body, extractBody, initBody, peekBody, type BodyInit } from "./body.ts";
import { Headers, freezeHeaders, type HeadersInit } from "./headers.ts";
import { parseURL } from "./request.ts";

export interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
}

export type ResponseType = "basic" | "cors" | "default" | "error" | "opaque" | "opaqueredirect";

const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const REDIRECT = new Set([301, 302, 303, 307, 308]);

interface Meta { status: number; statusText: string; headers: Headers; type: ResponseType; url: string; redirected: boolean }

/** What fetch() sets on the responses it makes: any status, the final URL, whether it followed redirects. */
export let networkResponse: (status: number, statusText: string, headers: Headers, bytes: Uint8Array | null, url: string, redirected: boolean) => Response;

let building: Meta | null = null;

export class Response extends Body {
  readonly #meta: Meta;

  static {
    networkResponse = (status, statusText, headers, bytes, url, redirected) => {
      freezeHeaders(headers);
      building = { status, statusText, headers, type: "basic", url, redirected };
      try {
        const r = new Response();
        initBody(r, bytes);
        return r;
      } finally {
        building = null;
      }
    };
  }

  constructor(body: BodyInit | null = null, init: ResponseInit = {}) {
    super();
    if (building) {
      this.#meta = building;
      return;
    }
    if (init === null || (typeof init !== "object" && typeof init !== "function")) init = {};
    const status = init.status === undefined ? 200 : Math.trunc(Number(init.status)) || 0;
    if (status < 200 || status > 599) throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive.`);
    const statusText = init.statusText === undefined ? "" : String(init.statusText);
    if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(statusText)) throw new TypeError("Invalid statusText");
    const headers = new Headers(init.headers);
    let bytes: Uint8Array | null = null;
    if (body !== null && body !== undefined) {
      if (NULL_BODY.has(status)) throw new TypeError("Response constructor: Invalid response status code " + status);
      const b = extractBody(body);
      bytes = b.bytes;
      if (b.type !== null && !headers.has("content-type")) headers.append("content-type", b.type);
    }
    initBody(this, bytes);
    this.#meta = { status, statusText, headers, type: "default", url: "", redirected: false };
  }

  get status(): number { return this.#meta.status; }
  get statusText(): string { return this.#meta.statusText; }
  get headers(): Headers { return this.#meta.headers; }
  get ok(): boolean { return this.#meta.status >= 200 && this.#meta.status <= 299; }
  get type(): ResponseType { return this.#meta.type; }
  get url(): string { return this.#meta.url; }
  get redirected(): boolean { return this.#meta.redirected; }

  clone(): Response {
    if (this.bodyUsed) throw new TypeError("Response.clone: Body has already been consumed.");
    const m = this.#meta;
    const headers = new Headers(m.headers);
    if (m.type !== "default") freezeHeaders(headers);
    building = { ...m, headers };
    try {
      const r = new Response();
      const bytes = peekBody(this);
      initBody(r, bytes && bytes.slice());
      return r;
    } finally {
      building = null;
    }
  }

  static error(): Response {
    const headers = new Headers();
    freezeHeaders(headers);
    building = { status: 0, statusText: "", headers, type: "error", url: "", redirected: false };
    try {
      const r = new Response();
      initBody(r, null);
      return r;
    } finally {
      building = null;
    }
  }

  static redirect(url: string | URL, status = 302): Response {
    const href = parseURL(url).href;
    if (!REDIRECT.has(status)) throw new RangeError(`Invalid status code ${status}`);
    const r = new Response(null, { status, headers: { location: href } });
    freezeHeaders(r.headers);
    return r;
  }

  static json(data: unknown, init: ResponseInit = {}): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError("Value is not JSON serializable");
    const headers = new Headers(init?.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new Response(text, { ...init, headers });
  }

  get [Symbol.toStringTag](): string {
    return "Response";
  }
}
