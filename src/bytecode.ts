/**
 * The bundle as QuickJS-NG bytecode: zigu-qjsc (runtime/js/compile.c, built for the host by
 * build.zig's `js-compiler` step from the same engine sources and flags as the guest's runtime)
 * compiles main.js into main.qjbc, which the runtime reads instead of parsing source at boot
 * (runtime/js/load.c; the format is runtime/js/bytecode.h).
 */
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
 * file:line:column (`cwd`-relative).
 */
export async function compileBytecode(compiler: string, input: string, output: string, opts: { moduleName?: string; cwd: string; stripSource?: boolean }): Promise<void> {
  const r = await run([compiler, ...(opts.stripSource ? ["--strip-source"] : []), input, output, opts.moduleName ?? "main.js"], { cwd: opts.cwd, timeoutMs: 5 * 60_000 });
  if (r.exitCode === 0) return;
  const message = (r.stderr.trim() || `zigu-qjsc exited with ${r.exitCode ?? r.signal}`).replaceAll(`${opts.cwd}/`, "");
  if (r.exitCode === 1) {
    throw new UserError(
      `compiling the bundle to QuickJS bytecode failed:\n${message}`,
      `the position is in the bundle ${relative(opts.cwd, input)}; QuickJS-NG 0.18 does not accept syntax there that esbuild let through`,
    );
  }
  throw new UserError(`compiling the bundle to QuickJS bytecode failed:\n${message}`);
}
