"""`shell.run`: a command in the run's workspace, inside bubblewrap — no network, only the workspace writable."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from sophia.tools._errors import ToolError
from sophia.tools._model import ToolContext
from sophia.tools._policy import ShellSettings
from sophia.tools._process import run_process
from sophia.tools._workspace import workspace_root

__all__ = ["SandboxUnavailable", "ShellRunner", "sandbox_argv"]

SANDBOX_WORKSPACE = "/workspace"
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt")
_ETC_FILES = (
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/localtime",
    "/etc/mime.types",
)
_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"


class SandboxUnavailable(ToolError):
    code = "sandbox_unavailable"
    http_status = 503


def _system_mounts() -> list[str]:
    """Read-only binds of the system folders; merged-/usr links are recreated as links."""
    args: list[str] = []
    for folder in _SYSTEM_DIRS:
        path = Path(folder)
        if path.is_symlink():
            args += ["--symlink", str(path.readlink()), folder]
        elif path.is_dir():
            args += ["--ro-bind", folder, folder]
    for name in _ETC_FILES:  # not all of /etc: it holds host credentials
        if Path(name).exists():
            args += ["--ro-bind", name, name]
    return args


def sandbox_argv(bwrap: str, workspace: Path, command: str, read_only: Sequence[str] = ()) -> list[str]:
    """bubblewrap: new namespaces (no network), read-only system, private /tmp, the workspace as /workspace.

    `read_only` folders (e.g. a Python environment the checks run with) are bound read-only at their own paths.
    """
    extra = [arg for folder in read_only if Path(folder).is_dir() for arg in ("--ro-bind", folder, folder)]
    return [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        *_system_mounts(),
        "--proc", "/proc",
        "--dev", "/dev",
        "--tmpfs", "/tmp",
        *extra,  # after the private /tmp, so a folder under /tmp stays visible
        "--bind", str(workspace), SANDBOX_WORKSPACE,
        "--chdir", SANDBOX_WORKSPACE,
        "/bin/sh", "-c", command,
    ]  # fmt: skip


class ShellRunner:
    """Holds the shell settings; `run` is the tool function."""

    def __init__(
        self,
        settings: ShellSettings | None = None,
        *,
        read_only: Sequence[str] = (),
        path_prefix: Sequence[str] = (),
    ) -> None:
        self.settings = settings or ShellSettings()
        self.read_only = tuple(read_only)
        """Extra folders bound read-only in the sandbox (the code checks bind a Python environment)."""
        self.path = ":".join([*path_prefix, _PATH])

    def bwrap(self) -> str | None:
        return shutil.which(self.settings.bwrap_path or "bwrap")

    async def run(
        self, command: Annotated[str, "A POSIX shell command, run in the workspace."], context: ToolContext
    ) -> dict[str, Any]:
        """Run a shell command in the run's workspace: sandboxed, no network, time and output limits."""
        workspace = workspace_root(context)
        bwrap = self.bwrap()
        if bwrap is not None:
            argv, cwd, home = (
                sandbox_argv(bwrap, workspace, command, self.read_only),
                workspace,
                SANDBOX_WORKSPACE,
            )
        elif self.settings.allow_unsandboxed:
            argv, cwd, home = ["/bin/sh", "-c", command], workspace, str(workspace)
        else:
            raise SandboxUnavailable(
                "shell.run needs bubblewrap (`apt-get install -y bubblewrap`) to sandbox commands; install it, "
                "or set tools.shell.allow_unsandboxed = true to run without isolation"
            )
        env = {"PATH": self.path, "HOME": home, "LANG": "C.UTF-8", "TERM": "dumb"}  # none of Sophia's secrets
        outcome = await run_process(
            argv,
            cwd=cwd,
            env=env,
            timeout=self.settings.timeout_seconds,
            max_output_bytes=self.settings.max_output_bytes,
        )
        return {
            "exit_code": outcome.exit_code,
            "stdout": outcome.stdout,
            "stderr": outcome.stderr,
            "timed_out": outcome.timed_out,
            "truncated": outcome.truncated,
            "sandboxed": bwrap is not None,
        }
