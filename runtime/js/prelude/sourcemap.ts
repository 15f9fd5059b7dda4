// Stack traces with TypeScript positions: QuickJS-NG calls Error.prepareStackTrace when an error
// is made; the frames in the bundle (main.js) are mapped through its source map (main.js.map in
// the root image, written by `ukernel build`), read and decoded on the first error that needs it.
// As in V8, the "Name: message" line is made when `stack` is first read, so a class that sets its
// name after super() shows it.
import { native } from "./native.ts";

interface Segment { col: number; src: number; line: number; srcCol: number }

let decoded: { sources: string[]; lines: Segment[][] } | null | undefined;

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function decode(text: string): { sources: string[]; lines: Segment[][] } | null {
  const map = JSON.parse(text) as { version?: number; sources?: string[]; mappings?: string };
  if (map.version !== 3 || !Array.isArray(map.sources) || typeof map.mappings !== "string") return null;
  const lines: Segment[][] = [];
  let src = 0, line = 0, srcCol = 0;
  for (const group of map.mappings.split(";")) {
    const segs: Segment[] = [];
    let col = 0;
    for (const seg of group.split(",")) {
      if (!seg) continue;
      const v: number[] = [];
      let shift = 0, value = 0;
      for (let i = 0; i < seg.length; i++) {
        const d = B64.indexOf(seg[i]!);
        if (d < 0) return null;
        value += (d & 31) << shift;
        if (d & 32) { shift += 5; continue; }
        v.push(value & 1 ? -(value >>> 1) : value >>> 1);
        shift = 0; value = 0;
      }
      col += v[0] ?? 0;
      if (v.length >= 4) {
        src += v[1]!; line += v[2]!; srcCol += v[3]!;
        segs.push({ col, src, line, srcCol });
      }
    }
    lines.push(segs);
  }
  return { sources: map.sources, lines };
}

function sourceMap() {
  if (decoded !== undefined) return decoded;
  decoded = null;
  try {
    const bytes = native.file("main.js.map");
    if (bytes) decoded = decode(new TextDecoder().decode(bytes));
  } catch {
    decoded = null;
  }
  return decoded;
}

/** `file:line:col` in the program's own sources where the map knows the bundle position. */
export function position(file: string, line: number, col: number): string {
  if (file === "main.js") {
    const map = sourceMap();
    const segs = map?.lines[line - 1];
    if (map && segs) {
      let best: Segment | undefined;
      for (const s of segs) {
        if (s.col <= col - 1) best = s; else break;
      }
      if (best) return `${map.sources[best.src]}:${best.line + 1}:${best.srcCol + 1}`;
    }
  }
  return line > 0 ? `${file}:${line}:${col}` : file;
}

interface CallSite {
  getFileName(): string | undefined;
  getFunctionName(): string | undefined;
  getLineNumber(): number;
  getColumnNumber(): number;
  isNative(): boolean;
}

function frames(sites: CallSite[]): string {
  let out = "";
  for (const s of sites) {
    if (s.getFileName() === "zigu:prelude") continue; // the runtime's own frames, as Node hides none of the program's
    const name = s.getFunctionName();
    const file = s.getFileName();
    const where = s.isNative() ? "native" : file ? position(file, s.getLineNumber(), s.getColumnNumber()) : "<anonymous>";
    out += name ? `\n    at ${name} (${where})` : `\n    at ${where}`;
  }
  return out;
}

function header(error: unknown): string {
  try {
    return Error.prototype.toString.call(error);
  } catch {
    return "Error";
  }
}

/** The unformatted trace an Error holds until its `stack` is first read. */
class PendingStack {
  constructor(readonly frames: string) {}
}

export function installStackTraces(): void {
  const desc = Object.getOwnPropertyDescriptor(Error.prototype, "stack");
  const capture = (Error as unknown as { captureStackTrace(target: object, fn?: unknown): void }).captureStackTrace;
  let capturing = false;
  (Error as unknown as { prepareStackTrace: unknown }).prepareStackTrace = (error: unknown, sites: CallSite[]) => {
    const text = frames(sites);
    if (capturing || !(error instanceof Error) || !desc?.get) return header(error) + text;
    return new PendingStack(text);
  };
  if (desc?.get && desc.set) {
    const get = desc.get, set = desc.set;
    Object.defineProperty(Error.prototype, "stack", {
      configurable: true,
      get(this: Error) {
        const raw = get.call(this) as unknown;
        // null: the engine could not build the trace (the stack was exhausted while it tried);
        // V8 still gives the error's line.
        if (raw === null) return header(this);
        if (!(raw instanceof PendingStack)) return raw;
        const text = header(this) + raw.frames;
        set.call(this, text);
        return text;
      },
      set(this: Error, v: unknown) {
        set.call(this, v);
      },
    });
  }
  (Error as unknown as { captureStackTrace: unknown }).captureStackTrace = function captureStackTrace(target: object, fn?: unknown) {
    capturing = true;
    try {
      capture.call(Error, target, fn);
    } finally {
      capturing = false;
    }
  };
}
