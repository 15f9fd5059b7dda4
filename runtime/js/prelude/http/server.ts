// An HTTP/1.1 server over the abstract Socket: keep-alive, pipelining (answered in order),
// Content-Length and chunked request bodies, responses with Content-Length (bodies are bytes in memory).
import { peekBody } from "./body.ts";
import { Headers } from "./headers.ts";
import { HttpError, checkFraming, createParser, methods, type HeadInfo } from "./parser.ts";
import { Request } from "./request.ts";
import { Response } from "./response.ts";
import type { Listener, Socket } from "./socket.ts";

export type Handler = (req: Request) => Response | Promise<Response>;

export interface ServeOptions {
  /** The authority of request URLs when a request has no Host header. */
  hostname: string;
  port: number;
  /** Called with what a handler throws (or a handler's non-Response); the client gets a 500. */
  onError?(err: unknown): void;
  /** The largest request body accepted (413 above it); 16 MiB unless set. */
  maxBodySize?: number;
}

export const REASONS: Record<number, string> = {
  100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
  206: "Partial Content", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
  307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
  404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 410: "Gone", 411: "Length Required",
  413: "Payload Too Large", 415: "Unsupported Media Type", 418: "I'm a Teapot", 422: "Unprocessable Entity",
  429: "Too Many Requests", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
  501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
};

/** A string of byte-valued characters (header text) as bytes. */
export function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function concat(parts: Uint8Array[], size = parts.reduce((n, p) => n + p.length, 0)): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

interface Incoming { method: string; target: string; headers: Headers; keepAlive: boolean; http10: boolean; body: Uint8Array[]; size: number; expectContinue: boolean }

const CONTINUE = latin1("HTTP/1.1 100 Continue\r\n\r\n");

function errorResponse(status: number): Uint8Array {
  const text = `${REASONS[status] ?? "Error"}\n`;
  return latin1(`HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\nconnection: close\r\ncontent-length: ${text.length}\r\ncontent-type: text/plain;charset=UTF-8\r\n\r\n${text}`);
}

/** Serves the requests of one connection until either side ends it. Never rejects. */
export async function serveConnection(sock: Socket, handler: Handler, opts: ServeOptions): Promise<void> {
  const maxBody = opts.maxBodySize ?? 16 * 1024 * 1024;
  const queue: Incoming[] = [];
  let current: Incoming | null = null;
  let continueSent = false;
  let upgraded = false;
  const parser = createParser("request", {
    head(info: HeadInfo) {
      checkFraming(info.headers, maxBody);
      const headers = new Headers();
      for (let i = 0; i < info.headers.length; i += 2) headers.append(info.headers[i]!, info.headers[i + 1]!);
      const http10 = info.versionMajor === 1 && info.versionMinor === 0;
      current = {
        method: methods[info.method!]!, target: info.url!, headers, keepAlive: info.shouldKeepAlive && !info.upgrade, http10,
        body: [], size: 0, expectContinue: !http10 && headers.get("expect")?.toLowerCase() === "100-continue",
      };
      continueSent = false;
      if (info.upgrade) upgraded = true; // CONNECT or Upgrade: answered, then the connection closes
    },
    body(chunk) {
      const c = current!;
      c.size += chunk.length;
      if (c.size > maxBody) throw new HttpError(413, "body too large");
      c.body.push(chunk.slice());
    },
    done() {
      queue.push(current!);
      current = null;
    },
  });

  let closing = false;
  try {
    while (!closing) {
      const chunk = await sock.read();
      const error = chunk === null ? null : parser.execute(chunk);
      while (queue.length > 0 && !closing) {
        const incoming = queue.shift()!;
        const keepAlive = await respond(sock, incoming, handler, opts);
        if (!keepAlive) closing = true;
      }
      if (closing) break;
      if (error) {
        const status = error instanceof HttpError ? error.status : error.message === "max header size exceeded" ? 431 : 400;
        await sock.write(errorResponse(status));
        break;
      }
      if (chunk === null || upgraded) break; // the client is done (an unfinished request is dropped)
      const c = current as Incoming | null;
      if (c && c.expectContinue && !continueSent) {
        continueSent = true;
        await sock.write(CONTINUE);
      }
    }
    sock.shutdown();
    await drain(sock);
  } catch {
    // The connection failed (reset, write to a closed socket): nothing more to do on it.
  } finally {
    sock.close();
  }
}

