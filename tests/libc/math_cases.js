// Math on ~5,000 inputs, one line per value: "fn argbits... resultbits" (bits in hex). A plain
// script with no imports, so that Node, QuickJS on the host and the guest all run it as is:
// tests/libc/libc.test.ts diffs their outputs, and feeds the same inputs to libm in C.
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
function bits(x) {
  f64[0] = x;
  return u64[0].toString(16).padStart(16, "0");
}

// A fixed-seed generator (mulberry32): the same inputs on every engine and every run.
let seed = 0x5eed1234;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const uniform = (lo, hi) => lo + (hi - lo) * random();
// 2^e from its bits, and magnitudes spread evenly over decades, 10^lo .. 10^hi: built with bits
// and exact arithmetic only, never Math, so that every engine checks the same inputs.
function pow2(e) {
  if (e < -1022) return pow2(e + 64) * pow2(-64);
  u64[0] = BigInt(e + 1023) << 52n;
  return f64[0];
}
const logUniform = (lo, hi) => (1 + random()) * pow2(Math.floor(uniform(lo, hi) * 3.321928094887362));
const signed = (x) => (random() < 0.5 ? -x : x);
const series = (n, make) => Array.from({ length: n }, make);

const specials = [0, -0, NaN, Infinity, -Infinity, 1, -1, 0.5, -0.5, 2, Math.PI, Math.E, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308];
const unary = {
  sin: () => [...series(100, () => uniform(-10, 10)), ...series(60, () => signed(logUniform(-10, 22))), ...series(20, () => signed(logUniform(22, 308))), Math.PI / 2, Math.PI / 4, 1e22, 1e300],
  cos: () => unary.sin(),
  tan: () => unary.sin(),
  exp: () => [...series(100, () => uniform(-745, 709.78)), ...series(60, () => signed(logUniform(-12, 0))), 1, -1, 709.782712893384, -745.1332191019411, 0.6931471805599453],
  expm1: () => [...series(80, () => uniform(-40, 709)), ...series(80, () => signed(logUniform(-17, 0))), 1e-300],
  log: () => [...series(120, () => logUniform(-323, 308)), ...series(40, () => uniform(0.5, 2)), 10, 100, 1000, 3, 7, 1e-310],
  log2: () => [...unary.log(), 8, 1024, 0.125, 3, 1e15, 9007199254740993],
  log10: () => [...unary.log(), 1e15, 1e-15, 1e22, 1e-5],
  log1p: () => [...series(80, () => uniform(-0.999, 10)), ...series(80, () => signed(logUniform(-17, -1))), ...series(20, () => logUniform(1, 308)), -0.9999999999],
  cbrt: () => [...series(160, () => signed(logUniform(-320, 308))), 8, 27, 1e-300, 3, 10, 0.001, -1000],
  sinh: () => [...series(80, () => uniform(-710, 710)), ...series(80, () => signed(logUniform(-12, 1.3)))],
  cosh: () => unary.sinh(),
  tanh: () => [...series(80, () => uniform(-25, 25)), ...series(80, () => signed(logUniform(-12, 0.5)))],
  asinh: () => [...series(100, () => signed(logUniform(-12, 308))), ...series(60, () => uniform(-3, 3))],
  acosh: () => [...series(100, () => 1 + logUniform(-15, 2)), ...series(60, () => logUniform(0, 308))],
  atanh: () => [...series(100, () => uniform(-1, 1)), ...series(60, () => signed(logUniform(-15, -0.0001)))],
  asin: () => [...series(100, () => uniform(-1, 1)), ...series(60, () => signed(logUniform(-15, -0.0001)))],
  acos: () => unary.asin(),
  atan: () => [...series(100, () => signed(logUniform(-12, 300))), ...series(60, () => uniform(-3, 3))],
  sqrt: () => series(60, () => logUniform(-320, 308)),
};

const binary = {
  pow: () => [
    ...series(250, () => [logUniform(-5, 5), uniform(-60, 60)]),
    ...series(80, () => [uniform(0.5, 2), uniform(-1000, 1000)]),
    ...series(60, () => [signed(uniform(0, 20)), Math.round(uniform(-30, 30))]),
    ...series(30, () => [logUniform(-300, 300), uniform(-1, 1)]),
    [10, 22], [10, -5], [2, 0.5], [-8, 1 / 3], [0, -1], [-0, -3], [1, Infinity], [-1, -Infinity], [1, NaN], [NaN, 0], [Math.E, 2],
  ],
  atan2: () => [...series(200, () => [signed(logUniform(-10, 10)), signed(logUniform(-10, 10))]), ...series(80, () => [uniform(-5, 5), uniform(-5, 5)]), [0, -0], [-0, -0], [1, -Infinity], [Infinity, Infinity]],
  hypot: () => [...series(200, () => [signed(logUniform(-10, 10)), signed(logUniform(-10, 10))]), ...series(100, () => [uniform(-5, 5), uniform(-5, 5)]), ...series(30, () => [signed(logUniform(-310, 308)), signed(logUniform(-310, 308))]), [3, 4], [Infinity, NaN], [1e308, 1e308], [5e-324, 5e-324]],
};

// Inputs (as bits) where picolibc's fdlibm 5.1 and V8 once disagreed, found by larger sweeps.
const seen = {
  exp: ["3e2a99d56fde8a38", "be18c44550413600"], log2: ["3feffffff5747050", "3ff69c526a13ae14"],
  cbrt: ["7d6df39269c790f7", "41111eb19ee0226c"], tanh: ["be07424ca8fb0b80", "3decb3674eac7b48"],
  pow: [["bfdba84d8a000000", "c075d00000000000"], ["c001f9ea8de00000", "4064600000000000"]],
  atan2: [["3fe92b2abb400000", "bbee6c7acc000000"], ["faf022f0b49dd638", "95112e0f47abc996"]],
};
function fromBits(hex) {
  u64[0] = BigInt(`0x${hex}`);
  return f64[0];
}

for (const [name, inputs] of Object.entries(unary)) {
  const f = Math[name];
  for (const x of [...specials, ...inputs(), ...(seen[name] ?? []).map(fromBits)]) console.log(`${name} ${bits(x)} ${bits(f(x))}`);
}
for (const [name, inputs] of Object.entries(binary)) {
  const f = Math[name];
  for (const [x, y] of [...specials.map((s) => [s, 1.5]), ...specials.map((s) => [0.75, s]), ...inputs(), ...(seen[name] ?? []).map((xy) => xy.map(fromBits))]) console.log(`${name} ${bits(x)} ${bits(y)} ${bits(f(x, y))}`);
}
// Math.hypot with more than two arguments (V8 sums every square at once; QuickJS chains).
for (const xs of series(40, () => series(3 + Math.floor(random() * 3), () => signed(logUniform(-5, 5))))) console.log(`hypotN ${xs.map(bits).join(" ")} ${bits(Math.hypot(...xs))}`);
