// Number formatting and parsing: the shortest round-trip String(n), toFixed, toPrecision and
// toExponential (exact by the specification, ties included), exponent forms, -0, NaN, Infinity,
// integer radix conversions, parseFloat/parseInt/Number on odd inputs.
export {};

const log = console.log;
const samples = [0, -0, 1, -1, 0.1, 0.5, 1.5, 2.5, -2.5, 1.005, 1.45, 1.55, 123.456, 0.000001, 0.0000001, 1e21, 1e-7, 123456789, 1234.5678, 5e-324, 1.7976931348623157e308, 2 ** 53, 0.1 + 0.2, 1 / 3, 2 / 3, 100, 1e100, 4.35, 8.345, 0.045, NaN, Infinity, -Infinity];

log("-- String(n)");
log(samples.map(String).join(" "));
log([1e20, 1e21, 123e18, 1.5e-6, 1.5e-7, 0.00001, 1e-6, 12345678901234567890, 2 ** 64, 2 ** -30, -1e-7, 1e300 * 10, 9.999999999999999e22, 5e-7].map(String).join(" "));
log([0.1 * 3, 0.7 + 0.1, 1.1 * 1.1, 3 * 1.1, 0.3 - 0.1, 1e16 + 1, 9007199254740993, 4.35 * 100, 1.15 * 100, 123.456e5].map(String).join(" "));

log("-- toFixed");
for (const digits of [0, 1, 2, 5, 20]) log(digits, samples.map((n) => n.toFixed(digits)).join(" "));
log((1e21).toFixed(2), (1e20).toFixed(2), (-1.5e-10).toFixed(3), (0.5).toFixed(0), (1.5).toFixed(0), (-0.5).toFixed(0), (2.345).toFixed(2), (2.675).toFixed(2), (1.45).toFixed(1), (8.575).toFixed(2));
log((123.456).toFixed(100).length, (0.1).toFixed(25), (2 ** -20).toFixed(30));

log("-- toPrecision");
for (const p of [1, 2, 3, 6, 10, 21]) log(p, samples.map((n) => n.toPrecision(p)).join(" "));
log((123456).toPrecision(2), (0.00001234).toPrecision(2), (1e21).toPrecision(3), (999.99).toPrecision(4), (9.5).toPrecision(1), (0.000001).toPrecision(1), (1e-7).toPrecision(1), (123.456).toPrecision(100).length);

log("-- toExponential");
log(samples.map((n) => n.toExponential()).join(" "));
for (const d of [0, 1, 3, 10, 20]) log(d, samples.map((n) => n.toExponential(d)).join(" "));
log((1.25).toExponential(1), (1.35).toExponential(1), (-1.5e-9).toExponential(0), (0).toExponential(3), (123456).toExponential(2), (5e-324).toExponential(2));

log("-- ranges are RangeErrors");
for (const [label, f] of [["toFixed(101)", () => (1).toFixed(101)], ["toFixed(-1)", () => (1).toFixed(-1)], ["toPrecision(0)", () => (1).toPrecision(0)], ["toPrecision(101)", () => (1).toPrecision(101)], ["toExponential(-1)", () => (1).toExponential(-1)], ["toString(1)", () => (1).toString(1)], ["toString(37)", () => (1).toString(37)]] as const) {
  try {
    log(label, f());
  } catch (e) {
    log(label, (e as Error).name);
  }
}
log((NaN).toFixed(2), (Infinity).toPrecision(3), (-Infinity).toExponential(2), (NaN).toString(2), (-0).toFixed(2), (-0).toPrecision(2), (-0).toExponential(), (-1e-10).toFixed(2));

log("-- integers in other radixes");
log((255).toString(2), (255).toString(16), (-255).toString(36), (2 ** 53).toString(36), (123456789).toString(7), (0).toString(2), (-0).toString(16), (2 ** 31).toString(32), Number.MAX_SAFE_INTEGER.toString(3));
log(parseInt("ff", 16), parseInt("0x1F"), parseInt("z", 36), parseInt("12abc"), parseInt("  -42 "), parseInt(""), parseInt("0b11"), parseInt("11", 2), parseInt("1e3"), parseInt("123", 1), parseInt("9", 8));
log(parseFloat("3.14abc"), parseFloat(".5"), parseFloat("-.5e-3"), parseFloat("1e"), parseFloat("Infinityx"), parseFloat("0x10"), parseFloat("  1_000"), parseFloat("1e400"), parseFloat("-0"));
log(Number(""), Number(" 12 "), Number("0x10"), Number("0b101"), Number("0o17"), Number("1e3"), Number("1_000"), Number("12px"), Number(null), Number(undefined), Number([]), Number([7]), Number([1, 2]), Number(true), Number("-0"), Number("\n\t"));
log(Number("Infinity"), Number("-Infinity"), Number("infinity"), Number(".5"), Number("5."), Number("+.5e1"), Number("0.0000001"), Number("1".repeat(30)), Number("9007199254740993"), Number("2.2250738585072011e-308"));

log("-- -0, NaN, Infinity");
log(Object.is(-0, 0), -0 === 0, 1 / -0, Math.sign(-0), String(-0), `${-0}`, [-0] + "", JSON.stringify(-0), (-0).toString(), -0 < 0);
const nan: number = Number("x");
log(nan === nan, Object.is(NaN, nan), [NaN].includes(NaN), [NaN].indexOf(NaN), isNaN("x" as unknown as number), Number.isNaN("x"), typeof NaN, NaN ** 0, 0 / 0, Infinity - Infinity);
log(-0, [-0], { z: -0 }, 0 * -1, -0 + 0, -0 - 0, Math.round(-0.4), Math.min(0, -0), Math.max(-0, 0), Math.abs(-0));
log(Infinity / Infinity, 1 / Infinity, -1 / Infinity, Infinity * 0, 2 ** 1024, -(2 ** 1024), Number.MAX_VALUE * 2, Number.MIN_VALUE / 2, 5e-324 * 0.5, 5e-324 * 0.6);
log(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.EPSILON, Number.MAX_VALUE, Number.MIN_VALUE, Number.isSafeInteger(2 ** 53), Number.isInteger(5.0), Number.isInteger(5.5), Number.isFinite("5"), isFinite("5" as unknown as number));

log("-- integer arithmetic and int32 conversions");
log(2 ** 31 | 0, 2 ** 32 + 5 | 0, -1 >>> 0, 1 << 31, 1 << 32, -8 >> 1, -8 >>> 28, ~~3.7, ~~-3.7, 5.9 | 0, 2 ** 53 | 0, 1e21 | 0, NaN | 0, Math.imul(0x7fffffff, 3), Math.clz32(1), Math.clz32(0));
log(7 % 3, -7 % 3, 7 % -3, 5.5 % 2, -0 % 5, 5 % 0, 2 ** -1, (-8) ** (1 / 3), 10 ** 21, 10 ** -7, 0.1 ** 2, 1e308 * 10);
let acc = 0;
for (let i = 1; i <= 100000; i++) acc += 1 / i;
log(acc, acc.toFixed(10), acc.toPrecision(17));
let harmonicDown = 0;
for (let i = 100000; i >= 1; i--) harmonicDown += 1 / i;
log(harmonicDown, harmonicDown === acc);
log("-- done");
