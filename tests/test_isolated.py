"""benchmarks/isolated.py: a measurement's child process dies with its parent, also when a signal ends the
parent (a SIGTERM skips the parent's cleanup; one orphaned worker once ran for 45 minutes beside later
measurements)."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def write_sleeper(folder: Path) -> None:
    """sleeper.sleep(path, queue): writes its pid to path, then sleeps two minutes."""
    (folder / "sleeper.py").write_text(
        "import os, time\n\n\ndef sleep(path, queue):\n"
        "    open(path, 'w').write(str(os.getpid()))\n    time.sleep(120)\n"
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signals are Linux's")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_the_child_dies_when_a_signal_ends_the_parent(tmp_path, how):
    write_sleeper(tmp_path)
    pid_file = tmp_path / "child.pid"
    (tmp_path / "parent.py").write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path[:0] = [{str(BENCHMARKS)!r}, {str(tmp_path)!r}]
            from isolated import in_child
            import sleeper

            if __name__ == "__main__":
                print(in_child(sleeper.sleep, ({str(pid_file)!r},), 300))
            """
        )
    )
    parent = subprocess.Popen([sys.executable, str(tmp_path / "parent.py")])
    try:
        for _ in range(200):  # the spawned child imports numpy-free code: well under 20 s
            if pid_file.exists() and pid_file.read_text():
                break
            time.sleep(0.1)
        child = int(pid_file.read_text())
        assert alive(child)
        parent.send_signal(how)
        parent.wait(10)
        for _ in range(50):
            if not alive(child):
                break
            time.sleep(0.1)
        assert not alive(child), f"the child {child} outlived its parent's {how.name}"
    finally:
        parent.kill()
        if pid_file.exists() and pid_file.read_text() and alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_a_child_past_its_limit_is_killed_and_reported(tmp_path, monkeypatch):
    write_sleeper(tmp_path)
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.syspath_prepend(str(tmp_path))  # the spawned child gets the same path
    import sleeper
    from isolated import in_child

    pid_file = tmp_path / "child.pid"
    assert in_child(sleeper.sleep, (str(pid_file),), 3.0) == {"failed": "over 3 s"}
    assert not alive(int(pid_file.read_text()))
