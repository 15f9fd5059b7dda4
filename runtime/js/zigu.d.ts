// The `zigu` module of the in-guest runtime (runtime/js/prelude/zigu.ts), for `ukernel build`'s
// type check: an ambient module, so this file has no top-level import or export.
declare module "zigu" {
  export type Capability = "log" | "time" | "task" | "io" | "net" | "random";
  /** The capabilities of the workload: the runtime enters all that ukernel.toml allows before the program's first line. */
  export const capabilities: {
    /** The capabilities active now. */
    active(): Capability[];
    /** Whether `capability` is active. */
    has(capability: Capability): boolean;
    /** Drops `capability` for good: no call that needs it works again in this workload. */
    drop(capability: Capability): void;
  };
  /**
   * How often this VM was restored from a snapshot (`ukernel run --snapshot`): 0 on a cold start.
   * The snapshot is taken once the program is loaded, before its first line runs; each restored
   * run gets fresh random state (Math.random, crypto) and clocks.
   */
  export function restores(): number;
  /** A negative result of an ABI call; `code` is the ABI's error number, `call` the call. */
  export class UkernelError extends Error {
    readonly code: number;
    readonly call: string;
  }
  /** ERR_PERMISSION: `capability` is not active; `key` is the ukernel.toml key that allows it. */
  export class CapabilityError extends UkernelError {
    readonly capability: Capability;
    readonly key: "capabilities.allow";
  }
  export class BadHandleError extends UkernelError {}
  export class BadPointerError extends UkernelError {}
  export class InvalidArgumentError extends UkernelError {}
  export class NoSpaceError extends UkernelError {}
  export class NoSuchCallError extends UkernelError {}
  export class UnsupportedError extends UkernelError {}
  export class ExistsError extends UkernelError {}
  /** ERR_NOT_FOUND: a host name the resolver has no IPv4 address for (or a resolver that did not answer). */
  export class NameNotFoundError extends UkernelError {}
  /** ERR_NOT_ALLOWED: a listen port or a destination outside ukernel.toml's [network] policy. */
  export class NetworkPolicyError extends UkernelError {}
  /** A connected TCP stream. */
  export interface Socket {
    /** The next chunk received, or null at the end of the stream. */
    read(): Promise<Uint8Array | null>;
    write(data: Uint8Array): Promise<void>;
    /** Sends FIN after the pending writes; reading goes on. */
    shutdown(): void;
    close(): void;
    readonly remoteAddress?: string;
    readonly remotePort?: number;
  }
  export interface Listener {
    accept(): Promise<Socket>;
    close(): void;
    readonly port: number;
  }
  /** TCP sockets, within the [network] policy (CAP_NET). */
  export const net: {
    listen(port: number, backlog?: number): Listener;
    /** To an IPv4 address or a host name ([network] dns resolves it; connect must still allow the address). */
    connect(host: string, port: number): Promise<Socket>;
    /** A host name's IPv4 addresses, dotted (an address resolves to itself). Fails with NameNotFoundError. */
    resolve(host: string): Promise<string[]>;
  };
  /** Serves `app.fetch` over HTTP/1.1 on `app.port`, $PORT, or the first [network] listen port. */
  export function serve(app: { fetch(request: Request): Response | Promise<Response>; port?: number }): Promise<void>;
}
