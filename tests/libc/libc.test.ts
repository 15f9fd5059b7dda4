// The ring-3 C runtime on the host: the very archives the guest links (.deps/lib/libpicolibc.a,
// libquickjs.a, built by scripts/runtime-deps), linked into static x86_64-linux programs over a
// shim of Linux system calls (linux_shim.c), and checked against Node: strtod on hard cases,
// printf of doubles, libm and QuickJS's Math against Node's Math to the last bit.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jsDeps, jsDepsReady, repoRoot, zigCommand } from "../../src/zig.ts";
import { run } from "../../src/proc.ts";

const skip = jsDepsReady() ? false : "the runtime's archives are not built (./scripts/setup runs scripts/runtime-deps)";
const here = join(repoRoot, "tests", "libc");

/** Compiles `sources` (tests/libc/) and links them with `archives` (.deps/lib/) into a static program. */
async function link(out: string, sources: string[], archives: string[]): Promise<void> {
  const hl = join(jsDeps, "src", "hyperlight-libc-0.18.0");
  const pl = join(hl, "third_party", "picolibc");
  const qj = join(jsDeps, "src", "libquickjs-ng-sys-0.14.0", "embed", "quickjs");
  // The guest's target and headers (scripts/runtime-deps: qjs_flags), with -I, not -isystem.
  const flags = ["-target", "x86_64-freestanding-none", "-O2", "-nostdlibinc", "-ffreestanding", "-fno-stack-protector",
    "-D__STDC_NO_ATOMICS__=1", "-DQUICKJS_NG_BUILD", `-I${join(repoRoot, "runtime", "libc", "include")}`,
    `-I${join(hl, "include")}`, `-I${join(pl, "libc", "stdio")}`, `-I${join(pl, "libc", "include")}`, `-I${qj}`];
  const args = [...flags, "-nostdlib", "-static", ...sources.map((s) => join(here, s)), ...archives.map((a) => join(jsDeps, "lib", a)), "-o", out];
  const r = await run([...zigCommand(), "cc", ...args], { timeoutMs: 5 * 60_000 });
  assert.equal(r.exitCode, 0, r.stderr);
}

