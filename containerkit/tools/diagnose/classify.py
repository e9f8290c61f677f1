"""Evidence -> category: a table of log patterns, read top to bottom, per stage.

Each rule names the stages it can explain (a ``ModuleNotFoundError`` while pip builds a wheel is a
native build, at container start it is a missing package or a wrong entry module). The first rule
that matches decides, and the lines it matched are kept as the evidence. No rule, no guess:
``unknown``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from containerkit.tools.diagnose.models import Category, Diagnosis, FailureEvidence, FailureStage

__all__ = ["RULES", "Rule", "classify", "config_from_code", "runtime_package_for"]

_B: frozenset[FailureStage] = frozenset({"build"})
_V: frozenset[FailureStage] = frozenset({"verify"})
_BV: frozenset[FailureStage] = frozenset({"build", "verify"})
_P: frozenset[FailureStage] = frozenset({"push"})
_D: frozenset[FailureStage] = frozenset({"deploy"})
_ANY: frozenset[FailureStage] = frozenset({"build", "verify", "push", "deploy", "scan"})


class Rule(NamedTuple):
    category: Category
    stages: frozenset[FailureStage]
    pattern: re.Pattern[str]
    packages: tuple[str, ...] = ()


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I | re.M)


_DEV_TOOLS = (
    r"nodemon|ts-node|ts-node-dev|tsx|tsc|vite|ng|react-scripts|next|nest|webpack|webpack-dev-server|parcel"
    r"|babel-node|nuxt|nuxi|svelte-kit|astro|remix|gatsby|vue-cli-service|ember|concurrently|serve|http-server"
)

# Sonames a slim runtime stage often lacks -> the Debian (bookworm) package that ships them.
_SONAMES: dict[str, str] = {
    "libpq.so": "libpq5",
    "libmariadb.so": "libmariadb3",
    "libmysqlclient.so": "libmariadb3",
    "libxml2.so": "libxml2",
    "libxslt.so": "libxslt1.1",
    "libexslt.so": "libxslt1.1",
    "libjpeg.so": "libjpeg62-turbo",
    "libpng16.so": "libpng16-16",
    "libtiff.so": "libtiff6",
    "libwebp.so": "libwebp7",
    "libopenjp2.so": "libopenjp2-7",
    "libfreetype.so": "libfreetype6",
    "libffi.so": "libffi8",
    "libyaml-0.so": "libyaml-0-2",
    "libodbc.so": "libodbc2",
    "libgomp.so": "libgomp1",
    "libGL.so": "libgl1",
    "libgthread-2.0.so": "libglib2.0-0",
    "libglib-2.0.so": "libglib2.0-0",
    "libsqlite3.so": "libsqlite3-0",
    "libssl.so": "libssl3",
    "libcrypto.so": "libssl3",
    "libz.so": "zlib1g",
    "libstdc++.so": "libstdc++6",
    "libgcc_s.so": "libgcc-s1",
    "libmagic.so": "libmagic1",
    "libcairo.so": "libcairo2",
    "libpango-1.0.so": "libpango-1.0-0",
    "libpangocairo-1.0.so": "libpangocairo-1.0-0",
    "libgdk_pixbuf-2.0.so": "libgdk-pixbuf-2.0-0",
    "libvips.so": "libvips42",
    "libgeos_c.so": "libgeos-c1v5",
    "libgdal.so": "libgdal32",
    "libproj.so": "libproj25",
    "libzbar.so": "libzbar0",
    "libsndfile.so": "libsndfile1",
    "libkrb5.so": "libkrb5-3",
    "libgssapi_krb5.so": "libgssapi-krb5-2",
    "libaio.so": "libaio1",
    "libcurl.so": "libcurl4",
    "libuuid.so": "libuuid1",
    "libsasl2.so": "libsasl2-2",
    "libldap": "libldap-2.5-0",
    "libxcb.so": "libxcb1",
    "libX11.so": "libx11-6",
    "libXext.so": "libxext6",
    "libSM.so": "libsm6",
    "libXrender.so": "libxrender1",
    "libnss3.so": "libnss3",
    "libasound.so": "libasound2",
    "libtesseract.so": "libtesseract5",
    "libpoppler.so": "libpoppler126",
    "libharfbuzz.so": "libharfbuzz0b",
    "libfontconfig.so": "libfontconfig1",
    "liblzma.so": "liblzma5",
    "libbz2.so": "libbz2-1.0",
    "libmemcached.so": "libmemcached11",
    "libzmq.so": "libzmq5",
    "libsodium.so": "libsodium23",
    "libcap.so": "libcap2",
}
# Libraries named without a soname (ctypes.util.find_library, cffi dlopen).
_LIBNAMES: dict[str, str] = {
    "pq": "libpq5",
    "cairo": "libcairo2",
    "cairo-2": "libcairo2",
    "magic": "libmagic1",
    "gobject-2.0-0": "libglib2.0-0",
    "gobject-2.0": "libglib2.0-0",
    "pango-1.0-0": "libpango-1.0-0",
    "pango-1.0": "libpango-1.0-0",
    "zbar": "libzbar0",
    "sndfile": "libsndfile1",
    "geos_c": "libgeos-c1v5",
    "vips": "libvips42",
}


def runtime_package_for(library: str) -> str | None:
    """The Debian package shipping a shared library named in an error (``libpq.so.5`` -> libpq5)."""
    lib = library.strip("'\" ")
    for soname, pkg in _SONAMES.items():
        if lib.startswith(soname) or (lib.startswith(soname.replace(".so", "")) and ".so" in lib):
            return pkg
    bare = lib.removeprefix("lib").split(".so")[0]
    return _LIBNAMES.get(bare) or _LIBNAMES.get(lib)


# C headers a source build includes -> the Debian -dev package that ships them.
_HEADERS: dict[str, str] = {
    "portaudio.h": "portaudio19-dev",
    "sndfile.h": "libsndfile1-dev",
    "zbar.h": "libzbar-dev",
    "gmp.h": "libgmp-dev",
    "ldap.h": "libldap2-dev",
    "lber.h": "libldap2-dev",
    "sasl/sasl.h": "libsasl2-dev",
    "snappy-c.h": "libsnappy-dev",
    "pcap.h": "libpcap-dev",
    "uuid/uuid.h": "uuid-dev",
    "zmq.h": "libzmq3-dev",
    "geos_c.h": "libgeos-dev",
    "proj.h": "libproj-dev",
    "gdal.h": "libgdal-dev",
    "magic.h": "libmagic-dev",
    "xmlsec/xmlsec.h": "libxmlsec1-dev",
    "glib.h": "libglib2.0-dev",
    "png.h": "libpng-dev",
    "tiffio.h": "libtiff-dev",
    "webp/decode.h": "libwebp-dev",
    "ft2build.h": "libfreetype-dev",
    "lcms2.h": "liblcms2-dev",
    "openjpeg.h": "libopenjp2-7-dev",
    "curl/curl.h": "libcurl4-openssl-dev",
    "readline/readline.h": "libreadline-dev",
    "sodium.h": "libsodium-dev",
    "mysql.h": "default-libmysqlclient-dev",
    "krb5.h": "libkrb5-dev",
    "alsa/asoundlib.h": "libasound2-dev",
    "expat.h": "libexpat1-dev",
    "bzlib.h": "libbz2-dev",
    "lzma.h": "liblzma-dev",
    "systemd/sd-daemon.h": "libsystemd-dev",
    "cups/cups.h": "libcups2-dev",
    "hdf5.h": "libhdf5-dev",
}

# Order matters: the first match names the cause.
RULES: tuple[Rule, ...] = (
    # -- the engine and the machine: nothing in the app explains these
    Rule(
        "daemon_unavailable",
        _ANY,
        _r(r"Cannot connect to the Docker daemon|Is the docker daemon running|docker\.sock.*(?:refused|no such file)"),
    ),
    Rule("disk_full", _ANY, _r(r"No space left on device|\bENOSPC\b|disk quota exceeded")),
    Rule(
        "out_of_memory",
        _ANY,
        _r(
            r"JavaScript heap out of memory|\bOOMKilled\b|^MemoryError\b|Cannot allocate memory"
            r"|exit code: 137|returned a non-zero code: 137|^Killed$"
        ),
    ),
    # -- a rollout: read from pod statuses and events (the app's own log is read with the verify rules)
    Rule(
        "cluster_unreachable",
        _D,
        _r(r"cannot reach the Kubernetes API|Max retries exceeded with url: /api|no kubeconfig|Invalid kube-config"),
    ),
    Rule(
        "admission_denied",
        _D,
        _r(
            r"violates PodSecurity \"?[\w:.-]+\"?|admission webhook \"?[\w.-]+\"? denied|unable to validate against any "
            r"pod security policy|forbidden: .*(?:securityContext|PodSecurity|hostNetwork|runAsNonRoot)"
        ),
    ),
    Rule("quota_exceeded", _D, _r(r"exceeded quota: ([\w.-]+)|must specify (?:limits|requests)\.(?:cpu|memory)")),
    Rule(
        "image_pull",
        _D,
        _r(
            r"\b(ErrImagePull|ImagePullBackOff|ErrImageNeverPull|InvalidImageName)\b|Failed to pull image \"?([^\s\"]+)"
            r"|pull access denied|manifest unknown"
        ),
    ),
    Rule(
        "unschedulable",
        _D,
        _r(r"\bFailedScheduling\b|\bUnschedulable\b|Insufficient (cpu|memory)|didn't match node selector|had taints?"),
    ),
    Rule("out_of_memory", _D, _r(r"\bOOMKilled\b")),
    Rule(
        "probe_failing",
        _D,
        _r(r"(Startup|Readiness|Liveness) probe failed|failed (?:startup|liveness) probe, will be restarted"),
    ),
    Rule("crash_loop", _D, _r(r"\bCrashLoopBackOff\b|Back-off restarting failed container|\bterminated: Error\b")),
    Rule("rollout_timeout", _D, _r(r"ProgressDeadlineExceeded|rollout did not finish within")),
    # -- registry
    Rule(
        "registry_auth",
        _P,
        _r(r"unauthorized|authentication required|denied: requested access|\b401\b|\b403\b|no basic auth credentials"),
    ),
    Rule(
        "registry_unreachable",
        _P,
        _r(
            r"connection refused|no such host|i/o timeout|dial tcp|server gave HTTP response to HTTPS client"
            r"|connection reset|Max retries exceeded|Name or service not known|503 Service Unavailable|502 Bad Gateway"
        ),
    ),
    # -- base images
    Rule(
        "base_image_missing",
        _B,
        _r(
            r"base image (\S+) is not available|pull access denied for (\S+?),|manifest for (\S+) not found"
            r"|No such image: (\S+)"
        ),
    ),
    # node-gyp fetches the node headers unless told where they are: a native build's need, not the network's
    Rule("native_build", _B, _r(r"gyp http fetch GET \S*/node-v[\d.]+-(headers)\.tar\.gz attempt \d+ failed")),
    # -- downloads blocked during the build (before anything that a failed download also prints)
    Rule(
        "network_blocked",
        _B,
        _r(
            r"node-pre-gyp (?:WARN|ERR!) .*(?:Tried to download|Pre-built binaries not (?:found|installable))"
            r"|prebuild-install (?:warn|err) .*(?:download|request)|(?:sharp|esbuild|puppeteer|playwright)"
            r".*(?:download|fetch)\S* (?:failed|error)"
        ),
    ),
    Rule(
        "network_blocked",
        _B,
        _r(
            r"Could not resolve host|Temporary failure in name resolution|getaddrinfo (?:ENOTFOUND|EAI_AGAIN)"
            r"|Network is unreachable|\bETIMEDOUT\b|\bECONNRESET\b|Failed to establish a new connection"
            r"|CERTIFICATE_VERIFY_FAILED|SELF_SIGNED_CERT_IN_CHAIN|unable to get local issuer certificate"
            r"|Could not fetch URL|Connection timed out|proxy.*(?:refused|error)|ECONNREFUSED|\bENOTFOUND\b"
            r"|\bEAI_AGAIN\b|Name or service not known|nodename nor servname provided"
        ),
    ),
    # -- lockfiles and resolution
    Rule(
        "lockfile_out_of_sync", _B, _r(r"`?npm ci`? can only install packages when your package\.json and package-lock")
    ),
    Rule(
        "lockfile_out_of_sync",
        _B,
        _r(
            r"Missing: \S+ from lock file|lockfile needs to be updated|ERR_PNPM_OUTDATED_LOCKFILE"
            r"|Your lockfile needs to be updated|The lockfile would have been modified"
        ),
    ),
    Rule(
        "lockfile_out_of_sync",
        _B,
        _r(r"pyproject\.toml changed significantly since poetry\.lock|poetry\.lock is not consistent"),
    ),
    Rule(
        "lockfile_out_of_sync", _B, _r(r"uv\.lock.*needs to be updated|The lockfile at `uv\.lock` needs to be updated")
    ),
    Rule("lockfile_out_of_sync", _B, _r(r"Pipfile\.lock \(\w+\) out of date|lock file is not up to date")),
    Rule(
        "runtime_version",
        _BV,
        _r(r"requires a different Python: [\d.]+ not in '([^']+)'|Requires-Python ([<>=!~][^\s,]+)"),
    ),
    Rule("runtime_version", _BV, _r(r"Package '\S+' requires a different Python")),
    Rule("runtime_version", _BV, _r(r"No interpreter found for Python ([^\s]+)")),
    Rule(
        "runtime_version",
        _BV,
        _r(r"The engine \"node\" is incompatible with this module\. Expected version \"([^\"]+)\""),
    ),
    Rule(
        "runtime_version",
        _BV,
        _r(r"EBADENGINE.*\n(?:.*\n)*?.*required: \{[^}]*node: '([^']+)'|Required: \{\"node\":\"([^\"]+)\""),
    ),
    Rule(
        "runtime_version",
        _V,
        _r(r"SyntaxError: Unexpected token '(?:\?\?=|\?\.|\|\|=)'|ERR_REQUIRE_ESM|node: bad option: (--\S+)"),
    ),
    Rule(
        "dependency_resolution",
        _B,
        _r(
            r"ResolutionImpossible|because these package versions have conflicting dependencies"
            r"|ERESOLVE (?:unable to resolve|could not resolve)|version solving failed|SolverProblemError"
            r"|Could not resolve dependencies|No solution found when resolving"
        ),
    ),
    # -- native builds: compilers and headers (the packages a build stage needs)
    Rule("native_build", _B, _r(r"pg_config executable not found|libpq-fe\.h: No such file"), ("libpq-dev", "gcc")),
    Rule(
        "native_build",
        _B,
        _r(r"mysql_config not found|mysqlclient.*pkg-config|Can not find valid pkg-config name"),
        ("default-libmysqlclient-dev", "gcc", "pkg-config"),
    ),
    Rule("native_build", _B, _r(r"Python\.h: No such file"), ("gcc", "python3-dev")),
    Rule("native_build", _B, _r(r"ffi\.h: No such file"), ("gcc", "libffi-dev")),
    Rule("native_build", _B, _r(r"openssl/\w+\.h: No such file|cannot find -lssl"), ("gcc", "libssl-dev")),
    Rule("native_build", _B, _r(r"sql\.h: No such file"), ("gcc", "g++", "unixodbc-dev")),
    Rule("native_build", _B, _r(r"fatal error: (" + "|".join(re.escape(h) for h in _HEADERS) + r"): No such file")),
    Rule(
        "native_build",
        _B,
        _r(r"libxml/\w+\.h: No such file|xslt-config|libxslt"),
        ("gcc", "libxml2-dev", "libxslt1-dev"),
    ),
    Rule(
        "native_build",
        _B,
        _r(r"jpeglib\.h|headers or library files could not be found for jpeg"),
        ("gcc", "libjpeg-dev", "zlib1g-dev"),
    ),
    Rule(
        "native_build",
        _B,
        _r(r"zlib\.h: No such file|headers or library files could not be found for zlib"),
        ("gcc", "zlib1g-dev"),
    ),
    Rule("native_build", _B, _r(r"sqlite3\.h: No such file"), ("gcc", "libsqlite3-dev")),
    Rule("native_build", _B, _r(r"yaml\.h: No such file"), ("gcc", "libyaml-dev")),
    Rule("native_build", _B, _r(r"krb5-config|gssapi\.h: No such file"), ("gcc", "libkrb5-dev")),
    Rule(
        "native_build",
        _B,
        _r(r"cairo\.h: No such file|Package cairo was not found"),
        ("gcc", "libcairo2-dev", "pkg-config"),
    ),
    Rule(
        "native_build",
        _B,
        _r(r"can't find Rust compiler|Cargo, the Rust package manager, is not installed"),
        ("cargo", "rustc"),
    ),
    Rule(
        "native_build",
        _B,
        _r(r"gyp ERR! find Python|gyp ERR!.*(?:make|g\+\+|cc)|make: not found|g\+\+: not found"),
        ("g++", "make", "python3"),
    ),
    Rule(
        "native_build",
        _B,
        _r(
            r"command '(?:x86_64-linux-gnu-)?gcc' failed|gcc: not found|unable to execute 'gcc'|error: command 'cc' failed"
        ),
        ("gcc", "libc6-dev"),
    ),
    Rule(
        "native_build",
        _B,
        _r(r"pkg-config: not found|Could not find pkg-config|pkg-config.*not found"),
        ("pkg-config",),
    ),
    Rule(
        "native_build", _B, _r(r"git: not found|Cannot find command 'git'|spawn git ENOENT|git.*No such file"), ("git",)
    ),
    # an old pin without a wheel for this Python, whose source build fails for a reason named above or not
    Rule(
        "native_build",
        _B,
        _r(
            r"Failed building wheel for (\S+)|Building wheel for (\S+) \(\S+\) did not run successfully"
            r"|Failed to build (\S+)|error: subprocess-exited-with-error"
        ),
        ("gcc", "g++", "python3-dev"),
    ),
    Rule("package_not_found", _B, _r(r"No matching distribution found for (\S+)")),
    Rule(
        "package_not_found",
        _B,
        _r(r"npm ERR! 404 .*'(\S+)@|E404.*Not Found - GET \S+/(\S+) |notarget No matching version found for (\S+)"),
    ),
    # -- at start: what the container printed
    Rule("missing_runtime_library", _V, _r(r"(lib[\w+.-]*\.so[\d.]*): cannot open shared object file")),
    Rule("missing_runtime_library", _V, _r(r"error while loading shared libraries: (lib[\w+.-]*\.so[\d.]*)")),
    Rule(
        "missing_runtime_library",
        _V,
        _r(
            r"cannot load library '([^']+)'|no library called \"([^\"]+)\" was found|libpq library not found"
            r"|Could not find module '(lib[^']+)'|failed to find libmagic"
            r"|Unable to find (\w+) shared library|(\w+) shared library not found|Could not find the (\w+) library"
        ),
    ),
    Rule(
        "dev_tool_at_runtime",
        _V,
        _r(
            rf"(?:sh: \d+: |/bin/sh: \d*:? ?)({_DEV_TOOLS}): not found|exec: \"?({_DEV_TOOLS})\"?: executable file not found"
        ),
    ),
    Rule("dev_tool_at_runtime", _V, _r(rf"Cannot find module '[^']*node_modules/({_DEV_TOOLS})/")),
    Rule("missing_build_step", _BV, _r(r"Cannot find module '(/app/(?:dist|build|\.next|out|lib)/[^']*)'")),
    Rule("missing_build_step", _B, _r(r"npm (?:ERR!|error) Missing script: \"?([\w:.-]+)")),
    Rule("missing_build_step", _V, _r(r"Missing staticfiles manifest entry for '([^']+)'")),
    Rule("missing_dependency", _B, _r(r"failed to resolve import \"([^\"]+)\" from")),
    Rule(
        "missing_build_step",
        _BV,
        _r(
            r"Could not find a production build in the '\.next' directory|ENOENT: no such file or directory, "
            r"(?:open|stat|scandir) '(/app/(?:dist|build|\.next|out|\.output)\b[^']*)'"
        ),
    ),
    Rule(
        "missing_config",
        _V,
        _r(
            r"^\s*KeyError: '([A-Z][A-Z0-9_]{2,})'|environ\[['\"]([A-Z][A-Z0-9_]{2,})['\"]\]"
            r"|\b((?-i:[A-Z][A-Z0-9_]{2,})) (?:env(?:ironment)? var(?:iable)? )?(?:(?:is|must be) (?:required|set|defined"
            r"|missing|not set|empty)|(?:is |was |has )?(?:not (?:been )?(?:set|defined|found|provided|configured"
            r"|specified)|missing|undefined))"
            r"|(?:missing|undefined|unset|required) (?:required )?(?:environment variable|env(?:ironment)? var(?:iable)?"
            r"|config(?:uration)? (?:value|key)|setting)s?[:\s]+['\"`]?([A-Z][A-Z0-9_]{2,})"
            r"|environment variable ['\"`]?([A-Z][A-Z0-9_]{2,})['\"`]? (?:is )?(?:not set|required|missing|undefined)"
            r"|ImproperlyConfigured: .*?\b([A-Z][A-Z0-9_]{2,})\b"
            r"|The ([A-Z][A-Z0-9_]{2,}) setting must not be empty"
            r"|please set (?:the )?['\"`]?([A-Z][A-Z0-9_]{2,})"
        ),
    ),
    Rule(
        "service_unavailable",
        _V,
        _r(
            r"(?:ECONNREFUSED|Connection refused|could not connect to server|Can't connect to MySQL server"
            r"|Error \d+ connecting to|ServerSelectionTimeoutError|connection to server at)[^\n]*?"
            r"(?::|port )(5432|3306|6379|27017|5672|9200|11211|9092)\b"
        ),
    ),
    Rule("port_in_use", _V, _r(r"Address already in use|\bEADDRINUSE\b|address already in use")),
    Rule(
        "permission_denied",
        _V,
        _r(r"unable to open database file|attempt to write a readonly database|OperationalError: .*readonly"),
    ),
    Rule(
        "permission_denied",
        _BV,
        _r(
            r"PermissionError: \[Errno 13\] Permission denied: '([^']+)'|EACCES: permission denied, \w+ '([^']+)'"
            r"|[Pp]ermission denied: '?(/[^'\s]+)'?|(/\S+): Permission denied|Read-only file system: '([^']+)'"
        ),
    ),
    Rule("missing_dependency", _V, _r(r"ModuleNotFoundError: No module named '([\w.]+)'")),
    Rule("missing_dependency", _V, _r(r"ImportError: No module named '?([\w.]+)'?")),
    Rule("wrong_start_command", _V, _r(r"can't open file '([^']+)': \[Errno 2\]")),
    Rule("wrong_start_command", _V, _r(r"Error: Cannot find module '([^']+)'")),
    Rule(
        "wrong_start_command",
        _V,
        _r(
            r"exec: \"?([\w./-]+)\"?: executable file not found|exec (\S+): no such file or directory"
            r"|Error: No such command '(\S+)'|Failed to find attribute '(\w+)' in '([\w.]+)'"
            r"|Error: Could not import '([\w.:]+)'|Error loading ASGI app\. (?:Could not import|Attribute) \S*"
            r"|Could not import module \"?([\w.]+)\"?|Script file '([^']+)' does not exist"
            r"|Missing script: \"?([\w:-]+)\"?|Error: Couldn't find a `pages` directory"
        ),
    ),
    Rule(
        "copy_source_missing",
        _B,
        _r(r"COPY failed: .*?(\S+): no such file or directory|failed to compute cache key: .*\"(\S+)\" not found"),
    ),
    Rule(
        "dev_tool_at_runtime",
        _B,
        _r(rf"(?:sh: \d+: |/bin/sh: \d*:? ?)({_DEV_TOOLS}): not found"),
    ),
    Rule("command_not_found", _B, _r(r"(?:/bin/sh: \d+: )?([\w.-]+): (?:command )?not found")),
    # the app's own code fails: a traceback or a syntax error in /app (after every cause above)
    Rule(
        "app_error",
        _V,
        _r(
            r"^\s*File \"/app/[^\"]+\", line \d+.*\n(?:.*\n)*?^(\w+(?:Error|Exception)\b.*)$"
            r"|^SyntaxError: .*$|^\s+at .*\(/app/(?!node_modules)[^)]+\)$"
        ),
    ),
)

_MISSING_CONFIG = RULES[[r.category for r in RULES].index("missing_config")].pattern
_NOT_ENV = frozenset({"PATH", "HOME", "ERROR", "WARNING", "INFO", "DEBUG", "NOTE", "TRUE", "FALSE", "NONE", "NULL"})


def _lines_of(text: str, start: int, end: int) -> list[str]:
    """The full lines a match spans (the evidence a person reads)."""
    s = text.rfind("\n", 0, start) + 1
    e = text.find("\n", end)
    return [ln.strip() for ln in text[s : e if e >= 0 else len(text)].splitlines() if ln.strip()][:6]


def _config_names(text: str) -> list[str]:
    names: list[str] = []
    for m in _MISSING_CONFIG.finditer(text):
        for g in m.groups():
            if g and g not in _NOT_ENV and g not in names:
                names.append(g)
    return names


def classify(evidence: FailureEvidence) -> Diagnosis:
    """Name the cause of a failure from what it left; ``unknown`` when no rule matches.

    A failed rollout (stage ``deploy``) is read from its pod statuses and events (``message``); when
    the container started and stopped (a crash loop, a probe that never passed), the app's own log
    (``log_tail``) is read as verify reads a failed start, so the same causes get the same names.
    """
    if evidence.stage == "deploy":
        return _classify_deploy(evidence)
    return _classify(evidence)


# causes that read the same in a pod as at verify and need the same answer; any other cause the app's
# log names (a missing package, a missing variable) stays a crash loop, with that cause as its subject
_SAME_IN_A_POD = frozenset({"app_error", "port_in_use", "out_of_memory", "disk_full"})


def _classify_deploy(evidence: FailureEvidence) -> Diagnosis:
    status = _classify(evidence.model_copy(update={"log_tail": ""}))
    if status.category in ("crash_loop", "probe_failing", "rollout_timeout", "unknown") and evidence.log_tail:
        app = _classify(evidence.model_copy(update={"stage": "verify", "message": ""}))
        if app.category in _SAME_IN_A_POD:
            return app.model_copy(update={"evidence": [*status.evidence[:2], *app.evidence]})
        if app.category not in ("unknown", "port_mismatch") and status.category in ("crash_loop", "unknown"):
            return app.model_copy(
                update={
                    "category": "crash_loop",
                    "subject": app.category,
                    "evidence": [*status.evidence[:2], *app.evidence],
                    "detail": f"crash loop; the app's log says: {app.category} ({app.detail})"[:200],
                }
            )
    return status


def _classify(evidence: FailureEvidence) -> Diagnosis:
    text = f"{evidence.message}\n{evidence.log_tail}"
    for rule in RULES:
        if evidence.stage not in rule.stages:
            continue
        m = rule.pattern.search(text)
        if not m:
            continue
        subject = next((g for g in m.groups() if g), None)
        diag = Diagnosis(
            category=rule.category,
            evidence=_lines_of(text, m.start(), m.end()),
            subject=subject,
            packages=list(rule.packages),
            detail=m.group(0).strip()[:200],
        )
        return _refine(diag, evidence, text)
    return Diagnosis(category="unknown", detail=(evidence.message or evidence.log_tail[-200:]).strip()[:200])


def _refine(diag: Diagnosis, evidence: FailureEvidence, text: str) -> Diagnosis:
    """Details a rule's pattern alone cannot carry: every missing variable, the library's package."""
    if diag.category == "missing_config":
        return diag.model_copy(update={"names": _config_names(text)})
    if diag.category == "service_unavailable":
        return diag.model_copy(update={"names": _config_names(text)})
    if diag.category == "permission_denied" and not diag.subject:
        # a database file beside the code (SQLite): the app writes into its own folder
        return diag.model_copy(update={"subject": "/app"})
    if diag.category == "native_build" and not diag.packages and diag.subject in _HEADERS:
        return diag.model_copy(update={"packages": ["gcc", _HEADERS[diag.subject]]})
    if diag.category == "missing_runtime_library":
        lib = diag.subject or (
            "libpq.so" if "libpq" in diag.detail else "libmagic.so" if "magic" in diag.detail else ""
        )
        pkg = runtime_package_for(lib)
        return diag.model_copy(update={"packages": [pkg] if pkg else [], "subject": lib or diag.subject})
    if diag.category == "missing_dependency" and diag.subject and evidence.start_command:
        # the module the start command names is the app's own: its path is wrong, no package is missing
        top = diag.subject.split(".")[0]
        words = re.split(r"[\s:'\"=]+", evidence.start_command)
        if any(w == diag.subject or w.split(".")[0] == top for w in words if w):
            return diag.model_copy(update={"category": "wrong_start_command"})
    return diag


_CONFIG_WORDS = re.compile(
    r"\b(?:is |are )?required\b|\bmissing\b|must be (?:set|provided|specified|defined)|not (?:set|provided|defined"
    r"|configured)|\bundefined\b|api[_ -]?key|\btoken\b|credentials?|\bsecret\b",
    re.I,
)


def config_from_code(
    diag: Diagnosis, log_tail: str, code_names: list[str], documented: tuple[str, list[str]] | None = None
) -> Diagnosis:
    """A crash at start whose message asks for a value, in an app whose code reads variables without a
    default that nobody set: the configuration is missing (evidence: the message and the code's reads).

    ``documented`` (the project's ``.env.example`` and the names it lists) is the author's own word:
    a start that fails while variables it lists and the code reads are unset needs them, whatever
    the log shows (a minified stack, nothing at all).
    """
    if diag.category not in ("app_error", "unknown") or not code_names:
        return diag
    lines = [ln.strip() for ln in log_tail.splitlines() if ln.strip() and len(ln) <= 1000]  # minified code: noise
    asking = [ln for ln in lines if _CONFIG_WORDS.search(ln) and not ln.startswith("at ")][-2:]
    if not asking and documented is not None:
        listed = [n for n in code_names if n in documented[1]]
        if listed:
            evidence = [
                f"{documented[0]} lists {', '.join(listed)}; the code reads them without a default, and none is set",
                *lines[-1:],
            ]
            return Diagnosis(category="missing_config", evidence=evidence, names=listed, detail=evidence[0][:200])
    if not asking:
        return diag
    evidence = [*asking, f"the code reads {', '.join(code_names)} without a default, and none is set"]
    return Diagnosis(category="missing_config", evidence=evidence, names=list(code_names), detail=asking[-1][:200])
