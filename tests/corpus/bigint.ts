// BigInt: arithmetic with rounding toward zero, huge values, radix conversions, asIntN/asUintN,
// bitwise operations on negatives, comparisons with numbers, and the errors of mixing types.
export {};

const log = console.log;

log("-- arithmetic");
log(String(7n / 2n), String(-7n / 2n), String(7n % -2n), String(-7n % 2n), String(2n ** 100n), String((-2n) ** 3n), String(0n ** 0n));
log(String(123456789012345678901234567890n * 987654321098765432109876543210n));
log(String(10n ** 50n / 7n), String(10n ** 50n % 7n), String(-(10n ** 30n) - 1n));
let factorial = 1n;
for (let i = 1n; i <= 60n; i++) factorial *= i;
log(String(factorial), factorial.toString().length);
let fa = 0n, fb = 1n;
for (let i = 0; i < 300; i++) [fa, fb] = [fb, fa + fb];
log(String(fa));
const isqrt = (n: bigint): bigint => {
  if (n < 2n) return n;
  let x = n, y = (x + 1n) / 2n;
  while (y < x) [x, y] = [y, (y + n / y) / 2n];
  return x;
};
log(String(isqrt(2n * 10n ** 100n)));
const modpow = (b: bigint, e: bigint, m: bigint): bigint => {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
};
log(String(modpow(2n, 10n ** 18n, 1000000007n)), String(modpow(3n, 2n ** 64n - 1n, 2n ** 61n - 1n)));

log("-- conversions");
log(BigInt(Number.MAX_SAFE_INTEGER) + 2n, BigInt("0x1fffffffffffff"), BigInt("0b1010"), BigInt("0o777"), BigInt("  -42  "), BigInt(""), BigInt(true));
log((255n).toString(16), (-255n).toString(2), (2n ** 70n).toString(36), (12345678901234567890n).toString(7), BigInt.asIntN(8, 255n), BigInt.asUintN(8, -1n));
log(BigInt.asIntN(64, 2n ** 63n), BigInt.asUintN(64, -(2n ** 63n)), BigInt.asIntN(1, 1n), BigInt.asUintN(0, 5n), BigInt.asIntN(200, -(2n ** 199n)));
log(Number(2n ** 53n + 1n), Number(2n ** 1024n), Number(-(2n ** 64n)), parseInt("123n"), Number(123n), +String(99n));
for (const bad of ["1.5", "1e3", "0x", "12n", "abc"]) {
  try {
    BigInt(bad);
  } catch (e) {
    log(`BigInt(${JSON.stringify(bad)}):`, (e as Error).name);
  }
}
for (const bad of [1.5, NaN, Infinity]) {
  try {
    BigInt(bad);
  } catch (e) {
    log(`BigInt(${bad}):`, (e as Error).name);
  }
}
log(String(BigInt(1e21)), String(BigInt(2 ** 60)), String(BigInt(-0)), String(BigInt(Number.MAX_VALUE)).length);

log("-- bitwise");
log(String(-1n >> 10n), String(-5n & 0xffn), String(5n | -8n), String(~0n), String(~-1n), String(-1n << 64n), String(1n << 100n >> 99n), String(-7n ^ 3n));
log(String((2n ** 64n - 1n) & (2n ** 32n + 1n)), String(-(2n ** 80n) >> 79n), String(-(2n ** 80n + 1n) >> 79n));

log("-- comparison and mixing");
log(1n < 2, 2n > 1.5, 1n == 1 as unknown, 1n === (1 as unknown), 0n == ("" as unknown), 10n > ("9" as unknown as bigint), typeof 1n, typeof Object(1n));
log([3n, -1n, 2, 10n, 0, -5].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String).join(" "), 2n ** 64n > Number.MAX_SAFE_INTEGER, 2n ** 1100n > Infinity, -(2n ** 1100n) < -Number.MAX_VALUE);
const zero = BigInt(0), one = BigInt(1);
log(!!zero, !!one, zero ? "truthy" : "falsy", 1n + "" + 2n, `${-0n}`, Object.is(0n, -0n), new Set([1n, 1n, 1]).size, new Map([[2n, "big"]]).get(2n));
for (const [label, f] of [["1n + 1", () => (1n as unknown as number) + 1], ["Math.max(1n)", () => Math.max(1n as unknown as number)], ["+1n", () => +(1n as unknown as number)], ["1n / 0n", () => 1n / 0n], ["2n ** -1n", () => 2n ** -1n], ["1n >>> 0n", () => (1n as unknown as number) >>> 0], ["JSON", () => JSON.stringify(1n)]] as const) {
  try {
    log(label, "->", f());
  } catch (e) {
    log(label, "throws", (e as Error).name);
  }
}

log("-- console.log of bigints");
log(1n, -2n, [3n, 4n], { big: 2n ** 64n }, 0n, -0n);
log(Object(5n), new Map([[1n, 2n]]));
log("-- done");
