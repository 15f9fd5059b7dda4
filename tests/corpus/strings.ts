// Strings and Unicode: UTF-16 lengths and code points, surrogate pairs, normalization, case
// mapping (final sigma, ß, dotted I), padding and trimming with Unicode spaces, escapes, and
// UTF-8 output of non-ASCII text. No lone surrogate is printed raw: how a console encodes one is
// the host's business.
export {};

const log = console.log;
const hex = (s: string) => [...s].map((c) => c.codePointAt(0)!.toString(16).padStart(4, "0")).join(" ");
const units = (s: string) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i).toString(16)).join(" ");

log("-- lengths and code points");
for (const s of ["abc", "é", "e\u0301", "🦀", "👨‍👩‍👧", "🇫🇷", "中文", "𝒳𝒴", "\u0000", ""]) {
  log(JSON.stringify(s), s.length, [...s].length, hex(s), units(s));
}
const crab = "a🦀b";
log(crab.charAt(1) === "\ud83e", crab.codePointAt(1), crab.codePointAt(2), crab.charCodeAt(1), crab.at(-1), crab.slice(1, 3), crab.split("").length, Array.from(crab).length);
log(String.fromCodePoint(0x1f600, 0x61, 0x10ffff).length, String.fromCharCode(0xd83d, 0xde00), String.fromCharCode(0x10041), String.fromCodePoint(0x41, 0x42));
try {
  String.fromCodePoint(0x110000);
} catch (e) {
  log("fromCodePoint(0x110000):", (e as Error).name);
}
log(JSON.stringify("x\ud800y".split("")), "x\ud800y".length, encodeURIComponent("é 🦀/?"), decodeURIComponent("%F0%9F%A6%80%20%C3%A9"));
try {
  encodeURIComponent("\ud800");
} catch (e) {
  log("encodeURIComponent(lone surrogate):", (e as Error).name);
}
log(encodeURI("http://x.y/a b?c=d&e=é#f"), escape("é 🦀"), unescape("%u00e9%20"), decodeURI("%41%2F"));

log("-- normalization");
const composed: string = "\u00e9";
const decomposed: string = "e\u0301";
log(composed === decomposed, composed.normalize("NFD") === decomposed, decomposed.normalize("NFC") === composed, composed.localeCompare === String.prototype.localeCompare);
for (const form of ["NFC", "NFD", "NFKC", "NFKD"] as const) {
  log(form, hex("ﬁ Å Ω ① ｶ ḳ́ 한".normalize(form)));
}
try {
  "x".normalize("NFX" as "NFC");
} catch (e) {
  log("normalize(NFX):", (e as Error).name);
}

log("-- case mapping");
log("straße".toUpperCase(), "ΣΑΣ ΟΔΟΣ".toLowerCase(), "İ".toLowerCase().length, hex("İ".toLowerCase()), "ı".toUpperCase(), "ǆ".toUpperCase(), "ﬀ".toUpperCase());
log("ÀÉÎÕÜ àéîõü".toLowerCase(), "àéîõü".toUpperCase(), "ꭰ".toUpperCase(), hex("ΐ".toUpperCase()), "Ⅻ".toLowerCase(), "𐐨".toUpperCase());
log("hello world".replace(/\b\w/g, (c) => c.toUpperCase()), "ABC".toLowerCase() === "abc", "i".toLocaleUpperCase === String.prototype.toLocaleUpperCase);

log("-- padding, trimming, repeating");
log(`[${"5".padStart(3, "0")}] [${"abc".padEnd(8, "12")}] [${"abc".padStart(2)}] [${"x".padEnd(4)}] [${"🦀".padStart(5, "*")}]`);
const spaces = "\u0009\u000b\u000c\u0020\u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\ufeff";
log(JSON.stringify(`${spaces}x${spaces}`.trim()), `${spaces}y`.trimStart().length, `z\u200b`.trim().length, JSON.stringify("\u180e x".trim()));
log("ab".repeat(3), "".repeat(5).length, "x".repeat(0));
try {
  "x".repeat(-1);
} catch (e) {
  log("repeat(-1):", (e as Error).name);
}

log("-- searching and slicing");
const text = "The quick brown fox jumps over the lazy dog";
log(text.indexOf("o"), text.lastIndexOf("o"), text.indexOf("o", 20), text.includes("fox"), text.startsWith("quick", 4), text.endsWith("lazy", 39), text.search(/[A-Z]/g));
log(text.slice(-8, -4), text.substring(10, 4), text.substr(-3, 2), text.split(" ", 3), text.at(0), text.at(-100));
log(text.split(" ").map((w) => w.length).join(""), text.replaceAll("o", "0"), [...text].filter((c) => "aeiou".includes(c)).length);
log("a-b_c d".split(/[-_ ]/), "a,b,c".split(",", -1), "".split(","), "".split(""), "abc".split("", 2));
log("abc" < "abd", "B" < "a", "é" > "z", "10" < "9", ["b", "a", "C", "é", "e"].sort().join(""), ["10", "9", "1"].sort().join(","));

log("-- template literals and raw strings");
const name = "Zigu";
log(`hello ${name}, ${1 + 1} ${[1, 2]} ${{}} ${null} ${undefined} ${true}`);
log(String.raw`a\nb\t${name}\u0041`, String.raw({ raw: ["x", "y", "z"] }, 1, 2, 3));
function tag(strings: TemplateStringsArray, ...values: unknown[]): string {
  return `${strings.length}:${JSON.stringify(strings.raw)}:${JSON.stringify(values)}`;
}
log(tag`a${1}b${"two"}c`, tag``, tag`\unicode and \x`);
log("\x41\u0042\u{43}".length, "\x41\u0042\u{43}", "line1\
 continued", "tab\there");

log("-- building strings");
let built = "";
for (let i = 0; i < 1000; i++) built += String.fromCharCode(97 + (i % 26));
log(built.length, built.slice(0, 30), built.slice(-5), built.split("a").length);
const parts: string[] = [];
for (let i = 0; i < 5000; i++) parts.push(i.toString(36));
const joined = parts.join("");
log(joined.length, joined.slice(1000, 1040));
let hash = 0;
for (let i = 0; i < joined.length; i++) hash = (Math.imul(hash, 31) + joined.charCodeAt(i)) | 0;
log(hash);

log("-- non-ASCII output");
log("español: ¿Qué tal? ñandú", "Deutsch: Größe", "русский: привет", "ελληνικά", "עברית", "العربية", "日本語: こんにちは", "한국어", "emoji: 🦀🚀✨ 👍🏽");
log(["é", "🦀", "中"], { key: "ü", "ключ": "значение" }, "\u200d|\u00ad|\u2060");
log("-- done");
