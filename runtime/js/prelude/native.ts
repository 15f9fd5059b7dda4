// The primitives runtime.c gives the prelude (`__zigu`, removed from the global once taken).
import type { NetBackend } from "./net.ts";

/** With the sockets' primitives (watch, tcpListen, tcpConnect, sock, send, recv: net.ts). */
export interface Native extends NetBackend {
  /** Text to fd 1 or 2, line-buffered (a line goes out at its newline or at the end); the ABI's result. */
  write(fd: number, text: string): number;
  /** A clock (CLOCK_*) in nanoseconds, or a negative error code. */
  clock(which: number): number;
  /** Fills the array with random bytes; 0 or a negative error code. */
  random(bytes: Uint8Array): number;
  /** The capabilities active now, as a bit set of their kinds (1 << CAP_*). */
  caps(): number;
  /** How often this VM was restored from a snapshot taken at the ready point (0: a cold start). */
  restores(): number;
  /** Drops a capability for good; the ABI's result. */
  capDrop(kind: number): number;
  /** A root-image file (a copy of its bytes), or undefined. */
  file(name: string): ArrayBuffer | undefined;
  /** A promise's state (0 pending, 1 fulfilled, 2 rejected) and result. */
  promise(p: Promise<unknown>): [number, unknown];
  /** A Map or Set iterator's entries not yet yielded and whether they are pairs, else undefined. */
  preview(iterator: unknown): [unknown[], boolean] | undefined;
  /** Ends the workload with `code` (default: process.exitCode). */
  exit(code?: number): never;
  /** Asks the loop to call the tick runner before the next Promise jobs. */
  requestTicks(): void;
  /** The tick runner (process.nextTick's queue) and the reporter of uncaught errors. */
  setHooks(runTicks: () => void, report: (error: unknown) => void): void;
}

const g = globalThis as unknown as { __zigu?: Native };
export const native: Native = g.__zigu!;
delete g.__zigu;
