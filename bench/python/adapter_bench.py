"""Part of `npm run bench`: asyncio timer lateness through the Zigu adapter (libukernel_abi.so,
io_poll, ABI timers) against plain asyncio on the same machine, as a ratio of medians.
The loopback TCP echo figure waits for CAP_NET in the ABI."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ADAPTER = REPO / "adapter" / "python-3.12"
WORKLOAD = Path(__file__).resolve().parent / "timer_workload.py"


def figures(out: str) -> tuple[float, float]:
    m = re.search(r"median_us=(\d+) p99_us=(\d+)", out)
    if not m:
        raise SystemExit(f"no figures in:\n{out}")
    return float(m[1]), float(m[2])


def main() -> None:
    subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "ziglang", "build", "install", "--summary", "none"], cwd=REPO, check=True)
    with tempfile.TemporaryDirectory() as d:
        project = Path(d)
        shutil.copy(WORKLOAD, project / "main.py")
        (project / "ukernel.toml").write_text('[workload]\nname = "bench"\nentry = "main.py"\nruntime = "python"\n\n[capabilities]\nallow = ["time"]\n')
        env = {**os.environ, "UKERNEL_ABI_LIB": str(REPO / "zig-out" / "lib" / "libukernel_abi.so"), "PYTHONPATH": str(ADAPTER)}
        adapted = subprocess.run([sys.executable, str(ADAPTER / "runtime.py"), "--project", d], env=env, capture_output=True, text=True, check=True)
        plain = subprocess.run([sys.executable, str(WORKLOAD)], capture_output=True, text=True, check=True)
    a, p = figures(adapted.stdout), figures(plain.stdout)
    print("\nasyncio.sleep(1 ms) lateness, 300 sleeps: Zigu adapter vs plain asyncio")
    print(f"  adapter median {a[0]:.0f} us, p99 {a[1]:.0f} us; plain median {p[0]:.0f} us, p99 {p[1]:.0f} us; median ratio {a[0] / max(p[0], 1):.2f}x")


if __name__ == "__main__":
    main()
