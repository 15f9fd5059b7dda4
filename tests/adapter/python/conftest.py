"""Fixtures for the asyncio adapter's tests: the host library, and workload projects run through
the real runtime (adapter/python-3.12/runtime.py) in a subprocess, as `ukernel adapter` runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
ADAPTER = REPO / "adapter" / "python-3.12"
sys.path.insert(0, str(ADAPTER))


@pytest.fixture(scope="session")
def abi_lib() -> Path:
    """libukernel_abi.so, built by the project's pinned Zig."""
    subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "ziglang", "build", "install", "--summary", "none"], cwd=REPO, check=True, timeout=1800)
    lib = REPO / "zig-out" / "lib" / "libukernel_abi.so"
    assert lib.exists()
    return lib


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_workload(tmp_path: Path, abi_lib: Path):
    """Writes ukernel.toml and main.py (the given source) into a project and runs the runtime on it."""

    def run(source: str, caps: tuple[str, ...] = ("log", "time"), timeout: float = 60, env: dict[str, str] | None = None) -> Result:
        (tmp_path / "ukernel.toml").write_text(
            textwrap.dedent(
                f"""\
                [workload]
                name = "test"
                entry = "main.py"
                runtime = "python"

                [capabilities]
                allow = [{", ".join(f'"{c}"' for c in caps)}]
                """
            )
        )
        (tmp_path / "main.py").write_text(textwrap.dedent(source))
        full_env = {**os.environ, "UKERNEL_ABI_LIB": str(abi_lib), "PYTHONPATH": str(ADAPTER)}
        full_env.pop("UKERNEL_CAPS", None)
        full_env.update(env or {})  # the network policy (UKERNEL_NET_*), as `ukernel adapter` sets it
        p = subprocess.run([sys.executable, str(ADAPTER / "runtime.py"), "--project", str(tmp_path)], env=full_env, capture_output=True, text=True, timeout=timeout)
        return Result(p.returncode, p.stdout, p.stderr)

    return run
