"""The rule predicates: each takes the shared context and one instruction and says "violated".

Named after the rule id they implement; the table in ``rules.py`` binds them to ids, severities,
messages and keywords, so this module holds behaviour only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from containerkit.tools.lint._context import Ctx
from containerkit.tools.lint._shell import Command
from containerkit.tools.lint.models import Instruction

# -- helpers ---------------------------------------------------------------------------------


def _positional(args: Iterable[str], with_value: frozenset[str]) -> tuple[list[str], list[str]]:
    """Split CLI words into positional words and options, skipping the values of ``with_value``."""
    pos: list[str] = []
    opts: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a.startswith("-") and a != "-":
            opts.append(a)
            skip = a in with_value
        else:
            pos.append(a)
    return pos, opts


def _short(opts: list[str], *letters: str) -> bool:
    """Whether a short option cluster like ``-qy`` holds one of ``letters``."""
    return any(o.startswith("-") and not o.startswith("--") and any(ch in o[1:] for ch in letters) for o in opts)


def _subcommand(cmd: Command, with_value: frozenset[str]) -> tuple[str, list[str], list[str]]:
    pos, opts = _positional(cmd.args, with_value)
    return (pos[0] if pos else "", pos[1:], opts)


def _is_path_or_url(word: str) -> bool:
    return word.startswith(("/", "./", "../", ".", "~", "http://", "https://", "git+", "file:")) or "$" in word


_APT_VALUE_OPTS = frozenset({"-o", "--option", "-t", "--target-release", "-c", "--config-file"})


def _apt_installs(ctx: Ctx, ins: Instruction) -> list[tuple[list[str], list[str]]]:
    out = []
    for cmd in ctx.script(ins).named("apt-get"):
        sub, pkgs, opts = _subcommand(cmd, _APT_VALUE_OPTS)
        if sub == "install":
            out.append((pkgs, opts))
    return out


def _rm_targets(ctx: Ctx, ins: Instruction) -> list[str]:
    return [a for c in ctx.script(ins).named("rm") for a in c.args if not a.startswith("-")]


def _cache_mount(ins: Instruction, *targets: str) -> bool:
    mount = ins.flags.get("mount", "")
    return "type=cache" in mount and any(t in mount for t in targets)


# -- base image ------------------------------------------------------------------------------

_IMAGE = re.compile(
    r"^(?:(?P<registry>[^/]+\.[^/]+|[^/]+:\d+|localhost)/)?(?P<path>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>.+))?$"
)


def _from_parts(ctx: Ctx, ins: Instruction) -> tuple[str | None, str | None, str | None, bool] | None:
    """(registry, tag, digest, is_stage_or_scratch) of a FROM, or None when it cannot be resolved."""
    stage = ctx.stage(ins)
    if stage is None or "$" in stage.image:
        return None
    if stage.parent is not None or stage.image.lower() == "scratch":
        return (None, None, None, True)
    m = _IMAGE.match(stage.image)
    if m is None:
        return None
    return (m.group("registry"), m.group("tag"), m.group("digest"), False)


def dl3006(ctx: Ctx, ins: Instruction) -> bool:
    parts = _from_parts(ctx, ins)
    return parts is not None and not parts[3] and parts[1] is None and parts[2] is None


def dl3007(ctx: Ctx, ins: Instruction) -> bool:
    parts = _from_parts(ctx, ins)
    return parts is not None and parts[1] == "latest" and parts[2] is None


def dl3026(ctx: Ctx, ins: Instruction) -> bool:
    trusted = ctx.config.trusted_registries
    parts = _from_parts(ctx, ins)
    if not trusted or parts is None or parts[3]:
        return False
    registry = parts[0] or "docker.io"
    return registry not in trusted and not (registry == "docker.io" and "hub.docker.com" in trusted)


def dl3029(ctx: Ctx, ins: Instruction) -> bool:
    platform = ins.flags.get("platform")
    return platform is not None and "$" not in platform


def dl3024(ctx: Ctx, ins: Instruction) -> bool:
    stage = ctx.stage(ins)
    if stage is None or stage.name is None:
        return False
    return any(s.name == stage.name for s in ctx.stages[: stage.index])


_KNOWN = frozenset(
    {"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
     "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
)  # fmt: skip


def ck1000(ctx: Ctx, ins: Instruction) -> bool:
    return ins.keyword not in _KNOWN


def dl3061(ctx: Ctx, ins: Instruction) -> bool:
    return ins.stage < 0 and ins.keyword != "ARG"


# -- RUN: apt ---------------------------------------------------------------------------------


def dl3008(ctx: Ctx, ins: Instruction) -> bool:
    return any(
        "=" not in p and not p.endswith(".deb") and not _is_path_or_url(p)
        for pkgs, _ in _apt_installs(ctx, ins)
        for p in pkgs
    )


def dl3009(ctx: Ctx, ins: Instruction) -> bool:
    stage = ctx.stage(ins)
    if stage is None or not ctx.shipped(stage) or _cache_mount(ins, "/var/lib/apt"):
        return False
    used = any(_subcommand(c, _APT_VALUE_OPTS)[0] in ("update", "install") for c in ctx.script(ins).named("apt-get"))
    return used and not any(t.startswith("/var/lib/apt/lists") for t in _rm_targets(ctx, ins))


def dl3014(ctx: Ctx, ins: Instruction) -> bool:
    return any(
        not (_short(opts, "y") or {"--yes", "--assume-yes", "-qq", "-q=2"} & set(opts))
        for _, opts in _apt_installs(ctx, ins)
    )


def dl3015(ctx: Ctx, ins: Instruction) -> bool:
    for cmd in ctx.script(ins).named("apt-get"):
        sub, _, opts = _subcommand(cmd, _APT_VALUE_OPTS)
        if (
            sub == "install"
            and "--no-install-recommends" not in opts
            and not any("Install-Recommends=false" in a or "Install-Recommends=0" in a for a in cmd.args)
        ):
            return True
    return False


def dl3027(ctx: Ctx, ins: Instruction) -> bool:
    return ctx.script(ins).has("apt")


# -- RUN: other package managers ---------------------------------------------------------------

_PIP_VALUE_OPTS = frozenset(
    {
        "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
        "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root", "--src",
        "--platform", "--python-version", "--implementation", "--abi", "--trusted-host", "--cache-dir",
        "--upgrade-strategy", "--progress-bar", "--no-binary", "--only-binary", "-C", "--config-settings",
        "--log", "--proxy", "--retries", "--timeout", "--exists-action", "--cert", "--client-cert",
    }
)  # fmt: skip
_PIP_PIN = re.compile(r"==|>=|<=|~=|!=|<|>|@|\.whl$|\.tar\.gz$|\.zip$")


def _pip_installs(ctx: Ctx, ins: Instruction) -> list[tuple[list[str], list[str]]]:
    out = []
    for cmd in ctx.script(ins).commands:
        args: tuple[str, ...] | None = None
        if re.fullmatch(r"pip[\d.]*", cmd.name):
            args = cmd.args
        elif re.fullmatch(r"python[\d.]*", cmd.name) and cmd.args[:2] == ("-m", "pip"):
            args = cmd.args[2:]
        if args is None:
            continue
        pos, opts = _positional(args, _PIP_VALUE_OPTS)
        if pos and pos[0] == "install":
            out.append((pos[1:], opts))
    return out


def dl3013(ctx: Ctx, ins: Instruction) -> bool:
    return any(
        not _PIP_PIN.search(p) and not _is_path_or_url(p) and p != "."
        for pkgs, _ in _pip_installs(ctx, ins)
        for p in pkgs
    )


def dl3042(ctx: Ctx, ins: Instruction) -> bool:
    installs = _pip_installs(ctx, ins)
    if not installs or _cache_mount(ins, "pip", "/root/.cache"):
        return False
    env_off = any(re.search(r"\bPIP_NO_CACHE_DIR\b", e.value) for e in ctx.before(ins, "ENV"))
    return not env_off and any("--no-cache-dir" not in opts for _, opts in installs)


_NPM_VALUE_OPTS = frozenset({"--prefix", "--registry", "--cache", "-w", "--workspace", "--userconfig"})


def dl3016(ctx: Ctx, ins: Instruction) -> bool:
    for cmd in ctx.script(ins).named("npm"):
        sub, pkgs, _ = _subcommand(cmd, _NPM_VALUE_OPTS)
        if sub not in ("install", "i", "add", "isntall"):
            continue
        for p in pkgs:
            if _is_path_or_url(p) or p.endswith((".tgz", ".tar.gz")) or p.startswith(("git", "github:")):
                continue
            if p.rfind("@") <= 0 and not ("/" in p and not p.startswith("@")):
                return True
    return False


_APK_VALUE_OPTS = frozenset(
    {"-t", "--virtual", "-X", "--repository", "-p", "--root", "--arch", "--cache-dir", "--keys-dir"}
)


def _apk_adds(ctx: Ctx, ins: Instruction) -> list[tuple[list[str], list[str]]]:
    out = []
    for cmd in ctx.script(ins).named("apk"):
        sub, pkgs, opts = _subcommand(cmd, _APK_VALUE_OPTS)
        if sub == "add":
            out.append((pkgs, opts))
    return out


def dl3018(ctx: Ctx, ins: Instruction) -> bool:
    return any(
        not re.search(r"[=<>~]", p) and not p.endswith(".apk") and not _is_path_or_url(p)
        for pkgs, _ in _apk_adds(ctx, ins)
        for p in pkgs
    )


def dl3019(ctx: Ctx, ins: Instruction) -> bool:
    if _cache_mount(ins, "/var/cache/apk"):
        return False
    return any("--no-cache" not in opts for _, opts in _apk_adds(ctx, ins))


def dl3028(ctx: Ctx, ins: Instruction) -> bool:
    for cmd in ctx.script(ins).named("gem"):
        sub, pkgs, opts = _subcommand(
            cmd, frozenset({"-v", "--version", "-i", "--install-dir", "-n", "--bindir", "--source"})
        )
        pinned_all = {"-v", "--version"} & set(opts) or any(o.startswith("--version=") for o in opts)
        if (
            sub == "install"
            and not pinned_all
            and any(":" not in p and not _is_path_or_url(p) and not p.endswith(".gem") for p in pkgs)
        ):
            return True
    return False


_RPM_VALUE_OPTS = frozenset(
    {"-c", "--config", "--installroot", "--releasever", "--setopt", "--enablerepo", "--disablerepo"}
)


def _rpm_cmds(
    ctx: Ctx, ins: Instruction, names: tuple[str, ...], subs: tuple[str, ...]
) -> list[tuple[list[str], list[str]]]:
    out = []
    for cmd in ctx.script(ins).named(*names):
        sub, pkgs, opts = _subcommand(cmd, _RPM_VALUE_OPTS)
        if sub in subs:
            out.append((pkgs, opts))
    return out


def _no_yes(items: list[tuple[list[str], list[str]]], *longs: str) -> bool:
    return any(not (_short(opts, "y") or set(longs) & set(opts)) for _, opts in items)


def _unpinned_rpm(items: list[tuple[list[str], list[str]]]) -> bool:
    return any(
        not re.search(r"-\d", p) and not p.endswith(".rpm") and not _is_path_or_url(p) and not p.startswith("@")
        for pkgs, _ in items
        for p in pkgs
    )


def _cleaned(ctx: Ctx, ins: Instruction, tool: str, subs: tuple[str, ...], cache_dir: str) -> bool:
    for cmd in ctx.script(ins).named(*tool.split("|")):
        pos, _ = _positional(cmd.args, _RPM_VALUE_OPTS)
        if pos[:1] and pos[0] in subs:
            return True
    return any(t.startswith(cache_dir) for t in _rm_targets(ctx, ins))


def dl3030(ctx: Ctx, ins: Instruction) -> bool:
    return _no_yes(_rpm_cmds(ctx, ins, ("yum",), ("install", "groupinstall", "localinstall")), "--assumeyes")


def dl3032(ctx: Ctx, ins: Instruction) -> bool:
    used = _rpm_cmds(ctx, ins, ("yum",), ("install", "groupinstall", "localinstall"))
    return bool(used) and not _cleaned(ctx, ins, "yum", ("clean",), "/var/cache/yum")


def dl3033(ctx: Ctx, ins: Instruction) -> bool:
    return _unpinned_rpm(_rpm_cmds(ctx, ins, ("yum",), ("install",)))


def dl3038(ctx: Ctx, ins: Instruction) -> bool:
    return _no_yes(_rpm_cmds(ctx, ins, ("dnf", "microdnf"), ("install", "groupinstall", "localinstall")), "--assumeyes")


def dl3040(ctx: Ctx, ins: Instruction) -> bool:
    used = _rpm_cmds(ctx, ins, ("dnf", "microdnf"), ("install", "groupinstall", "localinstall"))
    return bool(used) and not _cleaned(ctx, ins, "dnf|microdnf", ("clean",), "/var/cache/dnf")


def dl3041(ctx: Ctx, ins: Instruction) -> bool:
    return _unpinned_rpm(_rpm_cmds(ctx, ins, ("dnf", "microdnf"), ("install",)))


_ZYPPER_INSTALL = ("install", "in", "remove", "rm", "source-install", "si", "patch")


def dl3034(ctx: Ctx, ins: Instruction) -> bool:
    for cmd in ctx.script(ins).named("zypper"):
        sub, _, opts = _subcommand(cmd, _RPM_VALUE_OPTS)
        if sub in _ZYPPER_INSTALL and not (
            _short(opts, "y", "n") or {"--non-interactive", "--no-confirm", "--assume-yes"} & set(opts)
        ):
            return True
    return False


def dl3035(ctx: Ctx, ins: Instruction) -> bool:
    return any(_subcommand(c, _RPM_VALUE_OPTS)[0] in ("dist-upgrade", "dup") for c in ctx.script(ins).named("zypper"))


def dl3036(ctx: Ctx, ins: Instruction) -> bool:
    used = any(_subcommand(c, _RPM_VALUE_OPTS)[0] in ("install", "in") for c in ctx.script(ins).named("zypper"))
    return used and not _cleaned(ctx, ins, "zypper", ("clean", "cc"), "/var/cache/zypp")


def dl3037(ctx: Ctx, ins: Instruction) -> bool:
    for cmd in ctx.script(ins).named("zypper"):
        sub, pkgs, _ = _subcommand(cmd, _RPM_VALUE_OPTS)
        if sub in ("install", "in") and any(
            not re.search(r"[=<>]", p) and not p.endswith(".rpm") and not _is_path_or_url(p) for p in pkgs
        ):
            return True
    return False


def dl3060(ctx: Ctx, ins: Instruction) -> bool:
    if _cache_mount(ins, "yarn", "/usr/local/share/.cache"):
        return False
    script = ctx.script(ins)
    installs = any(_subcommand(c, frozenset())[0] in ("install", "") for c in script.named("yarn"))
    cleaned = any(c.args[:2] == ("cache", "clean") for c in script.named("yarn"))
    return installs and not cleaned


def dl3062(ctx: Ctx, ins: Instruction) -> bool:
    for cmd in ctx.script(ins).named("go"):
        sub, pkgs, _ = _subcommand(cmd, frozenset({"-C", "-o", "-ldflags", "-tags", "-modfile"}))
        if sub == "install" and any("@" not in p or p.endswith("@latest") for p in pkgs if not _is_path_or_url(p)):
            return True
    return False


# -- RUN: shell habits -------------------------------------------------------------------------

_POINTLESS = frozenset({"ssh", "vim", "shutdown", "service", "ps", "free", "top", "kill", "mount", "ifconfig"})


def dl3001(ctx: Ctx, ins: Instruction) -> bool:
    return any(c.name in _POINTLESS for c in ctx.script(ins).commands)


def dl3003(ctx: Ctx, ins: Instruction) -> bool:
    return ctx.script(ins).has("cd")


def dl3004(ctx: Ctx, ins: Instruction) -> bool:
    return ctx.script(ins).has("sudo")


def dl3046(ctx: Ctx, ins: Instruction) -> bool:
    for cmd in ctx.script(ins).named("useradd"):
        args = cmd.args
        if "-l" in args or "--no-log-init" in args or _short([a for a in args if a.startswith("-")], "l"):
            continue
        for k, a in enumerate(args):
            uid = (
                args[k + 1]
                if a in ("-u", "--uid") and k + 1 < len(args)
                else a.partition("=")[2]
                if a.startswith("--uid=")
                else ""
            )
            if uid.isdigit() and len(uid) > 5:
                return True
    return False


def dl3047(ctx: Ctx, ins: Instruction) -> bool:
    quiet = ("--progress", "-q", "--quiet", "-nv", "--no-verbose", "-o", "--output-file", "-a", "--append-output")
    return any(
        not any(a == q or a.startswith(q + "=") for a in c.args for q in quiet) for c in ctx.script(ins).named("wget")
    )


def dl4001(ctx: Ctx, ins: Instruction) -> bool:
    stage = ctx.stage(ins)
    if stage is None:
        return False
    mine = {c.name for c in ctx.script(ins).commands} & {"curl", "wget"}
    if not mine:
        return False
    seen: set[str] = set()
    for other in stage.instructions:
        if other.keyword == "RUN" and other.line <= ins.line:
            seen |= {c.name for c in ctx.script(other).commands} & {"curl", "wget"}
    return seen == {"curl", "wget"}


def dl4005(ctx: Ctx, ins: Instruction) -> bool:
    return any(c.args and c.args[-1] == "/bin/sh" for c in ctx.script(ins).named("ln"))


def dl4006(ctx: Ctx, ins: Instruction) -> bool:
    if ins.json_args is not None or not ctx.script(ins).has_pipe:
        return False
    shells = ctx.before(ins, "SHELL")
    if not shells:
        return True
    args = shells[0].json_args or []
    return not ("pipefail" in args or any(a.lower().startswith(("pwsh", "powershell", "cmd")) for a in args[:1]))


def dl3059(ctx: Ctx, ins: Instruction) -> bool:
    prev = ctx.prev(ins)
    if prev is None or prev.keyword != "RUN" or prev.flags != ins.flags:
        return False
    return len(ctx.script(ins).commands) <= 1 and len(ctx.script(prev).commands) <= 1


# -- COPY / ADD --------------------------------------------------------------------------------

_ARCHIVE = re.compile(r"\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|gz|bz2|xz|zst|lz|lzma)$", re.I)
_URL = re.compile(r"^(https?|ftp)://|^git@|\.git(#.*)?$", re.I)


def _copy_args(ins: Instruction) -> list[str]:
    if ins.json_args is not None:
        return ins.json_args
    return [w for w in ins.value.split() if not w.startswith("<<")]


def dl3020(ctx: Ctx, ins: Instruction) -> bool:
    args = _copy_args(ins)
    sources = args[:-1]
    return bool(sources) and any(not _URL.search(s) and not _ARCHIVE.search(s) and "$" not in s for s in sources)


def dl3021(ctx: Ctx, ins: Instruction) -> bool:
    args = _copy_args(ins)
    return len(args) > 2 and not args[-1].endswith("/") and "$" not in args[-1]


def dl3022(ctx: Ctx, ins: Instruction) -> bool:
    ref = ins.flags.get("from")
    if ref is None or "$" in ref or ":" in ref or "/" in ref:
        return False
    if ref.isascii() and ref.isdigit():  # str.isdigit is also true for '²', which int() refuses
        return len(ref) > 6 or int(ref) >= ins.stage
    return not any(s.name == ref.lower() for s in ctx.stages[: max(ins.stage, 0)])


def dl3023(ctx: Ctx, ins: Instruction) -> bool:
    stage = ctx.stage(ins)
    ref = ins.flags.get("from")
    return stage is not None and ref is not None and stage.name is not None and ref.lower() == stage.name


def dl3045(ctx: Ctx, ins: Instruction) -> bool:
    args = _copy_args(ins)
    if len(args) < 2:
        return False
    dest = args[-1].strip("\"'")
    if dest.startswith(("/", "$", "~")) or re.match(r"^[A-Za-z]:[\\/]", dest):
        return False
    return not ctx.before(ins, "WORKDIR")


# -- other instructions ------------------------------------------------------------------------


def dl3000(ctx: Ctx, ins: Instruction) -> bool:
    path = ins.value.strip().strip("\"'")
    return bool(path) and not path.startswith(("/", "$")) and not re.match(r"^[A-Za-z]:[\\/]", path)


def _user_name(ins: Instruction) -> str:
    return ins.value.strip().split(":", 1)[0]


def dl3002(ctx: Ctx, ins: Instruction) -> bool:
    stage = ctx.stage(ins)
    if stage is None or not ctx.shipped(stage) or _user_name(ins) not in ("root", "0"):
        return False
    return all(i.line <= ins.line for i in stage.instructions if i.keyword == "USER")


def dl3066(ctx: Ctx, ins: Instruction) -> bool:
    user = _user_name(ins)
    return bool(user) and not user.isdigit() and "$" not in user


def dl3011(ctx: Ctx, ins: Instruction) -> bool:
    for word in ins.value.split():
        port = word.split("/", 1)[0]
        for part in port.split("-"):
            if part.isascii() and part.isdigit() and (len(part.lstrip("0")) > 5 or int(part) > 65535):
                return True
    return False


def _nth_in_stage(ctx: Ctx, ins: Instruction) -> int:
    stage = ctx.stage(ins)
    if stage is None:
        return 0
    return sum(1 for i in stage.instructions if i.keyword == ins.keyword and i.line < ins.line)


def dl_repeat(ctx: Ctx, ins: Instruction) -> bool:
    """DL3012/DL4003/DL4004: a second HEALTHCHECK, CMD or ENTRYPOINT in one stage."""
    return _nth_in_stage(ctx, ins) >= 1


def healthcheck_command(ins: Instruction) -> str | None:
    """The command of ``HEALTHCHECK [flags] CMD ...``; None for ``HEALTHCHECK NONE``."""
    head, _, rest = ins.value.partition(" ")
    return rest.strip() if head.upper() == "CMD" else None


def dl3025(ctx: Ctx, ins: Instruction) -> bool:
    if ins.keyword == "HEALTHCHECK":
        cmd = healthcheck_command(ins)
        return cmd is not None and bool(cmd) and not cmd.startswith("[")
    return ins.json_args is None and bool(ins.value)


def dl3043(ctx: Ctx, ins: Instruction) -> bool:
    inner = ins.value.split(None, 1)[0].upper() if ins.value else ""
    return inner in ("ONBUILD", "FROM", "MAINTAINER")


_ENV_PAIR = re.compile(r"""([A-Za-z_][\w.-]*)=("(?:\\.|[^"\\])*"|'[^']*'|(?:\\.|\S)*)""")


