"""Real asyncio programs through the Zigu runtime: timers, cancellation, timeouts, TaskGroup,
queues, capability denial, and what the ABI cannot do yet."""

from __future__ import annotations

import ast

import pytest


def last_line(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_call_later_and_call_at_fire_in_deadline_order_not_before_their_time(run_workload):
    r = run_workload(
        """
        import asyncio

        async def main():
            loop = asyncio.get_running_loop()
            fired = []
            t0 = loop.time()
            for name, delay in [("c", 0.03), ("a", 0.01), ("b", 0.02)]:
                loop.call_later(delay, lambda n=name: fired.append((n, loop.time() - t0)))
            loop.call_at(t0 + 0.015, lambda: fired.append(("at", loop.time() - t0)))
            await asyncio.sleep(0.05)
            print(fired)
        """
    )
    assert r.code == 0, r.stderr
    fired = ast.literal_eval(last_line(r.stdout))
    assert [n for n, _ in fired] == ["a", "at", "b", "c"]
    for (name, at), want in zip(fired, [0.01, 0.015, 0.02, 0.03]):
        assert at >= want - 1e-3, f"{name} fired at {at}, before {want}"


def test_sleep_gather_and_the_loop_clock_come_from_the_abi(run_workload):
    r = run_workload(
        """
        import asyncio, time

        async def main():
            loop = asyncio.get_running_loop()
            assert type(loop).__name__ == "UkernelEventLoop"
            t0, w0 = loop.time(), time.monotonic()
            results = await asyncio.gather(asyncio.sleep(0.02, "x"), asyncio.sleep(0.01, "y"))
            print(results, round(loop.time() - t0, 3) >= 0.02, abs((loop.time() - t0) - (time.monotonic() - w0)) < 0.01)
        """
    )
    assert r.code == 0, r.stderr
    assert last_line(r.stdout) == "['x', 'y'] True True"


def test_wait_for_and_timeout_expire_and_cancellation_runs_cleanup(run_workload):
    r = run_workload(
        """
        import asyncio

        async def main():
            log = []
            async def worker():
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    log.append("cleanup")
                    raise
            try:
                await asyncio.wait_for(worker(), 0.02)
            except TimeoutError:
                log.append("wait_for timeout")
            t = asyncio.create_task(worker())
            await asyncio.sleep(0.01)
            t.cancel()
            try:
                await t
            except asyncio.CancelledError:
                log.append("cancelled")
            try:
                async with asyncio.timeout(0.01):
                    await asyncio.sleep(1)
            except TimeoutError:
                log.append("timeout block")
            print(log)
        """
    )
    assert r.code == 0, r.stderr
    assert last_line(r.stdout) == "['cleanup', 'wait_for timeout', 'cleanup', 'cancelled', 'timeout block']"


def test_taskgroup_and_queue(run_workload):
    r = run_workload(
        """
        import asyncio

        async def main():
            q = asyncio.Queue(maxsize=2)
            got = []
            async def producer():
                for i in range(5):
                    await q.put(i)
                    await asyncio.sleep(0.001)
                await q.put(None)
            async def consumer():
                while (item := await q.get()) is not None:
                    got.append(item)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(producer())
                tg.create_task(consumer())
            try:
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(asyncio.sleep(1))  # cancelled when boom fails
                    async def boom():
                        await asyncio.sleep(0.005)
                        raise ValueError("boom")
                    tg.create_task(boom())
            except* ValueError as eg:
                got.append(str(eg.exceptions[0]))
            print(got)
        """
    )
    assert r.code == 0, r.stderr
    assert last_line(r.stdout) == "[0, 1, 2, 3, 4, 'boom']"


def test_main_result_is_the_exit_status_and_an_exception_is_1(run_workload):
    assert run_workload("async def main():\n    return 7\n").code == 7
    r = run_workload("async def main():\n    raise RuntimeError('bad')\n")
    assert r.code == 1
    assert "RuntimeError: bad" in r.stderr


def test_capability_denial_surfaces_as_a_permission_error(run_workload):
    r = run_workload(
        """
        import sys
        from runtime import ukernel
        from ukernel_abi import CapabilityError

        async def main():
            print("printed through log")
            try:
                ukernel().cap_acquire(6)  # random: outside this policy
            except PermissionError as e:
                print("policy:", e)
            ukernel().log("logged through the ABI")
            ukernel().cap_drop(1)  # log, for good
            try:
                print("after drop")
            except CapabilityError as e:
                sys.__stdout__.write(f"refused: {isinstance(e, PermissionError)} {e}\\n")
                sys.__stdout__.flush()
            ukernel().log("after drop, by hand")
        """,
        caps=("log", "time"),
    )
    assert r.code == 1, r.stdout + r.stderr
    assert "printed through log" in r.stdout
    assert "policy: cap_acquire: ERR_PERMISSION" in r.stdout
    assert "logged through the ABI" in r.stdout
    assert "after drop" not in r.stdout.replace("refused", "")
    assert "refused: True log: ERR_PERMISSION" in r.stdout
    assert "runtime: capability refused: log: ERR_PERMISSION" in r.stderr


def test_print_without_the_log_capability_is_refused_not_silent(run_workload):
    r = run_workload('async def main():\n    print("hello")\n', caps=("time",))
    assert r.code == 1
    assert "hello" not in r.stdout
    assert "runtime: capability refused: log: ERR_PERMISSION" in r.stderr


def test_stderr_goes_through_log_at_the_error_level(run_workload):
    r = run_workload('import sys\nasync def main():\n    print("oops", file=sys.stderr)\n    print("partial", end="")\n')
    assert r.code == 0, r.stderr
    assert "error: oops\n" in r.stdout
    assert r.stdout.endswith("partial\n")


def test_without_the_time_capability_the_runtime_says_why(run_workload):
    r = run_workload("async def main():\n    return 0\n", caps=("log",))
    assert r.code == 2
    assert 'asyncio needs the time capability' in r.stderr


@pytest.mark.parametrize(
    "body, needs",
    [
        ("await asyncio.get_running_loop().create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=('127.0.0.1', 0))", "a datagram transport"),
        ("await asyncio.open_connection('127.0.0.1', 9, ssl=True)", "a TLS library"),
        ("asyncio.get_running_loop().add_reader(0, print)", "CAP_IO"),
        ("await asyncio.create_subprocess_exec('true')", "a process capability"),
        ("asyncio.get_running_loop().add_signal_handler(2, print)", "signals"),
        ("await asyncio.to_thread(print)", "threads"),
    ],
)
def test_what_the_abi_cannot_do_yet_raises_not_implemented_naming_it(run_workload, body, needs):
    r = run_workload(
        f"""
        import asyncio

        async def main():
            try:
                {body}
            except NotImplementedError as e:
                print("NotImplementedError:", e)
        """
    )
    assert r.code == 0, r.stderr
    assert f"needs {needs}" in r.stdout


def test_a_loop_with_nothing_to_wait_for_fails_instead_of_hanging(run_workload):
    r = run_workload(
        """
        import asyncio

        async def main():
            await asyncio.get_running_loop().create_future()  # never resolved
        """,
        timeout=30,
    )
    assert r.code == 1
    assert "would wait for ever" in r.stderr
