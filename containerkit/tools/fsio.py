"""Reading and writing the user's files safely: one reader and one writer for all of containerkit.

Writing (:func:`write_text` / :func:`write_bytes`): a temp file in the target's folder, then a
rename, so a reader never sees half a file and a failed write leaves the old one intact. A target
that is a folder, a pipe, a device or a socket is refused; so is a symlink leading out of the folder
the caller allows (``root``, by default the folder the user named), and a target that is one of the
command's inputs (``lint --output`` naming the Dockerfile it lints). A missing folder, a full or a
read-only disk become :class:`OutputUnwritable` with a hint, never a traceback.

Reading (:func:`read_bytes` and the JSON/TOML readers): ``stat`` first, so a FIFO or a device is
refused before ``open`` could block; the file is opened with ``O_NONBLOCK`` in case it changed in
between; at most ``max_bytes`` are read. JSON and TOML that the parsers cannot take (syntax, nesting
deeper than the recursion limit, a number longer than the int digit limit) and documents nested
deeper than ``max_depth`` become :class:`InputParseError` (or the error class the caller passes).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from containerkit.errors import (
    ContainerKitError,
    InputParseError,
    InputUnreadable,
    OutputRefused,
    OutputUnwritable,
    PathNotFound,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "check_depth",
    "check_folder_target",
    "check_writable_target",
    "exists",
    "is_dir",
    "parse_json_text",
    "parse_toml_text",
    "read_bytes",
    "read_json_file",
    "read_text",
    "read_toml_file",
    "write_bytes",
    "write_text",
]

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
"""Inputs larger than this are not files a person wrote; reading refuses them."""
DEFAULT_MAX_DEPTH = 200
"""JSON/TOML nested deeper than this is refused (real manifests stay under 20)."""

_KIND = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def _kind(mode: int) -> str:
    return _KIND.get(stat.S_IFMT(mode), "not a regular file")


def _os_reason(exc: OSError) -> str:
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.ENAMETOOLONG: "the path is too long",
        errno.ENOENT: "a folder on the path does not exist",
        errno.ENOTDIR: "a part of the path is not a folder",
        errno.EISDIR: "it is a folder",
        errno.ELOOP: "too many levels of symbolic links",
    }
    return reasons.get(exc.errno or 0, exc.strerror or type(exc).__name__)


def is_dir(path: Path | str) -> bool:
    """``Path.is_dir`` that answers False instead of raising (a path too long, a NUL byte, no permission)."""
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):
        return False


def exists(path: Path | str) -> bool:
    """``Path.exists`` that answers False instead of raising (a path too long, a NUL byte, no permission)."""
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


# -- reading ----------------------------------------------------------------------------------


def read_bytes(path: Path | str, *, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "file") -> bytes:
    """The bytes of a regular file; typed errors for missing, non-regular, unreadable or too large."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise PathNotFound(f"no such {what}: {p}", path=str(p)) from None
    except (OSError, ValueError) as exc:
        reason = _os_reason(exc) if isinstance(exc, OSError) else str(exc)
        raise InputUnreadable(f"cannot read {what} {p}: {reason}", path=str(p)) from None
    if not stat.S_ISREG(st.st_mode):
        raise InputUnreadable(f"{p} is {_kind(st.st_mode)}, not a regular {what}", path=str(p))
    if st.st_size > max_bytes:
        raise InputUnreadable(
            f"{p} is {st.st_size} bytes; a {what} larger than {max_bytes} bytes is not read", path=str(p)
        )
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise InputUnreadable(f"cannot read {what} {p}: {_os_reason(exc)}", path=str(p)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped between stat and open
            raise InputUnreadable(f"{p} is {_kind(st.st_mode)}, not a regular {what}", path=str(p))
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputUnreadable(f"cannot read {what} {p}: {_os_reason(exc)}", path=str(p)) from None
    finally:
        os.close(fd)
    if size > max_bytes:
        raise InputUnreadable(f"{p} grew past {max_bytes} bytes while being read", path=str(p))
    return b"".join(chunks)


def read_text(
    path: Path | str, *, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "file", encoding: str = "utf-8-sig"
) -> str:
    """The text of a regular file (UTF-8, a BOM dropped); undecodable bytes are a typed error."""
    data = read_bytes(path, max_bytes=max_bytes, what=what)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputUnreadable(
            f"{path} is not {encoding.removesuffix('-sig').upper()} text (byte {exc.start})",
            hint="Save the file as UTF-8 text.",
            path=str(path),
        ) from None


def check_depth(data: Any, *, max_depth: int = DEFAULT_MAX_DEPTH) -> int:
    """The nesting depth of parsed JSON/TOML (iteratively); ValueError past ``max_depth``.

    A string that is not valid Unicode (a lone surrogate from ``"\\ud800"``) is a ValueError too:
    nothing downstream (SQLite, YAML, a terminal) can store or print it.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _valid_unicode(item)
            continue
        if isinstance(item, dict):
            for key in item:
                if isinstance(key, str):
                    _valid_unicode(key)
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            raise ValueError(f"nested deeper than {max_depth} levels")
        deepest = max(deepest, depth)
        stack.extend((c, depth + 1) for c in children)
    return deepest


def _valid_unicode(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("it holds a string that is not valid Unicode (a lone surrogate)") from None


def parse_json_text(
    text: str | bytes,
    *,
    source: str,
    max_depth: int = DEFAULT_MAX_DEPTH,
    error: type[ContainerKitError] = InputParseError,
) -> Any:
    """``json.loads`` whose every failure is ``error`` naming ``source`` (line and column when known)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            hint=f"Fix the JSON syntax in {source} (line {exc.lineno}, column {exc.colno}).",
            file=source,
            line=exc.lineno,
            column=exc.colno,
        ) from None
    except RecursionError:
        raise error(
            f"{source} is nested too deeply to read",
            hint=f"{source} nests arrays or objects thousands of levels deep; no real file does: check it.",
            file=source,
        ) from None
    except UnicodeDecodeError as exc:
        raise error(f"{source} is not UTF-8 text (byte {exc.start})", hint="Save it as UTF-8.", file=source) from None
    except ValueError as exc:  # the int digit limit (a 10,000-digit number), lone surrogates ...
        raise error(
            f"{source} cannot be read as JSON: {_short(exc)}",
            hint=f"{source} holds a value JSON readers cannot take (e.g. a number with thousands of digits).",
            file=source,
        ) from None
    _depth_or_raise(data, source, max_depth, error)
    return data


