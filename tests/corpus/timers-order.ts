// Microtasks and timers: the order Node prints. Microtasks (Promise jobs, queueMicrotask, await)
// drain after every macrotask, before the next timer; timers fire by deadline, FIFO for equal
// ones; setTimeout(0) is setTimeout(1). Only orders Node itself fixes are used: no
// setTimeout-vs-setImmediate race from the main module, and timers of different delays are at
// least ~20 ms apart (Node keeps one list per delay, and a host that pauses the process for a few
// milliseconds while it creates timers can reorder lists whose deadlines are close).
export {};

const log = (s: string) => console.log(s);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Waits without yielding: a deadline counts from the moment its timer is created (Node reads the
// clock in setTimeout), not from the start of the macrotask.
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* spin */ }
}

async function section1(): Promise<void> {
  log("-- 1: sync, then microtasks, then timers");
  await new Promise<void>((done) => {
    log("sync 1");
    setTimeout(() => log("timeout 0 (a)"), 0);
    setTimeout(() => log("timeout 1 (b)"), 1);
    setTimeout(() => { log("timeout 0 (c)"); done(); }, 0);
    Promise.resolve().then(() => log("promise 1"));
    queueMicrotask(() => log("microtask 1"));
    (async () => {
      log("async start");
      await null;
      log("async after await 1");
      await null;
      log("async after await 2");
    })();
    Promise.resolve().then(() => log("promise 2")).then(() => log("promise 2 then"));
    queueMicrotask(() => {
      log("microtask 2");
      queueMicrotask(() => log("microtask 2 nested"));
      Promise.resolve().then(() => log("promise from microtask 2"));
    });
    log("sync 2");
  });
}

async function section2(): Promise<void> {
  log("-- 2: deadlines in order, whatever the creation order");
  const order: number[] = [];
  await new Promise<void>((done) => {
    for (const ms of [80, 20, 60, 1, 40, 0, 20]) {
      setTimeout(() => {
        order.push(ms);
        log(`timeout ${ms}`);
        if (order.length === 7) done();
      }, ms);
    }
  });
  log(`order ${order.join(",")}`);
}

async function section3(): Promise<void> {
  log("-- 3: microtasks between two timers of the same deadline");
  await new Promise<void>((done) => {
    setTimeout(() => {
      log("timer A");
      Promise.resolve().then(() => log("A's promise"));
      queueMicrotask(() => log("A's microtask"));
    }, 5);
    setTimeout(() => {
      log("timer B");
      Promise.resolve().then(() => { log("B's promise"); done(); });
    }, 5);
  });
}

async function section4(): Promise<void> {
  log("-- 4: clearTimeout from an earlier timer, from a microtask, and of a fired timer");
  await new Promise<void>((done) => {
    const later = setTimeout(() => log("never: cleared by the 5 ms timer"), 40);
    const viaMicrotask = setTimeout(() => log("never: cleared from a microtask"), 30);
    const fired = setTimeout(() => log("fired once"), 1);
    setTimeout(() => {
      log("5 ms timer clears the 40 ms one");
      clearTimeout(later);
      clearTimeout(fired);
      Promise.resolve().then(() => clearTimeout(viaMicrotask));
    }, 5);
    setTimeout(() => { log("60 ms timer: done"); done(); }, 60);
    clearTimeout(undefined);
    clearTimeout(123456);
  });
}

async function section5(): Promise<void> {
  log("-- 5: setInterval runs until cleared; arguments reach the callback");
  await new Promise<void>((done) => {
    let n = 0;
    const id = setInterval((a: string, b: number) => {
      n++;
      log(`interval ${n} ${a} ${b}`);
      if (n === 5) {
        clearInterval(id);
        setTimeout(() => { log("after the interval"); done(); }, 1);
      }
    }, 20, "arg", 42);
    setTimeout((x: string, y: string, z: string) => log(`timeout args ${x}${y}${z}`), 1, "x", "y", "z");
  });
}

async function section6(): Promise<void> {
  log("-- 6: timers created inside timers and microtasks");
  await new Promise<void>((done) => {
    setTimeout(() => {
      log("outer 1");
      setTimeout(() => log("inner from outer 1 (0 ms)"), 0);
      Promise.resolve().then(() => {
        log("outer 1 microtask");
        setTimeout(() => log("inner from outer 1's microtask (0 ms)"), 0);
      });
    }, 1);
    // Far later than outer 1's inner timers, however late each one fires on a loaded host.
    setTimeout(() => {
      log("outer 2 (150 ms)");
      done();
    }, 150);
  });
}

async function section7(): Promise<void> {
  log("-- 7: a deadline counts from when its timer is created");
  await new Promise<void>((done) => {
    setTimeout(() => log("30 ms timer, created first"), 30);
    busy(50);
    setTimeout(() => log("1 ms timer, created 50 ms later"), 1);
    setTimeout(() => { log("25 ms timer, created last"); done(); }, 25);
  });
}

async function section8(): Promise<void> {
  log("-- 8: await ordering against then chains");
  const out: string[] = [];
  const p = Promise.resolve();
  (async () => {
    out.push("a1");
    await p;
    out.push("a2");
    await p;
    out.push("a3");
  })();
  p.then(() => out.push("t1")).then(() => out.push("t2")).then(() => out.push("t3"));
  (async () => {
    out.push("b1");
    await new Promise<void>((r) => r());
    out.push("b2");
    // an async function's returned promise resolves to another promise: two extra ticks
    await (async () => p)();
    out.push("b3");
  })();
  await sleep(1);
  log(out.join(" "));
}

async function section9(): Promise<void> {
  log("-- 9: top-level await, then sleeps in sequence");
  for (const ms of [3, 1, 2]) {
    await sleep(ms);
    log(`slept ${ms}`);
  }
  const results: string[] = [];
  await Promise.all([sleep(40).then(() => results.push("40")), sleep(2).then(() => results.push("2")), sleep(20).then(() => results.push("20"))]);
  log(`parallel sleeps finished in order ${results.join(",")}`);
}

async function section10(): Promise<void> {
  log("-- 10: process.nextTick against promises, in a timer and after an await");
  const inTimer: string[] = [];
  await new Promise<void>((done) => {
    setTimeout(() => {
      Promise.resolve().then(() => {
        inTimer.push("promise 1");
        process.nextTick(() => inTimer.push("tick from promise 1"));
      });
      queueMicrotask(() => inTimer.push("microtask"));
      process.nextTick(() => {
        inTimer.push("tick 1");
        process.nextTick(() => inTimer.push("tick from tick 1"));
        Promise.resolve().then(() => inTimer.push("promise from tick 1"));
      });
      process.nextTick((a: string, b: number) => inTimer.push(`tick 2 ${a} ${b}`), "arg", 2);
      setTimeout(done, 1);
    }, 1);
  });
  log(inTimer.join(", "));
  const afterAwait: string[] = [];
  process.nextTick(() => afterAwait.push("tick"));
  Promise.resolve().then(() => afterAwait.push("promise"));
  await new Promise((r) => setTimeout(r, 1));
  log(afterAwait.join(", "));
}

await section1();
await section2();
await section3();
await section4();
await section5();
await section6();
await section7();
await section8();
await section9();
await section10();
log("done");
