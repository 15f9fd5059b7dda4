// Regular expressions: named groups, unicode mode and property escapes, lookbehind, sticky and
// global state, match indices (the d flag), replace patterns and callbacks, split, source/flags.
export {};

const log = console.log;

log("-- named groups");
const date = /(?<year>\d{4})-(?<month>\d{2})-(?<day>\d{2})/;
const m = date.exec("on 2024-02-29 and 1999-12-31")!;
log(m.index, m[0], m.groups?.year, m.groups?.month, m.groups?.day, JSON.stringify(m.groups));
log("2024-02-29".replace(date, "$<day>/$<month>/$<year>"), "1999-12-31".replace(date, (...args) => JSON.stringify(args.at(-1))));
log([..."a1 b22 c333".matchAll(/(?<letter>[a-z])(?<digits>\d+)/g)].map((x) => `${x.groups!.letter}:${x.groups!.digits.length}@${x.index}`));
log(/(?<a>x)|(?<b>y)/.exec("y")!.groups);
log(/(?<word>\w+) \k<word>/.test("hello hello"), /(?<word>\w+) \k<word>/.test("hello world"));

log("-- unicode");
const emoji = "I ❤️ 🦀 and 👨‍👩‍👧";
log(emoji.match(/./gu)!.length, emoji.match(/./g)!.length, /^.$/u.test("🦀"), /^.$/.test("🦀"));
log("Ünïcödé façade".match(/\p{L}+/gu), "price: ٣٤٥ or 345".match(/\p{Nd}+/gu));
log("Ελληνικά and English".match(/\p{Script=Greek}+/u)![0], /\p{Lu}/u.test("É"), /\P{L}/u.test("a"));
log("\u{1F600}".match(/\u{1F600}/u)![0].length, /[\u{1F600}-\u{1F64F}]/u.test("🙃"), /\p{Emoji_Presentation}/u.test("🦀"));
log(/ſ/iu.test("s"), /ſ/i.test("s"), /\u212A/iu.test("k"), /[^a]/u.exec("\u{10000}")![0].length);
log("straße".replace(/ß/g, "ss"), /STRASSE/i.test("straße"), "İstanbul".match(/i/giu));
log(/\bé/u.test("é"), /\w/u.test("é"), /[\w]/iu.test("\u017F"));

log("-- lookbehind and lookahead");
log("$10 €20 $30".match(/(?<=\$)\d+/g), "$10 €20 $30".match(/(?<!\$)\b\d+/g), "abc123def".replace(/(?<=\d)(?=[a-z])/, "|"));
log("1234567.891".replace(/\B(?=(\d{3})+(?!\d))/g, ","), "password1".match(/^(?=.*\d)(?=.*[a-z]).{8,}$/) !== null);

log("-- global and sticky state");
const g = /o/g;
log(g.test("foo"), g.lastIndex, g.test("foo"), g.lastIndex, g.test("foo"), g.lastIndex);
const sticky = /\d+/y;
sticky.lastIndex = 3;
log(sticky.exec("abc123 456")?.[0], sticky.lastIndex, sticky.exec("abc123 456"), sticky.lastIndex);
const tokens: string[] = [];
const lexer = /\s*(?:(?<num>\d+)|(?<op>[+*/()-]))/y;
let t: RegExpExecArray | null;
while ((t = lexer.exec("12 + (34*5) - 6"))) tokens.push(t.groups!.num ?? t.groups!.op!);
log(tokens.join(" "));
log("aaa".replace(/a*?/g, "-"), "abc".split(/(?:)/u), "a,b,,c".split(/,/), "a1b2c3".split(/(\d)/), "abc".split(/b/, 1));
log("x".replace(/x/, "$&$&$$$`$'"), "abc".replace(/b/, "[$`|$&|$']"), "abc".replace("b", () => "$&"));
log("aXbXc".replaceAll("X", (s, i) => `${s.toLowerCase()}${i}`), "aaa".replaceAll(/a/g, "$&b"));

log("-- match indices");
const withIndices = /(?<key>\w+)=(?<value>\w*)/d.exec("  color=red;")!;
log(withIndices.indices![0], withIndices.indices![1], withIndices.indices!.groups!.value, withIndices.indices!.groups!.key);

log("-- source, flags, toString");
log(/a\/b/.source, new RegExp("a/b").source, new RegExp("").source, new RegExp("\n").source, String(/x/gimsuy), /x/dg.flags);
log(new RegExp(/ab/g, "i").flags, RegExp.prototype.toString.call(/[/]/), /[\]]/.test("]"));
const re = /a/gimsuyd;
log(re.global, re.ignoreCase, re.multiline, re.dotAll, re.unicode, re.sticky, re.hasIndices);
log(/^b/m.test("a\nb"), /^b/.test("a\nb"), /a.c/s.test("a\nc"), /a.c/.test("a\nc"));

log("-- catastrophic-looking but linear patterns, and long inputs");
const long = "ab".repeat(5000);
log(long.match(/(ab)+/)![0].length, long.replace(/b/g, "").length, long.split(/a/).length, /^(?:ab)*$/.test(long));
log("The Quick Brown Fox".replace(/\b(\w)(\w*)/g, (_, first: string, rest: string) => rest.toUpperCase() + first.toLowerCase()));
log(Symbol.replace in RegExp.prototype, typeof RegExp.prototype[Symbol.matchAll], RegExp.prototype.flags);
const species = /x/g;
log([..."x1x2".matchAll(species)].map((r) => r.index), species.lastIndex);
try {
  new RegExp("(");
} catch (e) {
  log("bad pattern:", (e as Error).name);
}
try {
  "x".matchAll(/x/);
} catch (e) {
  log("matchAll without g:", (e as Error).name);
}
log(/(a)|(b)/.exec("b"), "ABC".match(/b/i));
log("-- done");
