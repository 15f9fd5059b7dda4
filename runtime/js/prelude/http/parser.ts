// http-parser-js (pure JavaScript, CommonJS, no require() of its own) made to run without Node's
// Buffer. It uses exactly two Buffer methods on what execute() is given: toString(encoding, start,
// end) for the start line and the headers, and slice(start, end) for body chunks. A Uint8Array
// subclass with a Latin-1 toString is all it needs (slice() of a subclass makes the subclass).
// Header bytes decode as Latin-1, one character per byte: the "byte strings" of the Fetch standard.
import httpParser from "http-parser-js";

export class ParserChunk extends Uint8Array {
  // The parser asks for "ascii"; Latin-1 keeps bytes >= 0x80 as they are.
  override toString(_encoding?: string, start = 0, end = this.length): string {
    let s = "";
    for (let i = start; i < end; i += 8192) s += String.fromCharCode.apply(null, this.subarray(i, Math.min(end, i + 8192)) as unknown as number[]);
    return s;
  }
}

/** The request or response head the parser reports (http-parser-js's "info", compatibility mode 0.12). */
export interface HeadInfo {
  versionMajor: number;
  versionMinor: number;
  headers: string[]; // name, value, name, value...
  method?: number; // an index into methods
  url?: string;
  statusCode?: number;
  statusMessage?: string;
  upgrade: boolean;
  shouldKeepAlive: boolean;
}

export interface Parser {
  execute(chunk: Uint8Array): number | Error;
  finish(): void | Error;
  [k: number]: (...args: never[]) => unknown;
  [k: string]: unknown;
}

interface ParserModule {
  HTTPParser: {
    new (type: string): Parser;
    REQUEST: string;
    RESPONSE: string;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
  };
  methods: string[];
}

const m = httpParser as unknown as ParserModule;
export const methods = m.methods;
const HTTPParser = m.HTTPParser;

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface ParserEvents {
  /** Returning true skips the body (a response to HEAD). Throwing stops the parse: execute() returns the error. */
  head(info: HeadInfo): boolean | void;
  body(chunk: Uint8Array): void;
  done(): void;
}

const CHUNK_SIZE = /^([0-9a-fA-F]{1,15})[ \t]*(;.*)?$/;

export function createParser(kind: "request" | "response", on: ParserEvents): { execute(chunk: Uint8Array): Error | null; finish(): Error | null } {
  const p = new HTTPParser(kind === "request" ? HTTPParser.REQUEST : HTTPParser.RESPONSE);
  p[HTTPParser.kOnHeadersComplete] = (info: HeadInfo) => (on.head(info) ? 1 : 0);
  p[HTTPParser.kOnBody] = (chunk: Uint8Array, offset: number, length: number) => on.body(chunk.subarray(offset, offset + length));
  p[HTTPParser.kOnMessageComplete] = () => on.done();
  // The parser takes a chunk size of "zz" as 0 (parseInt): refuse what is not hexadecimal.
  p.BODY_CHUNKHEAD = function (this: Parser & { consumeLine(): string | undefined; body_bytes: number; state: string }) {
    const line = this.consumeLine();
    if (line === undefined) return;
    const size = CHUNK_SIZE.exec(line);
    if (!size) throw new HttpError(400, "invalid chunk size");
    this.body_bytes = parseInt(size[1]!, 16);
    this.state = this.body_bytes ? "BODY_CHUNK" : "BODY_CHUNKTRAILERS";
  };
  return {
    execute(chunk) {
      try {
        const r = p.execute(new ParserChunk(chunk.buffer as ArrayBuffer, chunk.byteOffset, chunk.byteLength));
        return r instanceof Error ? r : null;
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    },
    finish() {
      try {
        return p.finish() ?? null;
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    },
  };
}

/** The message's body framing, checked more strictly than the parser does (request smuggling). */
export function checkFraming(headers: string[], maxBody: number): void {
  let length: string | null = null, chunked = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase(), value = headers[i + 1]!.trim();
    if (name === "content-length") {
      if (!/^\d+$/.test(value) || (length !== null && length !== value)) throw new HttpError(400, "invalid Content-Length");
      length = value;
    } else if (name === "transfer-encoding") {
      if (value.toLowerCase() !== "chunked" || chunked) throw new HttpError(400, "unsupported Transfer-Encoding");
      chunked = true;
    }
  }
  if (chunked && length !== null) throw new HttpError(400, "both Content-Length and Transfer-Encoding");
  if (length !== null && Number(length) > maxBody) throw new HttpError(413, "body too large");
}
