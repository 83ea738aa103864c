"""The box a submission's kernel runs in: bubblewrap (bwrap), no network, a private folder.

Only the kernel goes in the box; the grader (nbclient) stays outside and talks to it
over ZMQ's `ipc` transport, unix sockets in a folder that both sides see at the same
path. Inside the box the kernel sees:

* a read-only system: /usr (with the /bin, /lib, /lib64 links), a few files of /etc,
  the Python installation and environment the grader runs with;
* the course's `utils` package at /course/utils and the Fashion-MNIST files at /data,
  both read-only;
* a private writable home (/home/student, its working folder), a private /tmp, and
  the socket folder;

and nothing else: not the repository (chapters/ and tools/ hold the solutions and
the hidden checks), not the other submissions, not the instructor's home, not the
grader's output. It has its own process, network (loopback only), IPC and host name
namespaces, dies with the grader, and runs under limits (address space, processes,
CPU seconds, file size, open files). As root, the kernel runs as `nobody` with no
capabilities; as another user, inside a user namespace as that user.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
NOBODY = 65534
HOME = "/home/student"
ETC_FILES = ("ld.so.cache", "ld.so.conf", "localtime", "passwd", "group", "nsswitch.conf")


@dataclass
class Limits:
    time: float = 300               # wall seconds for the whole notebook (enforced by the grader)
    memory: int = 8 << 30           # bytes of address space (torch alone maps about 4 GiB)
    processes: int = 256            # per user: a fork bomb stops here
    file_size: int = 1 << 30        # bytes, the largest file it may write
    open_files: int = 1024

    def prlimit(self) -> list[str]:
        cpu = int(self.time * 2) + 60  # CPU seconds: threads cannot buy more than about two cores
        return ["prlimit", f"--as={self.memory}", f"--nproc={self.processes}", f"--cpu={cpu}",
                f"--fsize={self.file_size}", f"--nofile={self.open_files}", "--core=0", "--"]


@functools.lru_cache(maxsize=1)
def unavailable() -> str | None:
    """Why the box cannot be used here (None when it can): bwrap missing or namespaces refused."""
    if not shutil.which("bwrap"):
        return "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
    probe = [*_system_binds(), "--unshare-pid", "--unshare-net", "--die-with-parent",
             *([] if os.geteuid() == 0 else ["--unshare-user"]), "--", "true"]
    try:
        done = subprocess.run(["bwrap", *probe], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap could not start: {error}"
    if done.returncode != 0:
        return f"bwrap cannot create namespaces here: {done.stderr.strip()[:200]}"
    return None


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC_FILES:
        if (Path("/etc") / name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    return args + ["--proc", "/proc", "--dev", "/dev"]


def _open_dirs(path: str, made: set[str]) -> list[str]:
    """--dir for every missing parent of `path`, world-readable (bwrap would copy 0700 from /root)."""
    args = []
    for parent in reversed(Path(path).parents):
        if str(parent) != "/" and str(parent) not in made and not str(parent).startswith(("/usr", "/proc", "/dev")):
            made.add(str(parent))
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def python_paths() -> list[str]:
    """Folders the kernel's Python needs: the environment and the installation it was made from."""
    paths = {sys.prefix, sys.base_prefix, str(Path(os.path.realpath(sys.executable)).parents[1])}
    return sorted(p for p in paths if not p.startswith("/usr"))


def data_folder() -> Path | None:
    """The Fashion-MNIST data root, prepared outside the box (the box cannot unpack into it)."""
    root = Path(os.environ.get("CNN_COURSE_DATA") or "~/.cache/cnn-course/data").expanduser()
    raw = root / "FashionMNIST" / "raw"
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    if all((raw / name).is_file() for name in names):  # the usual case, without importing torch
        return root
    try:
        from utils.fashion_mnist import data_root, prepare_fashion_mnist
        prepare_fashion_mnist(download=False)
        return data_root()
    except Exception:  # no data: the notebook will say so itself
        return None


def kernel_command(kernel: list[str], home: Path, sockets: Path, limits: Limits,
                   env: dict[str, str]) -> list[str]:
    """`kernel` (a command line) wrapped in bwrap, with `home` as its writable home and `sockets` shared."""
    made: set[str] = {"/tmp"}
    args = ["bwrap", *_system_binds(), "--perms", "1777", "--size", str(1 << 30), "--tmpfs", "/tmp"]
    for path in python_paths():
        args += [*_open_dirs(path, made), "--ro-bind", path, path]
    args += [*_open_dirs("/course/utils", made), "--ro-bind", str(REPO / "utils"), "/course/utils"]
    data = data_folder()
    if data is not None:
        args += [*_open_dirs("/data/x", made), "--ro-bind", str(data), "/data"]
    args += [*_open_dirs(HOME, made), "--bind", str(home), HOME]
    args += [*_open_dirs(str(sockets), made), "--bind", str(sockets), str(sockets)]
    args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
             "--hostname", "grader", "--die-with-parent", "--new-session", "--chdir", HOME, "--clearenv"]
    box_env = {"PATH": "/usr/bin:/bin", "HOME": HOME, "USER": "student", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
               "PYTHONPATH": "/course", "MPLCONFIGDIR": f"{HOME}/.config/matplotlib",
               "CNN_COURSE_RESULTS": f"{HOME}/results", **({"CNN_COURSE_DATA": "/data"} if data else {}), **env}
    for key, value in box_env.items():
        args += ["--setenv", key, value]
    if os.geteuid() == 0:  # drop to nobody, no capabilities, before anything of the student's runs
        user = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--"]
    else:  # an ordinary user: a user namespace of its own, which cannot make more
        args += ["--unshare-user", "--disable-userns"]
        user = []
    return [*args, "--", *user, *limits.prlimit(), *kernel]


def prepare_folders(workdir: Path) -> tuple[Path, Path]:
    """The box's home and socket folders in `workdir`, owned by the user the kernel runs as."""
    home, sockets = workdir / "home", workdir / "sockets"
    for folder in (home, sockets):
        folder.mkdir(mode=0o700)
        if os.geteuid() == 0:
            os.chown(folder, NOBODY, NOBODY)
    return home, sockets


def shown_folders() -> list[Path]:
    """Every host path the box binds in, read from the command kernel_command builds (so it cannot drift)."""
    placeholder = "/nonexistent-grading-folder"
    args = kernel_command(["true"], Path(placeholder, "home"), Path(placeholder, "sockets"), Limits(), {})
    return [Path(args[i + 1]) for i, arg in enumerate(args[:-1])
            if arg in ("--ro-bind", "--bind") and not args[i + 1].startswith(placeholder)]


def shown_in_box(path: Path) -> Path | None:
    """The folder bound into the box that holds `path`, or None when a kernel in the box cannot see it."""
    path = Path(path).resolve()
    for shown in shown_folders():
        shown = shown.resolve()
        if path == shown or shown in path.parents:
            return shown
    return None
