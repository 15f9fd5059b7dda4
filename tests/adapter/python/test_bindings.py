"""The ctypes bindings against the ABI's single source of numbers, and error mapping in-process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import ukernel_abi
import ukernel_abi_numbers as abi
from conftest import ADAPTER


def test_every_call_of_the_spec_has_a_binding_and_no_binding_is_extra():
    # The library's calls (the sockets) too: libukernel_abi.so carries them out over the host's sockets.
    assert set(ukernel_abi.SIGNATURES) == set(abi.CALLS)
    assert set(abi.LIBRARY_CALLS) <= set(ukernel_abi.SIGNATURES)


def test_every_error_code_maps_to_its_exception_class():
    for code, name in abi.ERROR_NAMES.items():
        if code == abi.OK:
            continue
        cls = ukernel_abi._ERRORS[code]
        assert cls.code == code, name
    assert issubclass(ukernel_abi.CapabilityError, PermissionError)


def test_errors_raised_by_the_host_library(abi_lib):
    script = textwrap.dedent(
        """
        import ukernel_abi as u
        a = u.Abi()
        try:
            a.cap_acquire(5)
        except u.CapabilityError as e:
            print("net", type(e).__name__)
        a.enter(2)
        t = a.timer_create()
        a.close(t)
        try:
            a.timer_arm(t, 1)
        except u.BadHandleError:
            print("stale", "BadHandleError")
        try:
            a.io_register(a.timer_create(), abi_writable := 2, 0)
        except u.InvalidArgumentError:
            print("writable timer", "InvalidArgumentError")
        print("clock", a.clock_now() >= 0)
        """
    )
    env = {**os.environ, "UKERNEL_ABI_LIB": str(abi_lib), "UKERNEL_CAPS": "log,time", "PYTHONPATH": str(ADAPTER)}
    p = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:4] == ["net CapabilityError", "stale BadHandleError", "writable timer InvalidArgumentError", "clock True"]


def test_host_task_spawn_refusals_leave_no_phantom_task(abi_lib):
    script = textwrap.dedent(
        """
        import ctypes
        import ukernel_abi as u
        a = u.Abi()
        a.enter(3)  # task
        stack = ctypes.create_string_buffer(64)
        kinds = set()
        for _ in range(40):  # more than MAX_TASKS: a task slot taken per refusal would end in NoSpace
            try:
                a.call("task_spawn", 0x1000, 0, ctypes.cast(stack, ctypes.c_void_p), 64)  # too small a stack
            except u.UkernelError as e:
                kinds.add(type(e).__name__)
        print(sorted(kinds), a.call("task_yield"))
        """
    )
    env = {**os.environ, "UKERNEL_ABI_LIB": str(abi_lib), "UKERNEL_CAPS": "task", "PYTHONPATH": str(ADAPTER)}
    p = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "['InvalidArgumentError'] 0"
