// The guest's HTTP layer: WHATWG Headers/Request/Response with bodies as bytes, an HTTP/1.1
// server and a fetch() client, over the abstract sockets of socket.ts.
import { createFetch } from "./fetch.ts";
import { Headers } from "./headers.ts";
import { Request } from "./request.ts";
import { Response } from "./response.ts";
import type { Connect } from "./socket.ts";

export { Headers, type HeadersInit } from "./headers.ts";
export { Request, type RequestInit, type RequestRedirect } from "./request.ts";
export { Response, type ResponseInit, type ResponseType } from "./response.ts";
export { type BodyInit } from "./body.ts";
export { serve, serveConnection, type Handler, type ServeOptions } from "./server.ts";
export { createFetch, type Fetch } from "./fetch.ts";
export type { Connect, Listener, Socket } from "./socket.ts";

/** Defines Headers, Request, Response and fetch on g as Node has them: writable, configurable, not enumerable. */
export function installHttpGlobals(g: object, { connect }: { connect: Connect }): void {
  const values: Record<string, unknown> = { Headers, Request, Response, fetch: createFetch(connect) };
  for (const [name, value] of Object.entries(values)) Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
}