def env_pairs(ins: Instruction) -> list[tuple[str, str]]:
    """KEY=VALUE pairs of ENV/LABEL/ARG; the legacy ``ENV KEY value`` form as one pair."""
    pairs = [(m.group(1), m.group(2)) for m in _ENV_PAIR.finditer(ins.value)]
    if not pairs and ins.keyword == "ENV":
        key, _, value = ins.value.partition(" ")
        if key:
            pairs = [(key, value.strip())]
    return pairs


def dl3044(ctx: Ctx, ins: Instruction) -> bool:
    pairs = env_pairs(ins)
    defined: set[str] = set()
    for key, value in pairs:
        if defined and re.search(r"\$\{?(" + "|".join(map(re.escape, defined)) + r")\b", value):
            prior = {i for i in ctx.before(ins, "ENV")} | {i for i in ctx.before(ins, "ARG")}
            names = {k for i in prior for k, _ in env_pairs(i)}
            if not (defined & names):
                return True
        defined.add(key)
    return False


_LABEL_KEY = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*\Z")
_RESERVED = ("com.docker.", "io.docker.", "org.dockerproject.")


def dl3048(ctx: Ctx, ins: Instruction) -> bool:
    for m in re.finditer(r"""("[^"]*"|'[^']*'|[^\s=]+)=""", ins.value):
        key = m.group(1).strip("\"'")
        if not _LABEL_KEY.match(key) or key.startswith(_RESERVED):
            return True
    return False


