// Timers at scale: thousands of timers at once, fired in deadline order and FIFO within a
// deadline; thousands cleared; intervals; long chains of nested timers; timers that create
// timers. Checksums and counts keep the output short; the orders are printed as hashes.
export {};

const log = console.log;
const hash = (xs: number[]) => xs.reduce((h, x) => (Math.imul(h, 31) + x) | 0, 7);

log("-- 3000 timers with 30 different delays");
{
  // Creating 3000 timers takes tens of milliseconds (more under emulation), longer than the gap
  // between two delays, so how the groups interleave is the event loop's own business: Node runs
  // each delay's list in turn (and under load even a timer created earlier with a shorter delay
  // can run later), a strict deadline order is as valid. What Node keeps: FIFO within a delay.
  const groups = 30;
  const group = (i: number) => (i * 7) % groups;
  const groupDelay = (g: number) => Math.max(1, g * 10);
  const delayOf = (i: number) => groupDelay(group(i));
  const fired: number[] = [];
  await new Promise<void>((done) => {
    for (let i = 0; i < 3000; i++) {
      setTimeout(() => {
        fired.push(i);
        if (fired.length === 3000) done();
      }, delayOf(i));
    }
  });
  const firedOf = new Array<number>(groups).fill(0);
  let fifo = true;
  const lastInGroup = new Array<number>(groups).fill(-1);
  for (const i of fired) {
    const g = group(i);
    if (lastInGroup[g]! > i) fifo = false;
    lastInGroup[g] = i;
    firedOf[g]!++;
  }
  log(fired.length, "fired once each:", new Set(fired).size === 3000, "FIFO within a delay:", fifo, "first:", fired[0], "last of the 1 ms group:", lastInGroup[0]);
  log("per delay", firedOf.join(" "));
}

log("-- 2000 timers, every other one cleared");
{
  let ran = 0;
  let clearedRan = 0;
  const ids: number[] = [];
  await new Promise<void>((done) => {
    for (let i = 0; i < 2000; i++) ids.push(setTimeout(() => (i % 2 ? clearedRan++ : ran++), 5 + (i % 10)));
    for (let i = 1; i < 2000; i += 2) clearTimeout(ids[i]);
    setTimeout(done, 40);
  });
  log("ran", ran, "cleared but ran", clearedRan, "distinct ids", new Set(ids).size);
}

log("-- 100 intervals, each cleared after its fifth run");
{
  const counts = new Array<number>(100).fill(0);
  let finished = 0;
  await new Promise<void>((done) => {
    for (let i = 0; i < 100; i++) {
      const id = setInterval(() => {
        if (++counts[i]! === 5) {
          clearInterval(id);
          if (++finished === 100) done();
        }
      }, 2 + (i % 5));
    }
  });
  log("runs", counts.reduce((a, b) => a + b, 0), "all five", counts.every((c) => c === 5));
}

log("-- a chain of 300 nested timers");
{
  let depth = 0;
  await new Promise<void>((done) => {
    const next = () => {
      if (++depth === 300) done();
      else setTimeout(next, 0);
    };
    setTimeout(next, 0);
  });
  log("depth", depth);
}

log("-- 2 timer trees fanning out to 1000 leaves");
{
  let leaves = 0;
  const trail: number[] = [];
  await new Promise<void>((done) => {
    const grow = (id: number, level: number) => {
      if (level === 3) {
        leaves++;
        if (id % 97 === 0) trail.push(id);
        if (leaves === 1000) done();
        return;
      }
      const branches = level === 0 ? 5 : 10;
      for (let b = 0; b < branches; b++) setTimeout(() => grow(id * 10 + b, level + 1), 1);
    };
    for (let root = 0; root < 2; root++) setTimeout(() => grow(root, 0), 1);
  });
  log("leaves", leaves, "trail", trail.join(" "));
}

log("-- equal deadlines keep creation order, 0 and 1 ms are one list");
{
  const out: string[] = [];
  await new Promise<void>((done) => {
    for (let i = 0; i < 1000; i++) setTimeout(() => out.push(String(i)), i % 2);
    setTimeout(done, 5);
  });
  log(out.length, out.slice(0, 10).join(","), out.every((v, i) => Number(v) === i) ? "FIFO" : "not FIFO");
}
log("-- done");