/** Runs `program` with `input` on stdin; its stdout, one line an answer. */
function ask(program: string, input: string): string[] {
  return execFileSync(program, { input, encoding: "utf8", maxBuffer: 64 << 20, timeout: 120_000 }).split("\n").slice(0, -1);
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
function bits(x: number): string {
  f64[0] = x;
  return u64[0]!.toString(16).padStart(16, "0");
}
function fromBits(hex: string): number {
  u64[0] = BigInt(`0x${hex}`);
  return f64[0]!;
}
/** Equal to the last bit, any NaN equal to any NaN (Node and C differ in NaN's sign bit). */
function sameBits(a: string, b: string): boolean {
  return a === b || (Number.isNaN(fromBits(a)) && Number.isNaN(fromBits(b)));
}

// ---- printf's expected output, computed exactly (BigInt) rather than taken from a libc ----------
/** Format the shortest round-trip digits instead of the exact value (see expectedPrintf). */
let shortestDigits = false;
/** |x| = n / 10^s exactly (x finite). */
function exactDecimal(x: number): { n: bigint; s: number } {
  if (shortestDigits) {
    // The shortest digits that read back as x (Node's own), as the value to print.
    const [m, e] = Math.abs(x).toExponential().split("e") as [string, string];
    const digits = m.replace(".", "");
    return { n: BigInt(digits), s: digits.length - 1 - Number(e) };
  }
  f64[0] = Math.abs(x);
  const b = u64[0]!;
  const be = Number((b >> 52n) & 0x7ffn);
  const mant = be === 0 ? b & ((1n << 52n) - 1n) : (b & ((1n << 52n) - 1n)) | (1n << 52n);
  const e = (be === 0 ? -1074 : be - 1075);
  return e >= 0 ? { n: mant << BigInt(e), s: 0 } : { n: mant * 5n ** BigInt(-e), s: -e };
}
/** n / 10^drop rounded to an integer, ties to even (the default rounding mode). */
function roundDiv(n: bigint, drop: number): bigint {
  if (drop <= 0) return n * 10n ** BigInt(-drop);
  const d = 10n ** BigInt(drop);
  const q = n / d;
  const r = n % d;
  return 2n * r > d || (2n * r === d && q % 2n === 1n) ? q + 1n : q;
}
const sign = (x: number) => (x < 0 || Object.is(x, -0) ? "-" : "");
function formatF(x: number, prec: number): string {
  const { n, s } = exactDecimal(x);
  const digits = roundDiv(n, s - prec).toString().padStart(prec + 1, "0");
  const int = digits.slice(0, digits.length - prec);
  return sign(x) + int + (prec > 0 ? `.${digits.slice(-prec)}` : "");
}
/** The digits of %.{prec}e and its decimal exponent. */
function eDigits(x: number, prec: number): { digits: string; exp: number } {
  const { n, s } = exactDecimal(x);
  if (n === 0n) return { digits: "0".repeat(prec + 1), exp: 0 };
  let exp = n.toString().length - 1 - s;
  let digits = roundDiv(n, s + exp - prec).toString();
  if (digits.length > prec + 1) { // rounded up to a power of ten
    exp += 1;
    digits = digits.slice(0, prec + 1);
  }
  return { digits, exp };
}
const expPart = (e: number) => `e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
function formatE(x: number, prec: number): string {
  const { digits, exp } = eDigits(x, prec);
  return sign(x) + digits[0] + (prec > 0 ? `.${digits.slice(1)}` : "") + expPart(exp);
}
function formatG(x: number, prec: number): string {
  const p = prec === 0 ? 1 : prec;
  const { exp } = eDigits(x, p - 1);
  const s = p > exp && exp >= -4 ? formatF(x, p - 1 - exp) : formatE(x, p - 1);
  const [mant, e] = s.split("e") as [string, string | undefined];
  const trimmed = mant.includes(".") ? mant.replace(/0+$/, "").replace(/\.$/, "") : mant;
  return e === undefined ? trimmed : `${trimmed}e${e}`;
}
/** %a as C99 prints it for a double: the exact hexadecimal significand, trailing zeros dropped. */
function formatA(x: number): string {
  f64[0] = Math.abs(x);
  const b = u64[0]!;
  const be = Number((b >> 52n) & 0x7ffn);
  const frac = (b & ((1n << 52n) - 1n)).toString(16).padStart(13, "0").replace(/0+$/, "");
  if (be === 0 && frac === "") return `${sign(x)}0x0p+0`;
  const e = be === 0 ? -1022 : be - 1023;
  return `${sign(x)}0x${be === 0 ? 0 : 1}${frac ? `.${frac}` : ""}p${e < 0 ? "-" : "+"}${Math.abs(e)}`;
}
/**
 * What printf prints: the exact value rounded to the precision; or, as picolibc's printf does, the
 * shortest round-trip digits, padded with zeros, whenever they fit in the digits asked for (the
 * exact value, rounded, otherwise).
 */
function expectedPrintf(fmt: string, x: number, shortest = false): string {
  const m = /^%(?:\.(\d+))?([efgaEG])$/.exec(fmt);
  if (shortest && m && Number.isFinite(x) && x !== 0 && m[2] !== "a") {
    const prec = m[1] === undefined ? 6 : Number(m[1]);
    const [mant, e] = Math.abs(x).toExponential().split("e") as [string, string];
    const asked = /[eE]/.test(m[2]!) ? prec + 1 : /[gG]/.test(m[2]!) ? prec || 1 : prec + Number(e) + 1;
    shortest = mant.replace(".", "").length <= asked;
  }
  shortestDigits = shortest;
  try {
    return expectedPrintfExact(fmt, x);
  } finally {
    shortestDigits = false;
  }
}
function expectedPrintfExact(fmt: string, x: number): string {
  if (!Number.isFinite(x)) {
    const s = Number.isNaN(x) ? "nan" : `${sign(x)}inf`;
    return /[A-Z]$/.test(fmt) ? s.toUpperCase() : s;
  }
  const m = /^%(?:\.(\d+))?([efgaEG])$/.exec(fmt);
  assert.ok(m, `unsupported format ${fmt}`);
  const prec = m[1] === undefined ? 6 : Number(m[1]);
  switch (m[2]) {
    case "e": return formatE(x, prec);
    case "E": return formatE(x, prec).toUpperCase();
    case "f": return formatF(x, prec);
    case "g": return formatG(x, prec);
    case "G": return formatG(x, prec).toUpperCase();
    default: return formatA(x);
  }
}

// ---- the cases -----------------------------------------------------------------------------------
/** Decimal inputs whose expected value is Node's own parse (correctly rounded). */
const strtodDecimal = [
  "0.1", "0.2", "0.3", "1e23", "8.988465674311579e307", "8.98846567431158e307", "1.7976931348623157e308",
  "1.7976931348623158e308", "1.7976931348623159e308", "2.2250738585072011e-308", "2.2250738585072012e-308",
  "2.2250738585072014e-308", "4.9e-324", "5e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
  "2.47032822920623272088e-324", "1e-400", "1e400", "-1e400", "-0", "-0.0e5", "9007199254740993", "9007199254740992.5",
  "9007199254740993.01", "9007199254740993.0000000000000000001", "123456789012345678901234567890", "0.000001", "1e-7", "3.14159265358979323846",
  "2.718281828459045235360287", "1.00000000000000011102230246251565404236316680908203125",
  "1.00000000000000011102230246251565404236316680908203124", "1.00000000000000011102230246251565404236316680908203126",
  "7.038531e-26", "9.5e-5", "1448997445238699", "5.0e-324", "2.225073858507201136057409796709131975934819546351645648e-308",
  "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791.9999999",
  `0.${"0".repeat(300)}1`, `1${"0".repeat(400)}e-400`, `0.${"1".repeat(800)}`, `${"9".repeat(800)}e-800`,
  `4.${"9".repeat(760)}e-324`, "1e+0", "1E5", "+.5", "1.", "00000000000000000000001e-10",
];
/** Inputs Node's Number() does not read as strtod does: what C says they are. */
const strtodOther: [string, number, number][] = [ // text, value, bytes read
  ["inf", Infinity, 3], ["-Infinity", -Infinity, 9], ["nan", NaN, 3], ["1e", 1, 1], ["1e+", 1, 1], ["  42", 42, 4],
  ["12abc", 12, 2], ["", 0, 0], ["0x1p-1074", 5e-324, 9], ["0x1.8p1", 3, 7], ["0x1.fffffffffffffp1023", 1.7976931348623157e308, 22],
  ["-0x0.8p-1", -0.25, 10], ["0x10", 16, 4],
];
/** What picolibc 1.8.11's strtod (tinystdio, ryu) is known to get wrong, and why. */
const strtodKnown = new Map<string, string>([
  ...["9007199254740993.01", "9007199254740993.0000000000000000001", "1.00000000000000011102230246251565404236316680908203126"].map(
    (s): [string, string] => [s, "rounds on the first 17 significant digits: the digit that decides is dropped"]),
  ...["0x1p-1074", "0x1.8p1", "0x1.fffffffffffffp1023", "-0x0.8p-1", "0x10"].map((s): [string, string] => [s, "hexadecimal input is off (the crate's picolibc.h undefines __IO_C99_FORMATS)"]),
]);
const printfCases: [string, number][] = [];
for (const x of [0.1, 1 / 3, 2 / 3, 1e23, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 123456.789, 0.15, 0.25, 2.5, 1.005, 9007199254740993, 1e21, 4.35, -2.5e-7]) {
  for (const fmt of ["%.17g", "%.16g", "%g", "%.3g", "%.0g", "%e", "%.0e", "%.20e", "%f", "%.0f", "%.1f", "%.2f", "%.30f", "%a", "%G", "%E"]) printfCases.push([fmt, x]);
}
for (const x of [0, -0, NaN, Infinity, -Infinity]) for (const fmt of ["%g", "%e", "%f", "%a", "%.17g", "%G"]) printfCases.push([fmt, x]);

/** Values whose correct result is known exactly: libm must give these whatever Node says. */
const known: [string, number[], number][] = [
  ["sin", [0], 0], ["sin", [-0], -0], ["cos", [0], 1], ["tan", [-0], -0], ["exp", [0], 1], ["exp", [-Infinity], 0],
  ["exp", [1], 2.718281828459045], ["log", [1], 0], ["log", [0], -Infinity], ["log2", [1024], 10], ["log2", [0.125], -3],
  ["log2", [5e-324], -1074], ["log10", [1000], 3], ["log10", [1e22], 22], ["log1p", [-0], -0], ["expm1", [-0], -0],
  ["cbrt", [27], 3], ["cbrt", [-8], -2], ["cbrt", [1e-300], 1e-100], ["pow", [2, 10], 1024], ["pow", [10, 22], 1e22],
  ["pow", [2, -1074], 5e-324], ["pow", [-8, 1 / 3], NaN], ["pow", [0, -1], Infinity], ["pow", [-0, -3], -Infinity],
  ["atan2", [0, -0], Math.PI], ["atan2", [-0, -0], -Math.PI], ["atan2", [1, 0], Math.PI / 2], ["hypot", [3, 4], 5],
  ["hypot", [Infinity, NaN], Infinity], ["hypot", [5e-324, 0], 5e-324], ["hypot", [3e300, 4e300], 5e300],
  ["sqrt", [2], Math.SQRT2], ["tanh", [Infinity], 1], ["atanh", [1], Infinity], ["acosh", [1], 0], ["asinh", [-0], -0],
  ["sinh", [-0], -0], ["cosh", [0], 1], ["atan", [Infinity], Math.PI / 2], ["acos", [-1], Math.PI], ["asin", [1], Math.PI / 2],
];

/**
 * JSON.parse of hard numbers, printed as bits. QuickJS reads them with its own reader (our patch;
 * picolibc's strtod rounds on 17 digits), exact up to 38 significant digits: ECMAScript asks 20,
 * Node is exact at any length, so none of these is longer than 38.
 */
const jsonScript = `
const f64 = new Float64Array(1), u64 = new BigUint64Array(f64.buffer);
for (const s of ${JSON.stringify(["9007199254740993.01", "9007199254740993.001", "9007199254740993.0000000000000000001", "-9007199254740993.0000001",
  "2.2250738585072011e-308", "2.2250738585072012e-308", "-2.4703282292062328e-324", "2.4703282292062327e-324", "1e23", "0.1", "-0",
  "1.7976931348623157e308", "1.7976931348623159e308", "1e-400", "123456789012345678901234567890", "4.9e-324",
  "1.0000000000000001110223024625156541", "1.00000000000000011102230246251565", "8.98846567431158e307"])}) {
  f64[0] = JSON.parse(s);
  console.log(s, u64[0].toString(16));
}`;

/** Math on ~5,000 inputs as Node computes it (tests/libc/math_cases.js). */
const mathLines = (): string[][] =>
  execFileSync(process.execPath, [join(here, "math_cases.js")], { encoding: "utf8" }).trim().split("\n").map((l) => l.split(" "));

/** One line per mismatch, by function; [] when all agree. */
function mismatches(want: string[][], got: string[][], fn: string): string[] {
  const out: string[] = [];
  want.forEach((w, i) => {
    if (w[0] !== fn) return;
    const g = got[i] ?? [];
    if (!sameBits(w.at(-1)!, g.at(-1) ?? "")) {
      out.push(`${fn}(${w.slice(1, -1).map(fromBits).join(", ")}) = ${fromBits(g.at(-1) ?? "0")} (${g.at(-1)}), Node ${fromBits(w.at(-1)!)} (${w.at(-1)})`);
    }
  });
  return out;
}

describe("picolibc and QuickJS as the guest links them, on the host", { skip }, () => {
  const dir = skip ? "" : mkdtempSync(join(tmpdir(), "zigu-libc-"));
  const check = join(dir, "libc_check");
  const qjs = join(dir, "qjs_run");
  let want: string[][] = [];

  before(async () => {
    await link(check, ["libc_check.c", "linux_shim.c"], ["libpicolibc.a"]);
    await link(qjs, ["qjs_run.c", "linux_shim.c"], ["libquickjs.a", "libpicolibc.a"]);
    want = mathLines();
  });

  /** Every strtod case that differs from C's answer, by name. */
  function strtodMismatches(): Map<string, string> {
    const inputs = [...strtodDecimal, ...strtodOther.map(([s]) => s)];
    const got = ask(check, inputs.map((s) => `strtod ${s}\n`).join(""));
    const bad = new Map<string, string>();
    const short = (s: string) => (s.length > 40 ? `${s.slice(0, 37)}...` : s);
    strtodDecimal.forEach((s, i) => {
      const [b, used] = got[i]!.split(" ");
      const expect = bits(Number(s));
      if (!sameBits(b!, expect) || Number(used) !== s.length) bad.set(s, `strtod("${short(s)}") = ${fromBits(b!)} (${b}, read ${used}), expected ${Number(s)} (${expect}, read ${s.length})`);
    });
    strtodOther.forEach(([s, v, n], j) => {
      const [b, used] = got[strtodDecimal.length + j]!.split(" ");
      if (!sameBits(b!, bits(v)) || Number(used) !== n) bad.set(s, `strtod("${s}") = ${fromBits(b!)} (read ${used}), expected ${v} (read ${n})`);
    });
    return bad;
  }

  test("strtod rounds hard decimal inputs as Node does and reads inf, nan, junk (known gaps listed)", () => {
    const bad = strtodMismatches();
    // Each known gap still there (or the list is stale), and nothing else wrong.
    assert.deepEqual([...bad.keys()].filter((s) => !strtodKnown.has(s)).map((s) => bad.get(s)), []);
    assert.deepEqual([...strtodKnown.keys()].filter((s) => !bad.has(s)), [], "fixed: drop these from strtodKnown");
  });

  test("strtod is correctly rounded on long inputs and reads hex floats", { todo: `picolibc's strtod: ${strtodKnown.size} known gaps (strtodKnown)` }, () => {
    assert.deepEqual([...strtodMismatches().entries()].map(([s, m]) => `${m}: ${strtodKnown.get(s) ?? "?"}`), []);
  });

  function printfMismatches(shortest: boolean): string[] {
    const got = ask(check, printfCases.map(([f, x]) => `printf ${f} ${bits(x)}\n`).join(""));
    return printfCases.flatMap(([f, x], i) => {
      const expect = expectedPrintf(f, x, shortest);
      return got[i] === expect ? [] : [`snprintf("${f}", ${Object.is(x, -0) ? "-0" : x}) = "${got[i]}", expected "${expect}"`];
    });
  }

  // picolibc's printf (tinystdio, ryu) prints the shortest digits that read back as the double
  // whenever they fit in the precision, not the exact value's (0.1 with %.17g is "0.1"): pinned
  // here, and the exact answers are a todo below.
  test("snprintf prints doubles as picolibc does: %e %f %g %a at many precisions, -0, nan, inf", () => {
    assert.deepEqual(printfMismatches(true), []);
  });

  test("snprintf prints doubles exactly (as glibc and musl do)", { todo: "picolibc's printf pads the shortest round-trip digits where they fit, instead of the exact value's" }, () => {
    assert.deepEqual(printfMismatches(false), []);
  });

  test("libm gives the exactly known results", () => {
    const got = ask(check, known.map(([f, xs]) => `${f} ${xs.map(bits).join(" ")}\n`).join(""));
    const bad = known.flatMap(([f, xs, v], i) => (sameBits(got[i]!, bits(v)) ? [] : [`${f}(${xs.join(", ")}) = ${fromBits(got[i]!)}, expected ${v}`]));
    assert.deepEqual(bad, []);
  });

  // The C functions against Node's Math on the same inputs. Not hypot: Math.hypot is not C's
  // hypot in V8 (its own scaled sum), and the patched QuickJS computes it V8's way (below).
  const cFunctions = ["sin", "cos", "tan", "exp", "expm1", "log", "log2", "log10", "log1p", "cbrt", "sinh", "cosh", "tanh",
    "asinh", "acosh", "atanh", "asin", "acos", "atan", "sqrt", "pow", "atan2"];
  test("libm agrees with Node's Math to the last bit on ~4,500 inputs", async (t) => {
    const asked = want.filter((w) => cFunctions.includes(w[0]!) && !(w[0] === "pow" && Math.abs(fromBits(w[1]!)) === 1 && !Number.isFinite(fromBits(w[2]!))));
    const got = ask(check, asked.map((w) => `${w.slice(0, -1).join(" ")}\n`).join("")).map((l, i) => [...asked[i]!.slice(0, -1), l]);
    for (const fn of cFunctions) {
      await t.test(`${fn} (${asked.filter((w) => w[0] === fn).length} values)`, () => {
        assert.deepEqual(mismatches(asked, got, fn), []);
      });
    }
  });

  test("JSON.parse in QuickJS reads hard numbers as Node does", () => {
    const node = execFileSync(process.execPath, ["-e", jsonScript], { encoding: "utf8" }).split("\n").slice(0, -1);
    assert.deepEqual(ask(qjs, jsonScript), node);
  });

  test("Math in QuickJS on picolibc prints what Node prints on ~5,000 inputs", async (t) => {
    const got = ask(qjs, readFileSync(join(here, "math_cases.js"), "utf8")).map((l) => l.split(" "));
    assert.equal(got.length, want.length, "QuickJS printed a different number of lines");
    for (const fn of [...new Set(want.map((w) => w[0]!))]) {
      await t.test(`Math.${fn === "hypotN" ? "hypot with 3 to 5 arguments" : fn} (${want.filter((w) => w[0] === fn).length} values)`, () => {
        // The same inputs first: math_cases.js builds them with bits and exact arithmetic only.
        want.forEach((w, i) => w[0] === fn && assert.deepEqual(got[i]!.slice(0, -1), w.slice(0, -1)));
        assert.deepEqual(mismatches(want, got, fn), []);
      });
    }
  });
});
