// console.log formatting as Node prints it (util.format and util.inspect): format substitutions,
// primitives at the top level and nested, objects and arrays (line breaking at 80 columns,
// depth, long arrays), functions and classes, symbols, getters, circular references, sparse
// arrays, boxed primitives, null prototypes. Errors are left out: their stacks are the engine's.
export {};

const log = console.log;

log("-- substitutions");
log("%s is %d years and %i days", "Zigu", 1.5, 42.9);
log("%s %s %s %s %s", 1n, Symbol("s"), null, undefined, -0);
log("%s", { a: 1 }, "%s", [1, [2]]);
log("%d %d %d %d %i", "42", "x", 10n, -0, 3.99);
log("%f %f %f", "1.5", 2, "abc");
log("%j", { json: [1, "two"] });
log("%o", { a: [1, 2], b: "s" });
log("%O", { deep: { er: { est: { x: 1 } } } });
log("%c styled %c", "color: red", "font-weight: bold");
log("100%% sure, %x is not a format, %", 1);
log("%s");
log("no substitutions", "%s", 5);
log(5, "%s", "five");

log("-- primitives");
log("top-level strings are raw", 'quote\'s', "new\nline");
log(1, -1, 0, -0, 1.5, NaN, Infinity, -Infinity, 1e21, 10n, true, false, null, undefined);
log(Symbol("desc"), Symbol(), Symbol.iterator, Symbol.for("registered"));
log(["strings 'inside' are quoted", "with \"double\" and 'single'", "and `back`", "new\nline", "tab\t", "\u0001"]);
log([1, -0, 0, NaN, 2n, true, null, undefined]);

log("-- objects and arrays");
log({});
log([]);
log({ a: 1, b: "two", c: [3], d: { e: null } });
log({ "key with space": 1, valid_id: 2, "3d": 3, 42: "num", "é": 5, $ok: 6 });
log({ [Symbol("sym")]: "symbol key", regular: 1 });
log({ nested: { level2: { level3: { level4: "too deep" } } }, arr: [[[["deep array"]]]] });
log([1, 2, 3].map((n) => ({ id: n, name: `item ${n}`, tags: ["a", "b"] })));
log(Array.from({ length: 30 }, (_, i) => i * 1000));
log(Array.from({ length: 120 }, (_, i) => i));
log(Array.from({ length: 8 }, (_, i) => "word".repeat(i + 1)));
log({ longString: "x".repeat(100), short: "y" });
log("x".repeat(200));
log({ multiline: "first line\nsecond line" });
log([, 1, , , 2, , ]); // eslint-disable-line no-sparse-arrays
log(Object.assign([1, 2], { extra: "prop" }));
log(new Array(5));

log("-- functions and classes");
function named() {}
const arrow = () => {};
async function asyncFn() {}
function* genFn() {}
class Klass {}
class SubKlass extends Klass {}
log(named, arrow, asyncFn, genFn, Klass, SubKlass);
log([named, { method() {}, arrow }]);
log(Object.assign(function withProps() {}, { prop: 1 }));
log((() => {}).name === "", [() => {}]);

log("-- special objects");
const circular: Record<string, unknown> = { name: "root" };
circular.self = circular;
circular.child = { parent: circular };
log(circular);
log(Object.create(null));
log(Object.assign(Object.create(null), { x: 1 }));
log({ get getter() { return 1; }, set setter(_v: number) {}, get both() { return 2; }, set both(_v: number) {} });
log([new Number(3), new String("str"), new Boolean(false), Object(Symbol("boxed")), Object(5n)]);
log(/regex/gi, [/in array/]);
log(new Date(0), [new Date(86400000)]);
log(globalThis.undefined, typeof globalThis);
log(Promise.resolve(42), new Promise(() => {}), Promise.resolve([1, { two: 2 }]));
log(new Map([["a", [1, 2]]]), new Set(["x"]), new WeakMap());
log([Symbol.for("in array")], { s: Symbol("in object") });
log(Object.freeze({ frozen: true }), Object.seal([1]));
log(Math, JSON);
log(Object.defineProperty({ visible: 1 }, "hidden", { value: 2, enumerable: false }));
log({ undefined: undefined, null: null, fn: named, cls: Klass, sym: Symbol("v") });
class WithToString { toString() { return "custom toString"; } }
log(new WithToString(), `${new WithToString()}`, String(new WithToString()));
class Point { constructor(public x: number, public y: number) {} }
log(new Point(1, 2), [new Point(3, 4)], { p: new Point(5, 6) });
log(Object.create(Point.prototype));
const args = (function (..._a: number[]) { return arguments; })(1, 2);
log(args);

log("-- console methods");
console.info("info", { x: 1 });
console.debug("debug", [1]);
log("-- done");
