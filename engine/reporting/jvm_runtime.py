"""What the broker's JVM is, observed from beside it: the JDK it runs from and the OS.

The agent is not inside the broker, so it cannot call `System.getProperties()`. What it can
read truly: the JDK's own `release` file (its `JAVA_HOME` is two levels above the
`/proc/<pid>/exe` binary), which states the Java version, the vendor and the architecture
the JDK was built for, and `os.uname()` for the operating system. The privacy filter
(`scrub_java_properties`) decides what of this is sent.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from engine.files import read_bounded

RELEASE_MAX_BYTES = 64 * 1024
_RELEASE_LINE = re.compile(r'^([A-Z_]+)="?(.*?)"?$')
# The JDK's build architecture (release OS_ARCH, or uname's machine) as Java's `os.arch`.
_JAVA_ARCH = {"x86_64": "amd64", "amd64": "amd64", "i386": "x86", "i586": "x86",
              "i686": "x86", "x86": "x86", "aarch64": "aarch64", "arm64": "aarch64",
              "arm": "arm", "armv7l": "arm", "ppc64le": "ppc64le", "ppc64": "ppc64",
              "s390x": "s390x", "riscv64": "riscv64", "loongarch64": "loongarch64",
              "sparcv9": "sparcv9"}
# uname's sysname as Java's `os.name`.
_JAVA_OS = {"Linux": "Linux", "Darwin": "Mac OS X", "FreeBSD": "FreeBSD", "SunOS": "SunOS",
            "AIX": "AIX"}


def java_home(pid: int) -> Path | None:
    """The JDK (or JRE) folder of the process `pid`, None when it cannot be read (another
    user's process) or the binary was replaced since the JVM started."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    if exe.endswith(" (deleted)"):
        return None  # the JDK was upgraded under the running JVM: its release file lies
    return Path(exe).parent.parent


def read_release(home: Path) -> dict[str, str]:
    """The `KEY="value"` lines of a JDK's `release` file; empty when there is none."""
    try:
        text = read_bounded(str(home / "release"), RELEASE_MAX_BYTES).decode("utf-8", "replace")
    except (OSError, ValueError):
        return {}
    found: dict[str, str] = {}
    for line in text.splitlines():
        m = _RELEASE_LINE.match(line.strip())
        if m:
            found[m.group(1)] = m.group(2)
    return found


def runtime_properties(pid: int) -> dict[str, str]:
    """The standard JVM properties of `pid` that can be observed without JMX, named as
    Java names them: java.version, java.vendor (from the release file), os.name and
    os.arch. A property whose source is not readable is absent, never guessed."""
    props: dict[str, str] = {}
    home = java_home(pid)
    release = read_release(home) if home is not None else {}
    if release.get("JAVA_VERSION"):
        props["java.version"] = release["JAVA_VERSION"]
    if release.get("IMPLEMENTOR"):
        props["java.vendor"] = release["IMPLEMENTOR"]
    uname = os.uname()
    if uname.sysname in _JAVA_OS:
        props["os.name"] = _JAVA_OS[uname.sysname]
    # The JVM reports the architecture it was built for; the kernel's is the fallback.
    arch = _JAVA_ARCH.get(release.get("OS_ARCH", "")) or _JAVA_ARCH.get(uname.machine)
    if arch:
        props["os.arch"] = arch
    return props
