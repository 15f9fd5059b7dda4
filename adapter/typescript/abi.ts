/**
 * The Zigu ABI for JavaScript on the host: koffi bindings to libukernel_abi.so. Numbers come from
 * src/abi.generated.ts (generated from abi/spec.ts). Negative results throw UkernelError
 * subclasses. The library reads its policy (UKERNEL_CAPS) on the first call: set it before.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import * as n from "../../src/abi.generated.ts";
import { repoRoot } from "../../src/zig.ts";

export { n as numbers };

// The error classes, one per code, are generated from abi/spec.ts with the numbers.
export { UkernelError, CapabilityError, BadHandleError, BadPointerError, InvalidArgumentError, NoSpaceError, NoSuchCallError, UnsupportedError, ExistsError } from "../../src/abi.generated.ts";
const { errorFor } = n;

export function libraryPath(): string {
  const p = process.env.UKERNEL_ABI_LIB ?? join(repoRoot, "zig-out", "lib", "libukernel_abi.so");
  if (!existsSync(p)) throw new Error(`${p}: libukernel_abi.so not built (zig build, or set UKERNEL_ABI_LIB)`);
  return p;
}

type Fn = (...args: unknown[]) => bigint;

export class Abi {
  private readonly fns: Record<string, Fn>;

  constructor(path = libraryPath()) {
    // koffi is loaded lazily: only host runs need it.
    const koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi");
    const lib = koffi.load(path);
    koffi.struct("uk_event", { user_data: "uint64_t", events: "uint32_t", reserved: "uint32_t" });
    koffi.struct("uk_iovec", { ptr: "uint64_t", len: "uint64_t" });
    // The generated C prototypes, less the two that never return (exit ends the process).
    const decl = Object.entries(n.ffiPrototypes).filter(([name]) => name !== "exit" && name !== "task_exit").map(([, proto]) => proto);
    this.fns = {};
    for (const d of decl) {
      const name = /uk_(\w+)\(/.exec(d)![1]!;
      const f = lib.func(d);
      this.fns[name] = (...args: unknown[]) => BigInt(f(...args) as number | bigint);
    }
  }

  private call(name: string, ...args: unknown[]): bigint {
    const r = this.fns[name]!(...args);
    if (r < 0n) throw errorFor(name, Number(r));
    return r;
  }

  enter(...kinds: number[]): void {
    const handles = kinds.map((k) => this.call("cap_acquire", k));
    this.call("cap_enter", handles, BigInt(handles.length));
  }
  capDrop(kind: number): void {
    this.call("cap_drop", kind);
  }
  log(msg: string, level = n.LOG_INFO): void {
    const bytes = Buffer.from(msg);
    this.call("log", level, bytes, BigInt(bytes.length));
  }
  nowNs(): bigint {
    return this.call("clock_now", n.CLOCK_MONOTONIC);
  }
  timerCreate(): bigint {
    return this.call("timer_create");
  }
  timerArm(timer: bigint, delayNs: bigint, periodNs = 0n): void {
    this.call("timer_arm", timer, delayNs, periodNs);
  }
  register(handle: bigint, interest: number, userData: bigint): void {
    this.call("io_register", handle, interest, userData);
  }
  /** Waits (blocking this thread) for up to `timeoutNs` (-1: for ever); returns the events. */
  poll(max: number, timeoutNs: bigint): { user_data: bigint; events: number }[] {
    const out = Array.from({ length: max }, () => ({ user_data: 0n, events: 0, reserved: 0 }));
    const count = Number(this.call("io_poll", out, BigInt(max), timeoutNs));
    return out.slice(0, count).map((e) => ({ user_data: BigInt(e.user_data), events: e.events }));
  }
  /** A socket call's raw result (a handle, a count, or a negative error code): net.ts checks it. */
  raw(name: string, ...args: unknown[]): number {
    return Number(this.fns[name]!(...args));
  }
  unregister(handle: bigint): void {
    this.call("io_unregister", handle);
  }
  close(handle: bigint): void {
    this.call("handle_close", handle);
  }
  random(len: number): Buffer {
    const buf = Buffer.alloc(len);
    this.call("random", buf, BigInt(len));
    return buf;
  }
}
