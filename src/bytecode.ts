/**
 * The bundle as QuickJS-NG bytecode: zigu-qjsc (runtime/js/compile.c, built for the host by
 * build.zig's `js-compiler` step from the same engine sources and flags as the guest's runtime)
 * compiles main.js into main.qjbc, which the runtime reads instead of parsing source at boot
 * (runtime/js/load.c; the format is runtime/js/bytecode.h).
 */
import { existsSync, readFileSync } from "node:fs";
import { relative } from "node:path";
import { run } from "./proc.ts";
import { UserError } from "./errors.ts";

/** The file of the root image the runtime looks for first. */
export const bytecodeFile = "main.qjbc";

/** zigu-qjsc as `zig build js-compiler -p <prefix>` installs it. */
export function compilerIn(prefix: string): string {
  return `${prefix}/bin/zigu-qjsc`;
}

/**
 * Compiles the ES module `input` to `output`; `moduleName` is the name stacks show (main.js, as
 * when the guest parses the source); `stripSource` leaves out the functions' source text
 * (runtime/js/compile.c says what that costs). A syntax error is a UserError naming the bundle's
 * file:line:column (`cwd`-relative) and, when the bundle has a source map (`input` + ".map",
 * sources relative to `cwd`), the program's own position first.
 */
export async function compileBytecode(compiler: string, input: string, output: string, opts: { moduleName?: string; cwd: string; stripSource?: boolean }): Promise<void> {
  const r = await run([compiler, ...(opts.stripSource ? ["--strip-source"] : []), input, output, opts.moduleName ?? "main.js"], { cwd: opts.cwd, timeoutMs: 5 * 60_000 });
  if (r.exitCode === 0) return;
  const message = (r.stderr.trim() || `zigu-qjsc exited with ${r.exitCode ?? r.signal}`).replaceAll(`${opts.cwd}/`, "");
  if (r.exitCode === 1) {
    const at = /^(.+):(\d+):(\d+): (.*)$/.exec(message);
    const source = at && existsSync(`${input}.map`) ? mapPosition(readFileSync(`${input}.map`, "utf8"), Number(at[2]), Number(at[3])) : undefined;
    throw new UserError(
      `compiling the bundle to QuickJS bytecode failed:\n${source && at ? `${source}: ${at[4]} (bundle ${at[1]}:${at[2]}:${at[3]})` : message}`,
      `QuickJS-NG 0.18 does not accept syntax there that esbuild let through (the bundle: ${relative(opts.cwd, input)})`,
    );
  }
  throw new UserError(`compiling the bundle to QuickJS bytecode failed:\n${message}`);
}

const base64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * `source:line:column` of a bundle position (1-based line and column) through a version-3 source
 * map: the last mapping at or before the column on that line; undefined where the map says nothing.
 */
export function mapPosition(mapText: string, line: number, column: number): string | undefined {
  let map: { version?: unknown; sources?: unknown; mappings?: unknown };
  try {
    map = JSON.parse(mapText) as typeof map;
  } catch {
    return undefined;
  }
  if (map.version !== 3 || !Array.isArray(map.sources) || typeof map.mappings !== "string") return undefined;
  const groups = map.mappings.split(";");
  let src = 0, srcLine = 0, srcCol = 0;
  let best: [number, number, number] | undefined;
  for (let g = 0; g < groups.length && g < line; g++) {
    let col = 0;
    for (const segment of groups[g]!.split(",")) {
      if (!segment) continue;
      const fields: number[] = [];
      let shift = 0, value = 0;
      for (const ch of segment) {
        const digit = base64.indexOf(ch);
        if (digit < 0) return undefined;
        value += (digit & 31) << shift;
        if (digit & 32) { shift += 5; continue; }
        fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
        shift = 0;
        value = 0;
      }
      col += fields[0] ?? 0;
      if (fields.length < 4) continue;
      src += fields[1]!;
      srcLine += fields[2]!;
      srcCol += fields[3]!;
      if (g === line - 1 && col <= column - 1) best = [src, srcLine, srcCol];
    }
  }
  const file = best && (map.sources as unknown[])[best[0]];
  return best && typeof file === "string" ? `${file}:${best[1] + 1}:${best[2] + 1}` : undefined;
}
