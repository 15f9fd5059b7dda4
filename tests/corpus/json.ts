// JSON edge cases: what stringify skips and converts, replacers and revivers, indentation,
// toJSON, escapes and lone surrogates, number round trips, deep nesting, and parse errors (their
// names: the message texts are the engine's own).
export {};

const log = console.log;

log("-- stringify: values");
log(JSON.stringify({ u: undefined, f() {}, s: Symbol("x"), n: null, nan: NaN, inf: -Infinity, z: -0, d: new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 6)) }));
log(JSON.stringify([undefined, () => 1, Symbol("y"), NaN, -0, 1e21, 1e-7, 123456789012345680000, 0.1 + 0.2, 5e-324, 1.7976931348623157e308]));
log(JSON.stringify(undefined), JSON.stringify(() => 1), JSON.stringify(Symbol()), JSON.stringify(null), JSON.stringify("s"), JSON.stringify(-0));
log(JSON.stringify(new Number(3)), JSON.stringify(new String("str")), JSON.stringify(new Boolean(false)), JSON.stringify(Object(1n) instanceof BigInt));
log(JSON.stringify({ map: new Map([[1, 2]]), set: new Set([1]), re: /x/g, err: new Error("e"), ta: new Uint8Array([1, 2]), ab: new ArrayBuffer(2) }));
log(JSON.stringify({ [Symbol("k")]: 1, 2: "two", b: "b", 1: "one", a: "a" }));
const arrWithProps = Object.assign([1, 2], { extra: true });
log(JSON.stringify(arrWithProps), JSON.stringify(Object.create({ inherited: 1 }, { own: { value: 2, enumerable: true }, hidden: { value: 3 } })));

log("-- stringify: escapes");
log(JSON.stringify("quote\" backslash\\ slash/ \b\f\n\r\t \u0000\u001f \u007f \u2028\u2029"));
log(JSON.stringify("lone \ud800 high, lone \udc00 low, pair \ud83e\udd80"), JSON.stringify("\udead\ud800"));
log(JSON.stringify({ "key with \"quotes\"": "é ü 中文 🦀" }));

log("-- stringify: indentation");
const nested = { a: [1, { b: 2 }, []], c: {}, d: "x", e: [[]] };
log(JSON.stringify(nested, null, 2));
log(JSON.stringify(nested, null, "--"));
log(JSON.stringify(nested, null, 20) === JSON.stringify(nested, null, 10), JSON.stringify([1], null, "abcdefghijklmnop"));
log(JSON.stringify(nested, null, 0), JSON.stringify(nested, null, ""), JSON.stringify([1, 2], null, -1), JSON.stringify({ a: 1 }, null, 1.9));

log("-- stringify: replacer and toJSON");
log(JSON.stringify({ a: 1, b: 2, c: { a: 3, d: 4 } }, ["a", "c"]));
log(JSON.stringify({ 1: "one", 2: "two" }, [1, "2", 1]));
const calls: string[] = [];
log(JSON.stringify({ x: 1, y: [2, { z: 3 }] }, function (this: unknown, key: string, value: unknown) {
  calls.push(`${JSON.stringify(key)}:${Array.isArray(this) ? "array" : typeof this}`);
  return typeof value === "number" ? value * 10 : value;
}));
log(calls.join(" "));
log(JSON.stringify({ when: { toJSON(key: string) { return `toJSON(${key})`; } }, list: [{ toJSON: () => undefined }] }));
log(JSON.stringify({ big: 10n }, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)));
try {
  JSON.stringify({ big: 1n });
} catch (e) {
  log("BigInt:", (e as Error).name);
}
const cyclic: Record<string, unknown> = { name: "cycle" };
cyclic.self = cyclic;
try {
  JSON.stringify(cyclic);
} catch (e) {
  log("cycle:", (e as Error).name);
}

log("-- parse");
log(JSON.parse(' { "a" : [ 1 , -0 , 1E2 , 1e-2 , 0.5 , -1.5e+3 ] , "b" : { } , "c" : "\\u00e9\\n\\/" } '));
log(Object.is(JSON.parse("-0"), -0), JSON.parse("1e400"), JSON.parse("-1e400"), JSON.parse("123456789012345678901234567890"));
log(JSON.parse('"\\ud83e\\udd80"'), JSON.parse('"\\ud800"').length, JSON.parse('{"a":1,"a":2}'), JSON.parse("[]"), JSON.parse("null"));
const proto = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}');
log(Object.keys(proto), Object.getPrototypeOf(proto) === Object.prototype, ({} as Record<string, unknown>).polluted);
const revived: string[] = [];
log(JSON.parse('{"a":1,"b":{"c":2,"d":[3,4]},"e":"drop"}', function (this: unknown, k: string, v: unknown) {
  revived.push(k === "" ? "(root)" : k);
  if (k === "e") return undefined;
  return typeof v === "number" ? v + 100 : v;
}));
log(revived.join(" "));
log(JSON.parse('"2020-01-02T03:04:05.006Z"', (_k, v) => (typeof v === "string" ? new Date(v).getTime() : v)));
for (const bad of ["", "{", "[1,]", "{'a':1}", '{"a":1,}', "01", "1.", ".5", "+1", "NaN", "undefined", '"\t"', '"\\x41"', "[1] x", "\u00a01"]) {
  try {
    JSON.parse(bad);
    log(JSON.stringify(bad), "parsed");
  } catch (e) {
    log(JSON.stringify(bad), (e as Error).name);
  }
}
log(JSON.parse(" \t\n\r1 \t\n\r"), JSON.parse('"\\"\\\\\\/\\b\\f\\n\\r\\t"').length);

log("-- round trips");
const numbers = [0, -0, 1, -1, 0.1, 1 / 3, 2 ** 53, 2 ** 53 + 2, -(2 ** 31), 1e21, 1e-6, 1e-7, 123.456, 9007199254740993, 4.35, 0.000001234, 5e-324, Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON];
log(numbers.map((n) => JSON.stringify(n)).join(" "));
log(numbers.every((n) => Object.is(JSON.parse(JSON.stringify(n)), n === 0 ? 0 : n)));
let deep: unknown = "bottom";
for (let i = 0; i < 500; i++) deep = { d: [deep] };
const deepText = JSON.stringify(deep);
log(deepText.length, deepText.slice(0, 30), JSON.stringify(JSON.parse(deepText)) === deepText);
const wide = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i % 7 === 0 ? null : i]));
const wideText = JSON.stringify(wide);
log(wideText.length, wideText.slice(-40), Object.keys(JSON.parse(wideText)).length);
log(JSON.stringify(JSON.parse(JSON.stringify({ s: "\u2028\u2029", e: "", n: [null, true, false] }))));
log(JSON[Symbol.toStringTag], Object.keys(JSON), typeof JSON.parse);
log("-- done");