def dl3057(ctx: Ctx, ins: Instruction) -> bool:
    stage = ctx.stage(ins)
    if stage is None or stage.index != ctx.last_stage or stage.line != ins.line:
        return False
    return not any(i.keyword == "HEALTHCHECK" for s in ctx.lineage(stage) for i in s.instructions)


_SENSITIVE = ("password", "passwd", "secret", "token", "api_key", "apikey", "private_key", "client_key", "access_key")


def _sensitive(name: str) -> bool:
    low = name.lower()
    return any(s in low for s in _SENSITIVE)


def dl3064(ctx: Ctx, ins: Instruction) -> bool:
    if ins.keyword == "ARG":
        return any(_sensitive(w.partition("=")[0]) for w in ins.value.split())
    return any(_sensitive(k) for k, _ in env_pairs(ins))


# -- containerkit rules ------------------------------------------------------------------------


def ck1001(ctx: Ctx, ins: Instruction) -> bool:
    """ENV bakes a literal secret into every later layer and the image config."""
    return any(_sensitive(k) and v.strip("\"'") and "$" not in v for k, v in env_pairs(ins))


def ck1002(ctx: Ctx, ins: Instruction) -> bool:
    cmds = ctx.script(ins).commands
    for k, c in enumerate(cmds[:-1]):
        nxt = cmds[k + 1]
        if (
            c.name in ("curl", "wget")
            and c.piped
            and nxt.piped
            and nxt.name.rsplit("/", 1)[-1] in ("sh", "bash", "ash", "zsh", "dash")
        ):
            return True
    return False