def parse_toml_text(
    text: str,
    *,
    source: str,
    max_depth: int = DEFAULT_MAX_DEPTH,
    error: type[ContainerKitError] = InputParseError,
) -> dict[str, Any]:
    """``tomllib.loads`` whose every failure is ``error`` naming ``source`` (line and column when known)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        col = getattr(exc, "colno", None)
        if line is None:  # Python < 3.14 puts them only in the message
            m = re.search(r"line (\d+), column (\d+)", str(exc))
            line, col = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        msg = getattr(exc, "msg", str(exc).split(" (at ")[0])
        raise error(
            f"{source} is not valid TOML: {msg} at line {line}, column {col}",
            hint=f"Fix the TOML syntax in {source} (line {line}, column {col}).",
            file=source,
            line=line,
            column=col,
        ) from None
    except RecursionError:
        raise error(
            f"{source} is nested too deeply to read",
            hint=f"{source} nests arrays or tables thousands of levels deep; no real file does: check it.",
            file=source,
        ) from None
    except ValueError as exc:  # the int digit limit
        raise error(
            f"{source} cannot be read as TOML: {_short(exc)}",
            hint=f"{source} holds a value TOML readers cannot take (e.g. a number with thousands of digits).",
            file=source,
        ) from None
    _depth_or_raise(data, source, max_depth, error)
    return data


def _depth_or_raise(data: Any, source: str, max_depth: int, error: type[ContainerKitError]) -> None:
    try:
        check_depth(data, max_depth=max_depth)
    except ValueError as exc:
        raise error(
            f"{source} cannot be used: {exc}",
            hint=f"{source} nests deeper than any real file ({max_depth} levels) or holds invalid text; check it.",
            file=source,
        ) from None


def _short(exc: Exception) -> str:
    text = str(exc).split(";")[0]
    return text if len(text) <= 120 else text[:117] + "..."


def read_json_file(
    path: Path | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    error: type[ContainerKitError] = InputParseError,
) -> Any:
    """A JSON file, bounded in size and depth; every failure a typed error."""
    data = read_bytes(path, max_bytes=max_bytes, what="JSON file")
    return parse_json_text(data, source=str(path), max_depth=max_depth, error=error)


def read_toml_file(
    path: Path | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    error: type[ContainerKitError] = InputParseError,
) -> dict[str, Any]:
    """A TOML file, bounded in size and depth; every failure a typed error."""
    text = read_text(path, max_bytes=max_bytes, what="TOML file", encoding="utf-8")
    return parse_toml_text(text, source=str(path), max_depth=max_depth, error=error)


# -- writing ----------------------------------------------------------------------------------


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def check_writable_target(
    path: Path | str, *, root: Path | str | None = None, inputs: Iterable[Path | str] = ()
) -> Path:
    """Where a write to ``path`` would land (a symlink inside ``root`` is followed); typed errors otherwise.

    ``root`` is the folder the write must stay in (default: the folder ``path`` names); ``inputs`` are
    files the command reads, which the write must not replace.
    """
    p = Path(path)
    try:
        if not p.name or p.name in (".", ".."):
            raise OutputRefused(f"{p} names a folder, not a file", path=str(p))
        parent = p.parent
        try:
            pst = parent.stat()
        except FileNotFoundError:
            raise OutputUnwritable(
                f"cannot write {p}: the folder {parent} does not exist",
                hint=f"Create {parent} first (mkdir -p), or write somewhere else.",
                path=str(p),
            ) from None
        if not stat.S_ISDIR(pst.st_mode):
            raise OutputUnwritable(f"cannot write {p}: {parent} is not a folder", path=str(p))
        allowed = Path(root if root is not None else parent).resolve()
        final = p.resolve()
        if not _inside(final, allowed):
            raise OutputRefused(
                f"refusing to write {p}: it leads to {final}, outside {allowed}",
                hint="containerkit does not follow a link out of the folder it writes into; "
                "remove the link or name the real file.",
                path=str(p),
            )
        try:
            st = final.stat()
        except FileNotFoundError:
            st = None
        if st is not None:
            if not stat.S_ISREG(st.st_mode):
                raise OutputRefused(f"refusing to write {p}: it is {_kind(st.st_mode)}", path=str(p))
            for inp in inputs:
                try:
                    same = os.path.samefile(final, inp)
                except OSError:
                    same = False
                if same:
                    raise OutputRefused(
                        f"refusing to write {p}: it is the input {inp}",
                        hint="Write the output to another file; the input is never overwritten.",
                        path=str(p),
                    )
        return final
    except OSError as exc:
        raise OutputUnwritable(f"cannot write {p}: {_os_reason(exc)}", path=str(p)) from None
    except RuntimeError:  # Python 3.11's resolve() on a symlink loop
        raise OutputRefused(f"refusing to write {p}: it is a symlink loop", path=str(p)) from None
    except ValueError as exc:  # a NUL byte in the path
        raise OutputRefused(f"cannot write {p!r}: {exc}", path=str(p)) from None


def check_folder_target(path: Path | str) -> Path:
    """A folder containerkit may create or write into (``run --out``): refused when it is a file or device."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        return p
    except (OSError, ValueError) as exc:
        reason = _os_reason(exc) if isinstance(exc, OSError) else str(exc)
        raise OutputUnwritable(f"cannot use the folder {p}: {reason}", path=str(p)) from None
    if not stat.S_ISDIR(st.st_mode):
        raise OutputRefused(
            f"{p} is {_kind(st.st_mode)}, not a folder",
            hint="Name a folder (new or existing) for the output.",
            path=str(p),
        )
    return p


