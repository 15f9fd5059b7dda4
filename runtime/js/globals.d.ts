// The globals of Zigu's in-guest JavaScript runtime (runtime/js/runtime.c), for `ukernel build`'s
// type check: the program is checked against ES2023 and these, not against Node's types, so an
// import of `fs` or another `node:` module fails the build instead of failing in the microVM.
declare global {
  interface Console {
    log(...data: unknown[]): void;
    info(...data: unknown[]): void;
    debug(...data: unknown[]): void;
    warn(...data: unknown[]): void;
    error(...data: unknown[]): void;
  }
  var console: Console;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the same shape as lib.dom's
  function setTimeout(callback: (...args: any[]) => void, ms?: number, ...args: any[]): number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  function setInterval(callback: (...args: any[]) => void, ms?: number, ...args: any[]): number;
  function clearTimeout(id: number | undefined): void;
  function clearInterval(id: number | undefined): void;
  function queueMicrotask(callback: () => void): void;
  var process: {
    /** Ends the workload at once with `code` (default: process.exitCode, else 0). */
    exit(code?: number): never;
    /** The status the workload ends with when nothing is left to run. */
    exitCode: number | undefined;
  };
}
export {};
