// Classes: fields and their initialization order, private fields and methods, `#x in obj`,
// static blocks, accessors, inheritance and super, new.target, Symbol.toPrimitive, and how
// console.log shows instances (private fields are not shown).
export {};

const log = console.log;
const trace: string[] = [];

class Base {
  static count = 0;
  static {
    trace.push("Base static block");
  }
  field = (trace.push("Base field"), "base");
  #secret: number;
  constructor(secret: number) {
    trace.push(`Base constructor (new.target ${new.target.name})`);
    this.#secret = secret;
    Base.count++;
  }
  get secret(): number {
    return this.#secret;
  }
  set secret(v: number) {
    if (v < 0) throw new RangeError("negative secret");
    this.#secret = v;
  }
  #double(): number {
    return this.#secret * 2;
  }
  doubled(): number {
    return this.#double();
  }
  static hasSecret(o: object): boolean {
    return #secret in o;
  }
  describe(): string {
    return `Base(${this.#secret})`;
  }
  toString(): string {
    return this.describe();
  }
}

class Derived extends Base {
  static {
    trace.push("Derived static block");
  }
  extra = (trace.push("Derived field"), "derived");
  #own = "own private";
  constructor(secret: number, readonly label: string) {
    trace.push("Derived constructor before super");
    super(secret);
    trace.push("Derived constructor after super");
  }
  override describe(): string {
    return `Derived<${this.label}> of ${super.describe()} with ${this.#own}`;
  }
  static override hasSecret(o: object): boolean {
    return super.hasSecret(o) && #own in o;
  }
}

log("-- construction order");
const b = new Base(3);
const d = new Derived(5, "five");
log(trace.join(" | "));
log(b.describe(), d.describe(), String(d), `${b}`);
log("count", Base.count, Derived.count, Object.hasOwn(Derived, "count"));

log("-- private fields and methods");
log(b.secret, d.secret, b.doubled(), d.doubled());
d.secret = 11;
log(d.secret, d.doubled());
try {
  d.secret = -1;
} catch (e) {
  log("setter threw", (e as Error).name, (e as Error).message);
}
log(Base.hasSecret(b), Base.hasSecret(d), Base.hasSecret({}), Derived.hasSecret(d), Derived.hasSecret(b));
log(Object.keys(d), JSON.stringify(d));
log(Object.getOwnPropertyNames(Base.prototype), Object.getOwnPropertyNames(Derived.prototype));
try {
  Base.prototype.doubled.call({});
} catch (e) {
  log("private access on a foreign object:", (e as Error).name);
}

log("-- console.log of instances");
log(b);
log(d);
log([b, { nested: d }]);
class Empty {}
log(new Empty(), Empty.name, typeof Empty);
class WithTag {
  get [Symbol.toStringTag](): string {
    return "Tagged";
  }
  value = 1;
}
log(String(new WithTag()), Object.prototype.toString.call(new WithTag()));

log("-- static members, accessors, computed names");
const key = "computed";
class Statics {
  static #instances = 0;
  static readonly created: string[] = [];
  static make(name: string): Statics {
    Statics.#instances++;
    Statics.created.push(name);
    return new Statics(name);
  }
  static get instances(): number {
    return Statics.#instances;
  }
  [key]() {
    return "computed method";
  }
  static ["computedStatic"] = "computed static";
  constructor(readonly name: string) {}
}
Statics.make("a");
Statics.make("b");
log(Statics.instances, Statics.created, new Statics("c")[key](), (Statics as unknown as Record<string, string>)["computedStatic"]);

log("-- new.target, abstract-like bases, instanceof");
class Shape {
  constructor() {
    if (new.target === Shape) throw new TypeError("Shape is abstract");
  }
  area(): number {
    return 0;
  }
}
class Square extends Shape {
  constructor(readonly side: number) {
    super();
  }
  override area(): number {
    return this.side ** 2;
  }
}
try {
  new Shape();
} catch (e) {
  log((e as Error).message);
}
const sq = new Square(4);
log(sq.area(), sq instanceof Square, sq instanceof Shape, sq instanceof Object, Object.getPrototypeOf(Square) === Shape);
class Even {
  static [Symbol.hasInstance](n: unknown): boolean {
    return typeof n === "number" && n % 2 === 0;
  }
}
const two: unknown = 2;
const three: unknown = 3;
log((two as object) instanceof (Even as unknown as typeof Object), (three as object) instanceof (Even as unknown as typeof Object));

log("-- Symbol.toPrimitive, valueOf, iterators on classes");
class Money {
  constructor(readonly cents: number) {}
  [Symbol.toPrimitive](hint: string): string | number {
    return hint === "number" ? this.cents / 100 : `$${(this.cents / 100).toFixed(2)}`;
  }
}
const m = new Money(1234);
log(`${m}`, +m, String(m), m.cents);
class Countdown {
  constructor(private from: number) {}
  *[Symbol.iterator]() {
    while (this.from > 0) yield this.from--;
  }
}
log([...new Countdown(4)]);

log("-- extending built-ins");
class Stack<T> extends Array<T> {
  peek(): T | undefined {
    return this[this.length - 1];
  }
}
const s = new Stack<number>();
s.push(1, 2, 3);
log(s.peek(), s.length, s instanceof Array, Array.isArray(s), s.map((x) => x * 2) instanceof Stack);
class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "HttpError";
  }
}
const he = new HttpError(404, "not found");
log(he.name, he.message, he.status, he instanceof Error, String(he), Object.prototype.toString.call(he));
class Counter extends Map<string, number> {
  add(k: string): this {
    return this.set(k, (this.get(k) ?? 0) + 1);
  }
}
const c = new Counter().add("x").add("y").add("x");
log([...c], c.size);

log("-- accessors and property descriptors");
class Temp {
  #c = 0;
  get f(): number {
    return this.#c * 9 / 5 + 32;
  }
  set f(v: number) {
    this.#c = (v - 32) * 5 / 9;
  }
}
const t = new Temp();
t.f = 212;
log(t.f, Object.getOwnPropertyDescriptor(Temp.prototype, "f")?.get !== undefined, Object.keys(t));
log(Object.getOwnPropertyDescriptor(Base, "count"));
log("-- done");
