"""Native packages: the Debian packages a Python or Node dependency needs to build and to run.

One table per ecosystem. A row applies only when no prebuilt binary fits the target, decided by a
conservative rule written next to it:

- ``always``: the project publishes no binary wheel / prebuilt binary usable here (psycopg2,
  mysqlclient, python-ldap build from source; canvas, better-sqlite3, sqlite3 download theirs from
  GitHub, which a build often cannot reach).
- ``wheels_from``: the first release with manylinux x86_64 wheels for each Python minor. A pin
  older than that for the target Python builds from source; an unpinned or newer dependency gets
  a wheel. Without a known target the oldest Python the catalog defaults to (3.11) is assumed.
- ``below``: a Node package whose releases before that version fetch or build their binary
  (bcrypt < 6 uses node-pre-gyp downloads, sharp < 0.33 a libvips download).

Run-time packages (the shared libraries a built extension links) are added whenever the
dependency is there and the extension is not statically bundled.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["NativeNeeds", "native_needs"]


class _Row(NamedTuple):
    runtime: tuple[str, ...]
    build: tuple[str, ...]
    always: bool = False
    """Build packages whatever the version (no wheel / prebuilt binary to use)."""
    wheels_from: tuple[tuple[str, str], ...] = ()
    """(python minor, first version with a wheel for it): older pins build from source."""
    extras: tuple[str, ...] = ()
    """The row applies only with one of these extras (psycopg[c])."""
    runtime_always: bool = True
    """Run-time packages even when a wheel is used (the wheel links the system library)."""


_PY: dict[str, list[_Row]] = {
    "psycopg2": [_Row(("libpq5",), ("gcc", "libpq-dev"), always=True)],
    "psycopg": [
        _Row(("libpq5",), ("gcc", "libpq-dev"), always=True, extras=("c",)),
        _Row(("libpq5",), ()),  # the pure-Python driver loads libpq at run time
    ],
    "psycopg2-binary": [
        _Row(
            ("libpq5",),
            ("gcc", "libpq-dev"),
            wheels_from=(("3.11", "2.9.5"), ("3.12", "2.9.9"), ("3.13", "2.9.10")),
            runtime_always=False,
        )
    ],
    "mysqlclient": [_Row(("libmariadb3",), ("gcc", "pkg-config", "default-libmysqlclient-dev"), always=True)],
    "python-ldap": [_Row(("libldap-2.5-0", "libsasl2-2"), ("gcc", "libldap2-dev", "libsasl2-dev"), always=True)],
    "uwsgi": [_Row((), ("gcc",), always=True)],
    "pyodbc": [
        _Row(
            ("unixodbc",),
            ("gcc", "g++", "unixodbc-dev"),
            wheels_from=(("3.11", "4.0.35"), ("3.12", "5.0.0"), ("3.13", "5.2.0")),
        )
    ],
    "lxml": [
        _Row(
            ("libxml2", "libxslt1.1"),
            ("gcc", "libxml2-dev", "libxslt1-dev"),
            wheels_from=(("3.11", "4.9.2"), ("3.12", "4.9.3"), ("3.13", "5.3.0")),
            runtime_always=False,
        )
    ],
    "pillow": [
        _Row(
            ("libjpeg62-turbo",),
            ("gcc", "libjpeg62-turbo-dev", "zlib1g-dev"),
            wheels_from=(("3.11", "9.3.0"), ("3.12", "10.1.0"), ("3.13", "11.0.0")),
            runtime_always=False,
        )
    ],
    "numpy": [_Row((), ("gcc", "g++"), wheels_from=(("3.11", "1.23.2"), ("3.12", "1.26.0"), ("3.13", "2.1.0")))],
    "cryptography": [_Row((), ("gcc", "libssl-dev", "libffi-dev"), wheels_from=(("3.11", "3.4"),))],
    "pygraphviz": [_Row(("graphviz",), ("gcc", "graphviz-dev"), always=True)],
    "gdal": [_Row(("gdal-bin",), ("gcc", "libgdal-dev"), always=True)],
    "ffmpeg-python": [_Row(("ffmpeg",), ())],
    "pydub": [_Row(("ffmpeg",), ())],
    "moviepy": [_Row(("ffmpeg",), ())],
    "openai-whisper": [_Row(("ffmpeg",), ())],
    "opencv-python": [_Row(("libgl1", "libglib2.0-0"), ())],
    "weasyprint": [_Row(("libpango-1.0-0", "libpangoft2-1.0-0"), ())],
}

_GYP = ("python3", "make", "g++")
_NODE: dict[str, tuple[tuple[str, ...], tuple[str, ...], str | None]] = {
    # name: (runtime, build, first version with a bundled binary; None: always builds or downloads)
    "canvas": (
        ("libcairo2", "libpango-1.0-0", "libjpeg62-turbo", "libgif7", "librsvg2-2"),
        (*_GYP, "libcairo2-dev", "libpango1.0-dev", "libjpeg-dev", "libgif-dev", "librsvg2-dev"),
        None,
    ),
    "better-sqlite3": ((), _GYP, None),
    "sqlite3": ((), _GYP, None),
    "node-sass": ((), _GYP, None),
    "bcrypt": ((), _GYP, "6.0.0"),
    "sharp": (("libvips42",), (*_GYP, "libvips-dev"), "0.33.0"),
    "fluent-ffmpeg": (("ffmpeg",), (), "0"),
    "puppeteer": (("chromium",), (), "0"),
    # the Prisma CLI detects the OpenSSL its engines link against, at generate and at run time
    "prisma": (("openssl",), ("openssl",), None),
    "@prisma/client": (("openssl",), ("openssl",), None),
}


class NativeNeeds(NamedTuple):
    runtime: list[str]
    build: list[str]
    reasons: list[str]
    """One line per dependency that added packages, for the evidence."""


Version = tuple[int, ...]


def _v(text: str) -> Version | None:
    """'^5.1.0' -> (5, 1, 0): the release numbers, compared as tuples (pre-releases count as the release)."""
    m = re.search(r"\d+(?:\.\d+)*", text)
    return tuple(int(p) for p in m.group(0).split(".")) if m else None


def _minor(target: str | None) -> tuple[int, ...]:
    v = _v(target or "3.11")
    return (*v, 0, 0)[:2] if v is not None else (3, 11)


def _no_wheel(row: _Row, pin: str | None, target: str | None) -> bool:
    if row.always:
        return True
    if not row.wheels_from or pin is None:
        return False  # unpinned: pip picks a release with a wheel
    pv = _v(pin)
    if pv is None:
        return False
    want = _minor(target)
    first = [w for py, v in row.wheels_from if _minor(py) <= want and (w := _v(v)) is not None]
    return bool(first) and pv < max(first)


def native_needs(
    language: str,
    dependencies: list[str] | set[str],
    pins: dict[str, str],
    *,
    target: str | None = None,
    extras: dict[str, set[str]] | None = None,
    specs: dict[str, str] | None = None,
    target_dependent_only: bool = False,
) -> NativeNeeds:
    """Debian packages for the dependencies of a ``language`` module built for runtime ``target``.

    ``pins`` are exact versions (Python ``==``); ``specs`` the declared Node ranges (their lower
    bound decides); ``extras`` the Python extras asked for (psycopg[c]). With
    ``target_dependent_only`` only rows whose answer depends on the target Python are read (the
    generator's second look, once the runtime version is chosen).
    """
    runtime: set[str] = set()
    build: set[str] = set()
    reasons: list[str] = []
    deps = set(dependencies)
    if language == "python":
        for name in sorted(deps & set(_PY)):
            for row in _PY[name]:
                if target_dependent_only and not row.wheels_from:
                    continue
                if row.extras and not (set(row.extras) & (extras or {}).get(name, set())):
                    continue
                no_wheel = _no_wheel(row, pins.get(name), target)
                added = [*(row.build if no_wheel else ()), *(row.runtime if no_wheel or row.runtime_always else ())]
                if not added:
                    continue
                build.update(row.build if no_wheel else ())
                runtime.update(row.runtime if no_wheel or row.runtime_always else ())
                why = "builds from source" if no_wheel and row.build else "links system libraries"
                pin = f"=={pins[name]}" if name in pins else ""
                reasons.append(f"{name}{pin} {why}: {' '.join(sorted(added))}")
                break
    elif language == "node" and not target_dependent_only:
        for name in sorted(deps & set(_NODE)):
            rt, bd, first = _NODE[name]
            declared = _v((specs or {}).get(name, "") or pins.get(name, ""))
            fetches = first is None or (declared is not None and declared < (_v(first) or (0,)))
            build.update(bd if fetches else ())
            runtime.update(rt if fetches or not bd else ())
            added = sorted({*(bd if fetches else ()), *(rt if fetches or not bd else ())})
            if added:
                reasons.append(f"{name} needs {' '.join(added)}")
    return NativeNeeds(sorted(runtime), sorted(build), reasons)