def ck1003(ctx: Ctx, ins: Instruction) -> bool:
    stage = ctx.stage(ins)
    if stage is None or stage.index != ctx.last_stage or stage.line != ins.line:
        return False
    if "nonroot" in stage.image or stage.image.endswith(":debug-nonroot"):
        return False
    return not any(i.keyword == "USER" for s in ctx.lineage(stage) for i in s.instructions)


def ck1004(ctx: Ctx, ins: Instruction) -> bool:
    if "checksum" in ins.flags:
        return False
    return any(re.match(r"^(https?|ftp)://", s, re.I) for s in _copy_args(ins)[:-1])


def ck1005(ctx: Ctx, ins: Instruction) -> bool:
    for c in ctx.script(ins).named("chmod"):
        for a in c.args:
            if re.fullmatch(r"0?[0-7]?[0-7][0-7]7|0?[0-7]?[0-7][0-7][2367]", a) or re.fullmatch(
                r"(a|o|ugo)\+\w*w\w*", a
            ):
                return True
    return False


def ck1006(ctx: Ctx, ins: Instruction) -> bool:
    for c in ctx.script(ins).commands:
        if c.name == "curl" and ("-k" in c.args or "--insecure" in c.args):
            return True
        if c.name == "wget" and "--no-check-certificate" in c.args:
            return True
        if re.fullmatch(r"pip[\d.]*", c.name) and any(
            a == "--trusted-host" or a.startswith("--trusted-host=") for a in c.args
        ):
            return True
    return False


