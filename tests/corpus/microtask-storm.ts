// A microtask storm: hundreds of thousands of Promise jobs and queueMicrotask callbacks, long
// then-chains, deep await recursion and fan-out/fan-in, all of which must finish before the next
// timer, in the specification's order. Checksums keep the output short.
export {};

const log = console.log;

log("-- a timer waits for the whole storm");
{
  const events: string[] = [];
  setTimeout(() => events.push("timer"), 0);
  let n = 0;
  const spin = (): void => {
    n++;
    if (n < 100000) queueMicrotask(spin);
    else events.push(`microtasks done at ${n}`);
  };
  queueMicrotask(spin);
  await new Promise((r) => setTimeout(r, 1));
  log(events.join(", "));
}

log("-- a long then-chain");
{
  let p: Promise<number> = Promise.resolve(0);
  for (let i = 0; i < 50000; i++) p = p.then((v) => v + i);
  log(await p);
}

log("-- interleaving of many independent chains");
{
  const trace: number[] = [];
  const chains = 50;
  const depth = 40;
  await Promise.all(Array.from({ length: chains }, async (_, c) => {
    for (let d = 0; d < depth; d++) {
      if (c % 7 === 0 && d % 5 === 0) trace.push(c * 1000 + d);
      await null;
    }
  }));
  log(trace.length, trace.slice(0, 16).join(" "), trace.slice(-8).join(" "));
  let h = 0;
  for (const t of trace) h = (Math.imul(h, 31) + t) | 0;
  log("order hash", h);
}

log("-- deep await recursion");
{
  async function depth(n: number): Promise<number> {
    if (n === 0) return 0;
    return 1 + (await depth(n - 1));
  }
  log(await depth(5000));
  async function* countdown(n: number): AsyncGenerator<number> {
    while (n > 0) yield n--;
  }
  let sum = 0;
  for await (const v of countdown(20000)) sum += v;
  log(sum);
}

log("-- fan-out and fan-in");
{
  const all = await Promise.all(Array.from({ length: 20000 }, (_, i) => Promise.resolve(i).then((v) => v * 2)));
  log(all.length, all.reduce((a, b) => a + b, 0));
  const settled = await Promise.allSettled(Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? Promise.reject(new Error(String(i))) : Promise.resolve(i))));
  log(settled.filter((r) => r.status === "rejected").length, settled.filter((r) => r.status === "fulfilled").length);
  const winner = await Promise.race(Array.from({ length: 1000 }, (_, i) => new Promise<number>((r) => queueMicrotask(() => r(i)))));
  log("race winner", winner);
  const first = await Promise.any(Array.from({ length: 1000 }, (_, i) => (i < 999 ? Promise.reject(new Error("no")) : Promise.resolve("the last one"))));
  log("any", first);
}

log("-- ordering between queueMicrotask, then and await at scale");
{
  const order: string[] = [];
  for (let i = 0; i < 5; i++) {
    queueMicrotask(() => order.push(`q${i}`));
    Promise.resolve().then(() => order.push(`p${i}`));
    (async () => { await null; order.push(`a${i}`); await null; order.push(`A${i}`); })();
  }
  await new Promise((r) => setTimeout(r, 0));
  log(order.join(" "));
}

log("-- microtasks scheduled from timers run before the next timer");
{
  const trace: string[] = [];
  await new Promise<void>((done) => {
    for (let t = 0; t < 5; t++) {
      setTimeout(() => {
        trace.push(`T${t}`);
        let k = 0;
        const burst = () => { if (++k < 1000) queueMicrotask(burst); else trace.push(`burst${t}`); };
        queueMicrotask(burst);
        if (t === 4) setTimeout(done, 1);
      }, 2);
    }
  });
  log(trace.join(" "));
}
log("-- done");