/** Reads what the client still sends after our FIN, for up to 2 s, so that closing does not reset the connection before it has read the response. */
async function drain(sock: Socket): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)));
  const reads = (async () => {
    for (let n = 0; n < 1 << 20;) {
      const c = await sock.read();
      if (c === null) return;
      n += c.length;
    }
  })();
  try {
    await Promise.race([reads, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the handler for one request and writes its response. Returns whether the connection stays open. */
async function respond(sock: Socket, inc: Incoming, handler: Handler, opts: ServeOptions): Promise<boolean> {
  let host = inc.headers.get("host");
  if (!host) host = opts.hostname.includes(":") ? `[${opts.hostname}]:${opts.port}` : `${opts.hostname}:${opts.port}`;
  let request: Request;
  try {
    const url = /^https?:\/\//i.test(inc.target) ? inc.target : inc.target.startsWith("/") ? `http://${host}${inc.target}` : inc.target === "*" ? `http://${host}/` : null;
    if (url === null) throw new Error("bad request target");
    const withBody = inc.method !== "GET" && inc.method !== "HEAD" && inc.size > 0;
    request = new Request(url, { method: inc.method, headers: inc.headers, body: withBody ? concat(inc.body, inc.size) : null });
  } catch {
    await sock.write(errorResponse(400));
    return false;
  }

  let response: Response | undefined;
  try {
    const r: unknown = await handler(request);
    if (!(r instanceof Response)) throw new TypeError(`the handler returned ${r === null ? "null" : typeof r}, not a Response`);
    if (r.type === "error") throw new TypeError("the handler returned Response.error()");
    if (r.bodyUsed) throw new TypeError("the handler returned a Response whose body was already read");
    response = r;
  } catch (err) {
    try {
      opts.onError?.(err);
    } catch {
      // onError itself failed: the client still gets its 500.
    }
  }
  if (!response) response = new Response("Internal Server Error\n", { status: 500 });

  let keepAlive = inc.keepAlive;
  const status = response.status;
  const connection = response.headers.get("connection");
  if (connection && /(^|,)\s*close\s*(,|$)/i.test(connection)) keepAlive = false;
  const noBody = status === 204 || status === 304 || status < 200;
  const body = noBody ? null : peekBody(response) ?? new Uint8Array(0);

  let head = `HTTP/1.1 ${status} ${response.statusText || REASONS[status] || "Unknown"}\r\n`;
  for (const [name, value] of response.headers) {
    if (name === "content-length" || name === "transfer-encoding" || name === "connection" || name === "keep-alive") continue;
    head += `${name}: ${value}\r\n`;
  }
  if (body) head += `content-length: ${body.length}\r\n`;
  if (!keepAlive) head += "connection: close\r\n";
  else if (inc.http10) head += "connection: keep-alive\r\n";
  head += "\r\n";
  const headBytes = latin1(head);
  if (!body || inc.method === "HEAD" || body.length === 0) await sock.write(headBytes);
  else if (body.length < 65536) await sock.write(concat([headBytes, body]));
  else {
    await sock.write(headBytes);
    await sock.write(body);
  }
  return keepAlive;
}

/** Accepts connections until accept() rejects (the listener was closed), serving each concurrently. */
export async function serve(listener: Listener, handler: Handler, opts: ServeOptions): Promise<void> {
  for (;;) {
    let sock: Socket;
    try {
      sock = await listener.accept();
    } catch {
      return;
    }
    void serveConnection(sock, handler, opts);
  }
}
