// WHATWG Headers (https://fetch.spec.whatwg.org/#headers-class): names are case-insensitive,
// values are byte strings (one character per byte, as Latin-1), iteration is sorted by lower-case
// name with the values of one name combined by ", ", except Set-Cookie, whose values come one by one.

export type HeadersInit = Headers | Iterable<Iterable<string>> | Record<string, string>;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HTTP_WS = /^[\t\n\r ]+|[\t\n\r ]+$/g;

export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

function checkName(op: string, name: unknown): string {
  const n = String(name);
  if (!TOKEN.test(n)) throw new TypeError(`Headers.${op}: "${n}" is an invalid header name.`);
  return n.toLowerCase();
}

function checkValue(op: string, name: string, value: unknown): string {
  const v = String(value).replace(HTTP_WS, "");
  // eslint-disable-next-line no-control-regex
  if (/[\0\r\n]|[^\0-\xff]/.test(v)) throw new TypeError(`Headers.${op}: "${v}" is an invalid header value for "${name}".`);
  return v;
}

interface Entry { values: string[] }

/** Marks a Headers object read-only (the guard "immutable": Response.error/redirect, fetched responses). */
export let freezeHeaders: (h: Headers) => void;

export class Headers {
  readonly #map = new Map<string, Entry>();
  #immutable = false;

  static {
    freezeHeaders = (h) => void (h.#immutable = true);
  }

  constructor(init?: HeadersInit) {
    if (init === undefined || init === null) return;
    if (typeof init !== "object" && typeof init !== "function") throw new TypeError("Headers constructor: expected an object, a sequence of pairs or a record");
    if (init instanceof Headers) {
      for (const [k, e] of init.#map) this.#map.set(k, { values: [...e.values] });
    } else if (Symbol.iterator in init) {
      for (const pair of init as Iterable<Iterable<string>>) {
        if (typeof pair !== "object" || pair === null || !(Symbol.iterator in pair)) throw new TypeError("Headers constructor: each header must be a [name, value] pair");
        const p = [...pair];
        if (p.length !== 2) throw new TypeError(`Headers constructor: expected name/value pair to be length 2, found ${p.length}.`);
        this.append(p[0]!, p[1]!);
      }
    } else {
      for (const key of Reflect.ownKeys(init)) {
        const desc = Reflect.getOwnPropertyDescriptor(init, key);
        if (!desc?.enumerable) continue;
        if (typeof key === "symbol") throw new TypeError("Headers constructor: a header name cannot be a symbol");
        this.append(key, (init as Record<string, string>)[key]!);
      }
    }
  }

  #write(): void {
    if (this.#immutable) throw new TypeError("immutable");
  }

  append(name: string, value: string): void {
    const k = checkName("append", name);
    const v = checkValue("append", String(name), value);
    this.#write();
    const e = this.#map.get(k);
    if (e) e.values.push(v);
    else this.#map.set(k, { values: [v] });
  }

  set(name: string, value: string): void {
    const k = checkName("set", name);
    const v = checkValue("set", String(name), value);
    this.#write();
    this.#map.set(k, { values: [v] });
  }

  delete(name: string): void {
    const k = checkName("delete", name);
    this.#write();
    this.#map.delete(k);
  }

  get(name: string): string | null {
    const e = this.#map.get(checkName("get", name));
    return e ? e.values.join(", ") : null;
  }

  has(name: string): boolean {
    return this.#map.has(checkName("has", name));
  }

  getSetCookie(): string[] {
    return [...(this.#map.get("set-cookie")?.values ?? [])];
  }

  /** The sort-and-combine of the standard. */
  #list(): [string, string][] {
    const out: [string, string][] = [];
    for (const k of [...this.#map.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const e = this.#map.get(k)!;
      if (k === "set-cookie") for (const v of e.values) out.push([k, v]);
      else out.push([k, e.values.join(", ")]);
    }
    return out;
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    if (typeof callback !== "function") throw new TypeError("Headers.forEach: the callback must be a function");
    for (const [k, v] of this.#list()) callback.call(thisArg, v, k, this);
  }

  *entries(): IterableIterator<[string, string]> {
    yield* this.#list();
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.#list()) yield k;
  }

  *values(): IterableIterator<string> {
    for (const [, v] of this.#list()) yield v;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return "Headers";
  }
}
