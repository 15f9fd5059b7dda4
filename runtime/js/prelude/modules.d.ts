// Types for the prelude's npm packages that ship none (or none their "exports" reach).
declare module "@ungap/structured-clone" {
  const structuredClone: (value: unknown, options?: { transfer?: unknown[]; json?: boolean; lossy?: boolean }) => unknown;
  export default structuredClone;
}
declare module "event-target-shim" {
  export class Event {
    constructor(type: string, init?: { bubbles?: boolean; cancelable?: boolean; composed?: boolean });
    readonly type: string;
  }
  export class EventTarget {
    addEventListener(type: string, listener: unknown, options?: unknown): void;
    removeEventListener(type: string, listener: unknown, options?: unknown): void;
    dispatchEvent(event: Event): boolean;
  }
}
