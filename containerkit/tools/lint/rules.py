"""The rule table: id, severity, message, fix hint, the instructions it looks at, and its check.

Ids and texts follow hadolint where a rule matches one (so ``# hadolint ignore=DL3008`` and
existing ignore lists keep working); CKxxxx rules are containerkit's own. Adding a rule is a row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from containerkit.tools.lint import _checks as c
from containerkit.tools.lint._context import Ctx
from containerkit.tools.lint.models import Instruction, Severity

__all__ = ["RULES", "RULES_BY_ID", "Rule"]

Check = Callable[[Ctx, Instruction], bool]
E, W, INFO, S = Severity.ERROR, Severity.WARNING, Severity.INFO, Severity.STYLE


class Rule(NamedTuple):
    id: str
    severity: Severity
    message: str
    hint: str
    keywords: frozenset[str]
    check: Check
    fixable: bool = False


def _k(*names: str) -> frozenset[str]:
    return frozenset(names)


RUN, FROM, COPY_ADD = _k("RUN"), _k("FROM"), _k("COPY", "ADD")

RULES: tuple[Rule, ...] = (
    Rule("DL3000", E, "Use absolute WORKDIR", "Give WORKDIR an absolute path such as /app.", _k("WORKDIR"), c.dl3000, True),
    Rule("DL3001", INFO, "For some bash commands it makes no sense running them in a Docker container like `ssh`, `vim`, `shutdown`, `service`, `ps`, `free`, `top`, `kill`, `mount`, `ifconfig`", "Drop interactive or system-management commands from the build.", RUN, c.dl3001),
    Rule("DL3002", W, "Last USER should not be root", "Switch to an unprivileged numeric user (USER 10001) after the steps that need root.", _k("USER"), c.dl3002),
    Rule("DL3003", W, "Use WORKDIR to switch to a directory", "Replace `cd DIR && ...` with `WORKDIR DIR` before the RUN.", RUN, c.dl3003),
    Rule("DL3004", E, "Do not use sudo as it leads to unpredictable behavior. Use a tool like gosu to enforce root", "Builds already run as root; drop sudo or use gosu at runtime.", RUN, c.dl3004),
    Rule("DL3006", W, "Always tag the version of an image explicitly", "Name a tag or digest: `FROM python:3.12-slim`.", FROM, c.dl3006),
    Rule("DL3007", W, "Using latest is prone to errors if the image will ever update. Pin the version explicitly to a release tag", "Replace :latest with a release tag or a digest.", FROM, c.dl3007),
    Rule("DL3008", W, "Pin versions in apt get install. Instead of `apt-get install <package>` use `apt-get install <package>=<version>`", "Pin each package: `apt-get install curl=7.88.1-10+deb12u5`.", RUN, c.dl3008),
    Rule("DL3009", INFO, "Delete the apt lists (/var/lib/apt/lists) after installing something", "End the RUN with `&& rm -rf /var/lib/apt/lists/*`.", RUN, c.dl3009, True),
    Rule("DL3011", E, "Valid UNIX ports range from 0 to 65535", "Use a port between 0 and 65535.", _k("EXPOSE"), c.dl3011),
    Rule("DL3012", E, "Multiple `HEALTHCHECK` instructions", "Keep one HEALTHCHECK per stage; only the last takes effect.", _k("HEALTHCHECK"), c.dl_repeat),
    Rule("DL3013", W, "Pin versions in pip. Instead of `pip install <package>` use `pip install <package>==<version>` or `pip install --requirement <requirements file>`", "Pin with `pkg==1.2.3` or install from a locked requirements file.", RUN, c.dl3013),
    Rule("DL3014", W, "Use the `-y` switch to avoid manual input `apt-get -y install <package>`", "Add -y to apt-get install.", RUN, c.dl3014, True),
    Rule("DL3015", INFO, "Avoid additional packages by specifying `--no-install-recommends`", "Add --no-install-recommends to apt-get install.", RUN, c.dl3015, True),
    Rule("DL3016", W, "Pin versions in npm. Instead of `npm install <package>` use `npm install <package>@<version>`", "Pin with `npm install pkg@1.2.3`, or use `npm ci` with a lockfile.", RUN, c.dl3016),
    Rule("DL3018", W, "Pin versions in apk add. Instead of `apk add <package>` use `apk add <package>=<version>`", "Pin with `apk add pkg=1.2.3-r0`.", RUN, c.dl3018),
    Rule("DL3019", INFO, "Use the `--no-cache` switch to avoid the need to use `--update` and remove `/var/cache/apk/*` when done installing packages", "Use `apk add --no-cache`.", RUN, c.dl3019, True),
    Rule("DL3020", E, "Use COPY instead of ADD for files and folders", "ADD is for URLs and archives; use COPY for local files.", _k("ADD"), c.dl3020, True),
    Rule("DL3021", E, "COPY with more than 2 arguments requires the last argument to end with /", "End the destination with / when copying several sources.", _k("COPY"), c.dl3021, True),
    Rule("DL3022", W, "`COPY --from` should reference a previously defined `FROM` alias", "Name an earlier stage (`FROM ... AS build`) or a full image reference.", _k("COPY"), c.dl3022),
    Rule("DL3023", E, "`COPY --from` cannot reference its own `FROM` alias", "Copy from an earlier stage, not the one being built.", _k("COPY"), c.dl3023),
    Rule("DL3024", E, "FROM aliases (stage names) must be unique", "Give every stage its own name.", FROM, c.dl3024),
    Rule("DL3025", W, "Use arguments JSON notation for CMD and ENTRYPOINT arguments", 'Use exec form, e.g. CMD ["gunicorn", "app:app"], so the process gets signals.', _k("CMD", "ENTRYPOINT", "HEALTHCHECK"), c.dl3025, True),
    Rule("DL3026", E, "Use only an allowed registry in the FROM image", "Pull base images from a trusted registry (LintConfig.trusted_registries).", FROM, c.dl3026),
    Rule("DL3027", W, "Do not use apt as it is meant to be an end-user tool, use apt-get or apt-cache instead", "Replace apt with apt-get.", RUN, c.dl3027, True),
    Rule("DL3028", W, "Pin versions in gem install. Instead of `gem install <gem>` use `gem install <gem>:<version>`", "Pin with `gem install rails:7.1.3`.", RUN, c.dl3028),
    Rule("DL3029", W, "Do not use --platform flag with FROM", "Drop --platform, or use $BUILDPLATFORM/$TARGETPLATFORM.", FROM, c.dl3029),
    Rule("DL3030", W, "Use the -y switch to avoid manual input `yum install -y <package>`", "Add -y to yum install.", RUN, c.dl3030, True),
    Rule("DL3032", W, "`yum clean all` missing after yum command.", "End the RUN with `&& yum clean all`.", RUN, c.dl3032, True),
    Rule("DL3033", W, "Specify version with `yum install -y <package>-<version>`.", "Pin with `yum install -y pkg-1.2.3`.", RUN, c.dl3033),
    Rule("DL3034", W, "Non-interactive switch missing from `zypper` command: `zypper install -y`", "Add -y (or --non-interactive) to zypper.", RUN, c.dl3034, True),
    Rule("DL3035", W, "Do not use `zypper dist-upgrade`.", "Use a newer base image instead of upgrading in the build.", RUN, c.dl3035),
    Rule("DL3036", W, "`zypper clean` missing after zypper use.", "End the RUN with `&& zypper clean`.", RUN, c.dl3036, True),
    Rule("DL3037", W, "Specify version with `zypper install -y <package>=<version>`.", "Pin with `zypper install -y pkg=1.2.3`.", RUN, c.dl3037),
    Rule("DL3038", W, "Use the -y switch to avoid manual input `dnf install -y <package>`", "Add -y to dnf install.", RUN, c.dl3038, True),
    Rule("DL3040", W, "`dnf clean all` missing after dnf command.", "End the RUN with `&& dnf clean all`.", RUN, c.dl3040, True),
    Rule("DL3041", W, "Specify version with `dnf install -y <package>-<version>`.", "Pin with `dnf install -y pkg-1.2.3`.", RUN, c.dl3041),
    Rule("DL3042", W, "Avoid use of cache directory with pip. Use `pip install --no-cache-dir <package>`", "Add --no-cache-dir (or ENV PIP_NO_CACHE_DIR=1, or a cache mount).", RUN, c.dl3042, True),
    Rule("DL3043", E, "`ONBUILD`, `FROM` or `MAINTAINER` triggered from within `ONBUILD` instruction.", "ONBUILD may not trigger ONBUILD, FROM or MAINTAINER.", _k("ONBUILD"), c.dl3043),
    Rule("DL3044", E, "Do not refer to an environment variable within the same `ENV` statement where it is defined.", "Split the ENV in two; a variable is not visible in its own ENV.", _k("ENV"), c.dl3044),
    Rule("DL3045", W, "`COPY` to a relative destination without `WORKDIR` set.", "Set WORKDIR first or copy to an absolute path.", _k("COPY"), c.dl3045),
    Rule("DL3046", W, "`useradd` without flag `-l` and high UID will result in excessively large Image.", "Add -l (--no-log-init) to useradd.", RUN, c.dl3046),
    Rule("DL3047", INFO, "Avoid use of wget without progress bar. Use `wget --progress=dot:giga <url>`. Or consider using `-q` or `-nv` (shorthands for `--quiet` or `--no-verbose`).", "Add --progress=dot:giga (or -q) to wget.", RUN, c.dl3047, True),
    Rule("DL3048", S, "Invalid label key.", "Use lower-case reverse-DNS keys such as org.opencontainers.image.title.", _k("LABEL"), c.dl3048),
    Rule("DL3057", INFO, "`HEALTHCHECK` instruction missing.", "Add a HEALTHCHECK to the final stage (or rely on a Kubernetes probe).", FROM, c.dl3057),
    Rule("DL3059", INFO, "Multiple consecutive `RUN` instructions. Consider consolidation.", "Join consecutive RUNs with && to save layers.", RUN, c.dl3059),
    Rule("DL3060", INFO, "`yarn cache clean` missing after `yarn install` was run.", "End the RUN with `&& yarn cache clean`.", RUN, c.dl3060, True),
    Rule("DL3061", E, "Invalid instruction order. Dockerfile must begin with `FROM`, `ARG` or comment.", "Move the instruction below the first FROM.", frozenset(), c.dl3061),
    Rule("DL3062", W, "Pin versions in go. Instead of `go install <package>` use `go install <package>@<version>`", "Install a tagged version: `go install example.com/tool@v1.2.3`.", RUN, c.dl3062),
    Rule("DL3064", W, "Potentially sensitive data should not be used in the `ARG` or `ENV` commands", "Pass secrets with `RUN --mount=type=secret`, never ARG/ENV.", _k("ARG", "ENV"), c.dl3064),
    Rule("DL3066", INFO, "Non-numeric user-id may not be resolvable by host system", "Use a numeric uid (USER 10001) so runAsNonRoot can be verified.", _k("USER"), c.dl3066),
    Rule("DL4000", E, "MAINTAINER is deprecated", 'Use LABEL maintainer="name".', _k("MAINTAINER"), lambda ctx, ins: True, True),
    Rule("DL4001", W, "Either use Wget or Curl but not both", "Pick one download tool per stage.", RUN, c.dl4001),
    Rule("DL4003", W, "Multiple `CMD` instructions found. If you list more than one `CMD` then only the last `CMD` will take effect", "Keep one CMD per stage.", _k("CMD"), c.dl_repeat),
    Rule("DL4004", E, "Multiple `ENTRYPOINT` instructions found. If you list more than one `ENTRYPOINT` then only the last `ENTRYPOINT` will take effect", "Keep one ENTRYPOINT per stage.", _k("ENTRYPOINT"), c.dl_repeat),
    Rule("DL4005", W, "Use SHELL to change the default shell", 'Use SHELL ["/bin/bash", "-c"] instead of relinking /bin/sh.', RUN, c.dl4005),
    Rule("DL4006", W, "Set the SHELL option -o pipefail before RUN with a pipe in it. If you are using /bin/sh in an alpine image or if your shell is symlinked to busybox then consider explicitly setting your SHELL to /bin/ash, or disable this check", 'Add SHELL ["/bin/bash", "-o", "pipefail", "-c"] before the RUN.', RUN, c.dl4006),
    Rule("CK1000", E, "Unknown instruction", "Check the spelling; a builder rejects an unknown instruction.", frozenset(), c.ck1000),
    Rule("CK1001", E, "Secret-looking ENV variable has a literal value baked into the image", "Pass it at runtime (Kubernetes Secret) or with `RUN --mount=type=secret`.", _k("ENV"), c.ck1001),
    Rule("CK1002", W, "Piping a download straight into a shell runs unverified code", "Download to a file, verify its checksum, then run it.", RUN, c.ck1002),
    Rule("CK1003", W, "The final stage never sets USER, so the container runs as root", "Add `USER 10001` (a numeric non-root uid) to the final stage.", FROM, c.ck1003),
    Rule("CK1004", W, "ADD from a URL without --checksum downloads unverified content", "Use `ADD --checksum=sha256:... URL DEST` or download and verify in a RUN.", _k("ADD"), c.ck1004),
    Rule("CK1005", W, "World-writable permissions (chmod 777 / o+w)", "Grant only what the app user needs, e.g. chown to the app user and chmod 755.", RUN, c.ck1005),
    Rule("CK1006", W, "TLS verification disabled for a download", "Drop -k/--insecure/--no-check-certificate/--trusted-host; install the CA instead.", RUN, c.ck1006),
    Rule("CK1007", INFO, "Upgrading all packages in the build makes it unreproducible", "Use a newer base image tag instead of upgrade/dist-upgrade.", RUN, c.ck1007),
    Rule("CK1008", INFO, "DEBIAN_FRONTEND set with ENV persists into the running container", "Use `ARG DEBIAN_FRONTEND=noninteractive` so it applies to the build only.", _k("ENV"), c.ck1008, True),
    Rule("CK1009", W, "A secret-looking file (key, .env, credentials) is copied into the image", "Keep it out of the image; list it in .dockerignore and mount it as a secret.", COPY_ADD, c.ck1009),
    Rule("CK1010", INFO, "The whole build context is copied before dependencies are installed", "Copy the lockfile first, install, then copy the source, so edits keep the dependency layer cached.", _k("COPY"), c.ck1010),
    Rule("CK1011", INFO, "Port 22 (SSH) exposed", "Use `kubectl exec`/`docker exec` instead of running sshd in the container.", _k("EXPOSE"), c.ck1011),
    Rule("CK1012", E, "Invalid `# escape=` parser directive: the builder accepts only a backslash or a backtick", "Write `# escape=\\` or `# escape=``, or remove the directive.", FROM, c.ck1012),
)  # fmt: skip

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
