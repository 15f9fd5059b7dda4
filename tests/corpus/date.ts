// Date in UTC only (fixed timestamps, UTC getters and setters, ISO and UTC strings): the guest's
// time zone is UTC and the host's may not be, so nothing here depends on the local zone or on
// the current time.
export {};

const log = console.log;

const epoch = new Date(0);
log(epoch.toISOString(), epoch.toUTCString(), epoch.getTime(), epoch.valueOf(), JSON.stringify(epoch));
const leap = new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 999));
log(leap.toISOString(), leap.getUTCFullYear(), leap.getUTCMonth(), leap.getUTCDate(), leap.getUTCDay(), leap.getUTCHours(), leap.getUTCMinutes(), leap.getUTCSeconds(), leap.getUTCMilliseconds());
log(new Date(leap.getTime() + 1).toISOString(), leap.toUTCString(), leap.toJSON());

log("-- Date.UTC and overflow");
log(Date.UTC(2000, 0), Date.UTC(2000), Date.UTC(99, 0, 1), Date.UTC(100, 0, 1), Date.UTC(-1, 0, 1), Date.UTC(275760, 8, 13));
log(new Date(Date.UTC(2021, 12, 1)).toISOString(), new Date(Date.UTC(2021, 0, 0)).toISOString(), new Date(Date.UTC(2021, 1, 31)).toISOString());
log(new Date(Date.UTC(2021, 0, 1, 25, 61, 61, 1001)).toISOString(), new Date(Date.UTC(2021, -1, 1)).toISOString());
log(Date.UTC(NaN), Date.UTC(2020, 0, 1.9), Date.UTC(2020, 0.9, 1));

log("-- the range of time values");
log(new Date(8.64e15).toISOString(), new Date(-8.64e15).toISOString(), new Date(8.64e15 + 1).getTime(), String(new Date(NaN)));
log(new Date(-1).toISOString(), new Date(-62198755200000).toISOString(), new Date(253402300800000).toISOString(), new Date(-62167219200001).toISOString());
try {
  new Date(NaN).toISOString();
} catch (e) {
  log("toISOString of an invalid date:", (e as Error).name);
}
log(new Date(NaN).toJSON(), JSON.stringify({ d: new Date(NaN) }), new Date(NaN).getUTCFullYear(), isNaN(new Date("not a date").getTime()));

// Only strings in the format: the language leaves anything else (Feb 30, hour 24 with minutes,
// more or fewer than three fraction digits) to the engine's own heuristics.
log("-- parsing the ISO format (the one format the language defines)");
for (const s of ["2020-01-02T03:04:05.678Z", "2020-01-02T03:04:05Z", "2020-01-02T03:04Z", "2020-01-02", "2020-01", "2020", "+002020-01-02T00:00:00.000Z", "-000001-01-01T00:00:00Z", "2020-01-02T03:04:05.678+05:30", "2020-01-02T03:04:05-08:00", "2020-01-02T24:00:00Z", "1970-01-01T00:00:00.000Z"]) {
  const t = Date.parse(s);
  log(s.padEnd(34), Number.isNaN(t) ? "NaN" : `${t} ${new Date(t).toISOString()}`);
}
log(Date.parse(new Date(Date.UTC(2001, 8, 9, 1, 46, 40)).toUTCString()), Date.parse(new Date(1e12).toISOString()));

log("-- UTC setters");
const d = new Date(Date.UTC(2020, 0, 31));
log(d.setUTCMonth(1), d.toISOString());
log(d.setUTCDate(0), d.toISOString());
log(d.setUTCFullYear(2023, 11, 31), d.toISOString());
log(d.setUTCHours(48, 30, 15, 500), d.toISOString());
log(d.setUTCMinutes(-1), d.toISOString());
log(d.setUTCSeconds(3600), d.toISOString());
log(d.setUTCMilliseconds(-1), d.toISOString());
log(d.setTime(1e12), d.toISOString(), d.setTime(NaN), d.getTime());
log(d.setUTCFullYear(2000), d.toISOString());

log("-- arithmetic and comparison");
const a = new Date(Date.UTC(2024, 2, 10));
const b = new Date(Date.UTC(2024, 10, 3));
log((b.getTime() - a.getTime()) / 86400000, +b > +a, a < b, a.getTime() === new Date(a).getTime(), a === new Date(a));
const days: string[] = [];
for (let t = Date.UTC(2024, 1, 26); t <= Date.UTC(2024, 2, 3); t += 86400000) {
  const x = new Date(t);
  days.push(`${["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][x.getUTCDay()]} ${x.getUTCDate()}`);
}
log(days.join(", "));
function isoWeek(t: number): string {
  const date = new Date(t);
  const day = (date.getUTCDay() + 6) % 7;
  date.setUTCDate(date.getUTCDate() - day + 3);
  const firstThursday = new Date(Date.UTC(date.getUTCFullYear(), 0, 4));
  const week = 1 + Math.round(((date.getTime() - firstThursday.getTime()) / 86400000 - 3 + ((firstThursday.getUTCDay() + 6) % 7)) / 7);
  return `${date.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}
log([Date.UTC(2020, 11, 31), Date.UTC(2021, 0, 3), Date.UTC(2021, 0, 4), Date.UTC(2026, 11, 2), Date.UTC(2027, 0, 1)].map(isoWeek).join(" "));
const months = Array.from({ length: 12 }, (_, m) => new Date(Date.UTC(2023, m + 1, 0)).getUTCDate());
log(months.join(" "), [1900, 2000, 2023, 2024, 2100].map((y) => new Date(Date.UTC(y, 2, 0)).getUTCDate()).join(" "));
log(new Date(2020, 0).getTime() === new Date(2020, 0).getTime(), typeof Date.now(), Date.length, new Date(1e12).getTimezoneOffset() === new Date(1e12).getTimezoneOffset());

log("-- console.log of dates");
log(new Date(Date.UTC(1999, 11, 31, 23, 59, 59)));
log([new Date(0), { at: new Date(1e12) }]);
log(new Date(NaN));
log(Object.prototype.toString.call(new Date(0)), typeof new Date(0), Date.prototype.constructor === Date);
log(new Date(new Date(5)).getTime(), new Date("1970-01-01T00:00:00.007Z").getTime(), new Date(2e12).toISOString());
log("-- done");
