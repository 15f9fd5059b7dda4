// fetch() for http:// URLs over an injected connect(): one HTTP/1.1 exchange per connection
// (Connection: close), response bodies framed by Content-Length, chunked, or read to the close;
// redirects followed up to 20. Failures of the network are TypeError("fetch failed", { cause }),
// as Node's are.
import { peekBody } from "./body.ts";
import { Headers } from "./headers.ts";
import { checkFraming, createParser, type HeadInfo } from "./parser.ts";
import { Request, type RequestInit } from "./request.ts";
import { Response, networkResponse } from "./response.ts";
import { concat, latin1 } from "./server.ts";
import type { Connect, Socket } from "./socket.ts";

export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

const HTTPS = "fetch: https is not supported inside Zigu yet: only http:// URLs (TLS is not built)";
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const BODY_HEADERS = ["content-encoding", "content-language", "content-location", "content-type"];
const OWN_HEADERS = new Set(["connection", "content-length", "transfer-encoding", "keep-alive", "host"]);

function failed(cause: unknown): TypeError {
  return new TypeError("fetch failed", { cause });
}

interface Raw { status: number; statusText: string; headers: Headers; bytes: Uint8Array | null }

/** A fetch() that opens its connections with connect. */
export function createFetch(connect: Connect): Fetch {
  return async function fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    const signal = init?.signal ?? (input instanceof Request ? input.signal : null);
    signal?.throwIfAborted();
    let url = new URL(request.url);
    let method = request.method;
    const headers = new Headers(request.headers);
    let body = peekBody(request);
    for (let redirects = 0; ; redirects++) {
      if (url.protocol === "https:") throw new TypeError(HTTPS);
      if (url.protocol !== "http:") throw new TypeError(`fetch: the URL scheme "${url.protocol.slice(0, -1)}" is not supported: only http:// URLs (${url.href})`);
      const raw = await abortable(exchange(connect, url, method, headers, body, signal), signal);
      const location = raw.headers.get("location");
      if (REDIRECTS.has(raw.status) && location !== null && request.redirect !== "manual") {
        if (request.redirect === "error") throw failed(new Error("unexpected redirect"));
        if (redirects === 20) throw failed(new Error("redirect count exceeded"));
        let next: URL;
        try {
          next = new URL(location, url);
        } catch (err) {
          throw failed(err);
        }
        if ((raw.status === 303 && method !== "HEAD") || ((raw.status === 301 || raw.status === 302) && method === "POST")) {
          method = "GET";
          body = null;
          for (const h of BODY_HEADERS) headers.delete(h);
        }
        if (next.origin !== url.origin) for (const h of ["authorization", "cookie", "proxy-authorization"]) headers.delete(h);
        url = next;
        continue;
      }
      return networkResponse(raw.status, raw.statusText, raw.headers, raw.bytes, url.href, redirects > 0);
    }
  };
}

function abortable<T>(p: Promise<T>, signal: AbortSignal | null): Promise<T> {
  if (!signal) return p;
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  // The exchange closes its socket on the abort and fails; that failure is dropped.
  p.catch(() => {});
  return Promise.race([p, aborted]).finally(() => signal.removeEventListener("abort", onAbort));
}

async function exchange(connect: Connect, url: URL, method: string, headers: Headers, body: Uint8Array | null, signal: AbortSignal | null): Promise<Raw> {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  let sock: Socket;
  try {
    sock = await connect(host, url.port ? Number(url.port) : 80);
  } catch (err) {
    throw failed(err);
  }
  const onAbort = () => sock.close();
  signal?.addEventListener("abort", onAbort);
  try {
    signal?.throwIfAborted();
    let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\nconnection: close\r\n`;
    for (const [name, value] of headers) if (!OWN_HEADERS.has(name)) head += `${name}: ${value}\r\n`;
    if (!headers.has("accept")) head += "accept: */*\r\n";
    if (!headers.has("user-agent")) head += "user-agent: zigu\r\n";
    if (body) head += `content-length: ${body.length}\r\n`;
    else if (method === "POST" || method === "PUT" || method === "PATCH") head += "content-length: 0\r\n";
    const headBytes = latin1(`${head}\r\n`);
    await sock.write(body && body.length > 0 ? concat([headBytes, body]) : headBytes);

    const state: { result: Raw | null; pending: Raw | null } = { result: null, pending: null };
    const chunks: Uint8Array[] = [];
    const parser = createParser("response", {
      head(info: HeadInfo) {
        if (state.result) return;
        const status = info.statusCode!;
        if (status >= 100 && status < 200 && status !== 101) return; // interim (100 Continue...): its done() is skipped below
        checkFraming(info.headers, Infinity); // a Content-Length of "abc" would read as an empty body
        const h = new Headers();
        for (let i = 0; i < info.headers.length; i += 2) {
          try {
            h.append(info.headers[i]!, info.headers[i + 1]!);
          } catch {
            // A header a Headers cannot hold (an invalid name) is left out.
          }
        }
        state.pending = { status, statusText: info.statusMessage ?? "", headers: h, bytes: null };
        return method === "HEAD";
      },
      body(chunk) {
        if (!state.result) chunks.push(chunk.slice());
      },
      done() {
        const p = state.pending;
        if (state.result || !p) return;
        p.bytes = method === "HEAD" || p.status === 204 || p.status === 304 ? null : concat(chunks);
        state.result = p;
      },
    });
    for (;;) {
      let chunk: Uint8Array | null;
      try {
        chunk = await sock.read();
      } catch (err) {
        throw failed(err);
      }
      const error = chunk === null ? parser.finish() : parser.execute(chunk);
      if (state.result) return state.result;
      if (error) throw failed(error);
      if (chunk === null) throw failed(new Error("the connection closed before the response ended"));
    }
  } catch (err) {
    throw err instanceof TypeError ? err : failed(err);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    sock.close();
  }
}