def ck1007(ctx: Ctx, ins: Instruction) -> bool:
    for c in ctx.script(ins).commands:
        sub = _subcommand(c, _APT_VALUE_OPTS)[0]
        if c.name in ("apt-get", "apt") and sub in ("upgrade", "dist-upgrade", "full-upgrade"):
            return True
        if c.name == "apk" and sub == "upgrade":
            return True
    return False


def ck1008(ctx: Ctx, ins: Instruction) -> bool:
    return any(k == "DEBIAN_FRONTEND" for k, _ in env_pairs(ins))


_SECRET_FILES = re.compile(
    r"(^|/)(id_rsa|id_ed25519|id_ecdsa|\.env|\.npmrc|\.pypirc|\.netrc|\.git-credentials)$|\.(pem|key|p12|pfx)$"
)


def ck1009(ctx: Ctx, ins: Instruction) -> bool:
    return any(_SECRET_FILES.search(s.strip("\"'")) for s in _copy_args(ins)[:-1])


_DEP_INSTALLS = frozenset(
    {("npm", "ci"), ("npm", "install"), ("npm", "i"), ("yarn", "install"), ("pnpm", "install"), ("poetry", "install"),
     ("uv", "sync"), ("bundle", "install"), ("composer", "install"), ("go", "mod"), ("pip", "install"), ("pip3", "install")}
)  # fmt: skip


