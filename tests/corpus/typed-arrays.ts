// Typed arrays, ArrayBuffer and DataView: conversions on store (wrapping, clamping, float32
// rounding), views sharing one buffer, endianness, copying methods, sorting, BigInt64 arrays.
export {};

const log = console.log;
const show = (a: ArrayLike<number | bigint>) => Array.from(a as ArrayLike<number>).join(",");

log("-- conversions on store");
const values = [0, 1, -1, 127, 128, 255, 256, -129, 1.5, -1.5, 2.5, 65535, 65536, 2 ** 31, -(2 ** 31) - 1, NaN, Infinity, -Infinity, 1e10, -0];
for (const T of [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array]) {
  log(T.name.padEnd(18), show(T.from(values)));
}
log(show(Float32Array.of(0.1, 1 / 3, 16777217, 3.4e38, 3.5e38, 1e-45, 1e-46)), Math.fround(0.1), Math.fround(5.5), Math.fround(5.05));

log("-- one buffer, many views");
const buf = new ArrayBuffer(16);
const u8 = new Uint8Array(buf);
const u32 = new Uint32Array(buf, 4, 2);
const f64 = new Float64Array(buf, 8, 1);
u8.set([1, 2, 3, 4, 5, 6, 7, 8]);
log(buf.byteLength, u32.byteOffset, u32.length, u32.byteLength, show(u32), show(u8));
f64[0] = Math.PI;
log(show(u8.subarray(8)), f64[0]);
const dv = new DataView(buf);
log(dv.getUint32(0), dv.getUint32(0, true), dv.getInt16(2, false), dv.getInt16(2, true), dv.getFloat64(8, true));
dv.setFloat32(0, -2.5);
dv.setUint16(4, 0xbeef, true);
dv.setBigUint64(8, 0x0102030405060708n);
log(show(u8), dv.getBigInt64(8, true), dv.getBigUint64(8), dv.getFloat32(0), dv.getInt8(0));
try {
  dv.getUint32(14);
} catch (e) {
  log("DataView out of range:", (e as Error).name);
}
try {
  new Uint32Array(buf, 3);
} catch (e) {
  log("misaligned view:", (e as Error).name);
}

log("-- methods");
const ta = Int16Array.from([5, -3, 10, 0, -3, 7]);
log(show(ta.slice(1, 4)), show(ta.subarray(-2)), ta.indexOf(-3), ta.lastIndexOf(-3), ta.includes(10), ta.at(-1), ta.findLast((x) => x < 0), ta.findLastIndex((x) => x > 100));
log(show(ta.map((x) => x * 10000)), show(ta.filter((x) => x > 0)), ta.reduce((s, x) => s + x, 0), ta.join("|"), String(ta));
log(show(ta.toSorted()), show(ta.toReversed()), show(ta.with(0, 99)), show(ta), show(new Int16Array(ta).sort((a, b) => b - a)));
log(show(Float64Array.of(3, -0, 0, NaN, -Infinity, 1, -1).sort()), show(Uint8Array.of(10, 9, 100, 1).sort()));
const copy = Uint8Array.of(1, 2, 3, 4, 5, 6);
log(show(copy.copyWithin(0, 3)), show(copy.fill(9, 4)), show(copy.reverse()));
const dst = new Uint8Array(8);
dst.set([1, 2, 3], 2);
dst.set(new Uint16Array([256 + 7, 513]), 6);
log(show(dst));
try {
  dst.set([1, 2, 3], 7);
} catch (e) {
  log("set past the end:", (e as Error).name);
}
log(Object.prototype.toString.call(u8), u8[Symbol.toStringTag], ArrayBuffer.isView(dv), ArrayBuffer.isView(buf), Uint8Array.BYTES_PER_ELEMENT, Float64Array.BYTES_PER_ELEMENT);
log(show(new Uint8Array(buf.slice(2, 6))), buf.slice(-4).byteLength, new Uint8Array(0).length, show(new Uint8Array([..."AZ"].map((c) => c.charCodeAt(0)))));
const ta2 = new Uint8Array(4);
(ta2 as unknown as Record<string, number>)["5"] = 1;
(ta2 as unknown as Record<string, number>)["-0"] = 1;
(ta2 as unknown as Record<string, number>)["1.5"] = 1;
log(Object.keys(ta2), ta2.length, (ta2 as unknown as Record<string, unknown>)["5"]);

log("-- BigInt64Array");
const big = BigInt64Array.of(-1n, 2n ** 63n - 1n, -(2n ** 63n));
const ubig = new BigUint64Array(big.buffer);
log(show(big), show(ubig), show(BigInt64Array.from([2n ** 64n + 5n, -(2n ** 64n) - 5n])));
try {
  BigInt64Array.of(1 as unknown as bigint);
} catch (e) {
  log("number into BigInt64Array:", (e as Error).name);
}

log("-- bytes of doubles and endianness");
const bytesOf = (x: number) => Array.from(new Uint8Array(Float64Array.of(x).buffer)).map((b) => b.toString(16).padStart(2, "0")).join("");
log([0, -0, 1, -2, 0.1, Infinity, 5e-324, Number.MAX_VALUE].map(bytesOf).join(" "));
log(new Uint8Array(Uint32Array.of(0x11223344).buffer)[0] === 0x44 ? "little-endian" : "big-endian");
let checksum = 0;
const large = new Uint32Array(100000);
for (let i = 0; i < large.length; i++) large[i] = Math.imul(i, 2654435761) >>> 0;
for (let i = 0; i < large.length; i++) checksum = (checksum + (large[i]! % 1000003)) % 1000000007;
log(checksum, large[99999], show(large.subarray(0, 4)));

log("-- console.log of typed arrays and buffers");
log(Uint8Array.of(1, 2, 3));
log(new Float32Array([0.5, -0, NaN]));
log(new BigInt64Array(2));
log(new Uint8Array(200));
log(new ArrayBuffer(4));
log(new DataView(new ArrayBuffer(2), 1));
log([new Int8Array(2), { u16: Uint16Array.of(65535) }]);
log("-- done");