def write_bytes(
    path: Path | str,
    data: bytes,
    *,
    root: Path | str | None = None,
    inputs: Iterable[Path | str] = (),
    mode: int | None = None,
) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + rename); returns the file written.

    Checks as :func:`check_writable_target`; an existing file keeps its permission bits, a new one
    gets ``mode`` (default 0o666 less the umask).
    """
    final = check_writable_target(path, root=root, inputs=inputs)
    try:
        old_mode: int | None = stat.S_IMODE(final.stat().st_mode)
    except OSError:
        old_mode = None
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name[:80]}.", suffix=".ck-tmp")
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if old_mode is not None:
            os.chmod(tmp, old_mode)
        else:
            os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, final)
        tmp = None
    except OSError as exc:
        raise OutputUnwritable(
            f"cannot write {path}: {_os_reason(exc)}", path=str(path), hint=_write_hint(exc, final)
        ) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return final


def write_text(
    path: Path | str,
    text: str,
    *,
    root: Path | str | None = None,
    inputs: Iterable[Path | str] = (),
    encoding: str = "utf-8",
    mode: int | None = None,
) -> Path:
    """:func:`write_bytes` of ``text`` encoded."""
    return write_bytes(path, text.encode(encoding), root=root, inputs=inputs, mode=mode)


def _write_hint(exc: OSError, final: Path) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"Free space on the disk holding {final.parent}, or write somewhere else."
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{final.parent} is not writable for you; write somewhere else."
    return "Check the folder exists and is writable, or write somewhere else."


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current
