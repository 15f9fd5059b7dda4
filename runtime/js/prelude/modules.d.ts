// Types for the prelude's npm packages that ship none (or none their "exports" reach).
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
  export function setErrorHandler(handler: ((error: unknown) => void) | undefined): void;
  export function setWarningHandler(handler: ((warning: unknown) => void) | undefined): void;
  export function getEventAttributeValue(target: EventTarget, type: string): unknown;
  export function setEventAttributeValue(target: EventTarget, type: string, callback: ((event: Event) => unknown) | null): void;
}
