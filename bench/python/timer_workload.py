"""Timer wake-up lateness of asyncio.sleep(1 ms), 300 times: run as a Zigu workload (through the
adapter) and as plain asyncio, by bench/python/adapter_bench.py."""

import asyncio
import statistics


async def main() -> int:
    loop = asyncio.get_running_loop()
    late = []
    for _ in range(300):
        t = loop.time()
        await asyncio.sleep(0.001)
        late.append((loop.time() - t - 0.001) * 1e6)
    late.sort()
    print(f"median_us={statistics.median(late):.0f} p99_us={late[int(len(late) * 0.99)]:.0f}")
    return 0


if __name__ == "__main__":
    asyncio.run(main())