def _installs_deps(ctx: Ctx, ins: Instruction) -> bool:
    return any((c.name, c.args[0] if c.args else "") in _DEP_INSTALLS for c in ctx.script(ins).commands)


def ck1010(ctx: Ctx, ins: Instruction) -> bool:
    """``COPY . .`` before the first dependency install: any source edit re-runs the install."""
    args = _copy_args(ins)
    stage = ctx.stage(ins)
    if stage is None or "from" in ins.flags or len(args) != 2 or args[0] not in (".", "./"):
        return False
    runs = [i for i in stage.instructions if i.keyword == "RUN"]
    if any(_installs_deps(ctx, r) for r in runs if r.line < ins.line):
        return False
    return any(_installs_deps(ctx, r) for r in runs if r.line > ins.line)


def ck1011(ctx: Ctx, ins: Instruction) -> bool:
    return any(w.split("/", 1)[0] == "22" for w in ins.value.split())


def ck1012(ctx: Ctx, ins: Instruction) -> bool:
    """An ``# escape=`` directive other than ``\\`` or a backtick: the builder refuses the file (reported once)."""
    escape = ctx.parsed.directives.get("escape")
    if escape is None or escape in ("\\", "`"):
        return False
    return bool(ctx.stages) and ins.line == ctx.stages[0].line
