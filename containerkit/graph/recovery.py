"""The recovery policy: one row per failure category, read by the orchestrator.

``fix``: the named agent changes what caused it (analyze writes a new Dockerfile revision) and the
stage runs again; ``retry``: a transient fault, the stage runs again after a backoff; ``config``: the
app needs values no program can guess, the run ends ``needs_config`` with their names; ``user``: the
run stops with the hint. Categories come from evidence (``containerkit.tools.diagnose``); a failure
no rule explains is ``unknown``.
"""

from __future__ import annotations

from containerkit.agents.orch import Strategy

__all__ = ["DEFAULT_RECOVERY"]

_BUILD = frozenset({"buildsec"})
_PUSH = frozenset({"infra"})
_ANY = frozenset({"analyze", "buildsec", "infra", "deploy"})
_DEPLOY = frozenset({"deploy"})

DEFAULT_RECOVERY: tuple[Strategy, ...] = (
    # -- the analyze agent changes the Dockerfile
    Strategy("native_build", _BUILD, "fix", "analyze", limit=3),
    Strategy("missing_runtime_library", _BUILD, "fix", "analyze", limit=2),
    Strategy("runtime_version", _BUILD, "fix", "analyze", limit=1),
    # found by the analysis before any build: no image has the version the app requires
    Strategy(
        "runtime_version",
        frozenset({"analyze"}),
        "user",
        hint="Make an image with the required version available (load or push it), pass --base-image, or add "
        "the version to [base_images.<language>] in config.toml.",
    ),
    Strategy("base_image_missing", _BUILD, "fix", "analyze", limit=1),
    Strategy("lockfile_out_of_sync", _BUILD, "fix", "analyze", limit=1),
    Strategy("missing_build_step", _BUILD, "fix", "analyze", limit=1),
    Strategy("wrong_start_command", _BUILD, "fix", "analyze", limit=2),
    Strategy("dev_tool_at_runtime", _BUILD, "fix", "analyze", limit=1),
    Strategy("missing_dependency", _BUILD, "fix", "analyze", limit=2),
    Strategy("permission_denied", _BUILD, "fix", "analyze", limit=2),
    Strategy("copy_source_missing", _BUILD, "fix", "analyze", limit=1),
    Strategy("command_not_found", _BUILD, "fix", "analyze", limit=1),
    # a user's Dockerfile that fails for a cause no rule knows is offered the generated one (once)
    Strategy(
        "unknown", _BUILD, "fix", "analyze", limit=1, hint="Read the log tail in `containerkit sessions show ID`."
    ),
    # -- transient: the same stage again, after a backoff
    Strategy(
        "network_blocked",
        _BUILD,
        "fix",
        "analyze",
        limit=1,
        hint="Downloads failed during the build: check the proxy, DNS, or a package index mirror "
        "(PIP_INDEX_URL / npm registry).",
    ),
    Strategy(
        "daemon_unavailable",
        _ANY,
        "retry",
        limit=2,
        backoff_s=1.0,
        hint="Start the Docker engine (or set DOCKER_HOST), then `containerkit resume ID`.",
    ),
    Strategy(
        "registry_unreachable",
        _PUSH,
        "retry",
        limit=3,
        backoff_s=1.0,
        hint="Check --registry HOST:PORT and that the registry runs; `containerkit resume ID` pushes "
        "the image already built.",
    ),
    Strategy(
        "registry_busy",
        _PUSH,
        "retry",
        limit=2,
        backoff_s=2.0,
        hint="The registry answers 5xx or 429 (its retries inside the push are recorded under operations); "
        "wait, then `containerkit resume ID`.",
    ),
    Strategy(
        "operation_timeout",
        _PUSH,
        "retry",
        limit=1,
        backoff_s=1.0,
        hint="The push did not finish in time: raise --push-timeout (or [timeouts] push in config.toml), "
        "then `containerkit resume ID`.",
    ),
    # -- the registry refuses (4xx, TLS): no retry helps until the user acts
    Strategy(
        "registry_auth",
        _PUSH,
        "user",
        hint="Log in (`docker login HOST`, CONTAINERKIT_REGISTRY_USER/_PASSWORD, or --password-stdin), then "
        "`containerkit resume ID`.",
    ),
    Strategy(
        "registry_forbidden",
        _PUSH,
        "user",
        hint="The account may not push to that repository: push elsewhere (--image, --registry) or get access, "
        "then resume.",
    ),
    Strategy(
        "image_not_in_registry",
        _PUSH,
        "user",
        hint="The registry does not know that repository: check --image and --registry.",
    ),
    Strategy(
        "registry_tls",
        _PUSH,
        "user",
        hint="Pass the registry's CA with --registry-ca FILE (the engine needs it too, as "
        "/etc/docker/certs.d/HOST:PORT/ca.crt), then resume.",
    ),
    Strategy(
        "registry_credentials",
        _PUSH,
        "user",
        hint="Fix the Docker config (config.json, its credential helper) or pass CONTAINERKIT_REGISTRY_USER/"
        "_PASSWORD, then resume.",
    ),
    # -- configuration only the user has
    Strategy(
        "missing_config",
        _BUILD,
        "config",
        hint="Pass the variables with --env KEY=VALUE or --env-file FILE and resume.",
    ),
    Strategy(
        "service_unavailable",
        _BUILD,
        "config",
        hint="The app connects to a service at start (database, cache): pass its URL with --env and resume.",
    ),
    # -- the user's: no program change helps
    Strategy(
        "package_not_found",
        _BUILD,
        "user",
        hint="A dependency does not exist on the package index (name or version): fix the manifest.",
    ),
    Strategy(
        "dependency_resolution",
        _BUILD,
        "user",
        hint="The dependencies conflict: relax the pins named in the evidence, or update the lockfile.",
    ),
    Strategy(
        "app_error",
        _BUILD | _DEPLOY,
        "user",
        hint="The app's own code fails at start (see the traceback in the evidence): fix it and run again.",
    ),
    Strategy(
        "port_in_use",
        _BUILD | _DEPLOY,
        "user",
        hint="The app's port is taken on this machine (or on the node, with host networking): stop what listens "
        "there, or pass --no-verify.",
    ),
    Strategy(
        "port_mismatch", _BUILD, "user", hint="The app listens on a port nobody told containerkit: make it read $PORT."
    ),
    Strategy(
        "no_answer",
        _BUILD,
        "user",
        hint="The container stays up but answers no HTTP on $PORT or its port: check the port and the "
        "health path, or raise --verify-timeout.",
    ),
    Strategy("disk_full", _ANY, "user", hint="Free disk space (`docker system prune`), then resume."),
    Strategy("out_of_memory", _ANY, "user", hint="The build or the app ran out of memory: give the engine more."),
    Strategy(
        "policy_violation",
        _BUILD,
        "user",
        hint="See the scan report; fix the findings, or lower the gate with --fail-on (none turns it off).",
    ),
    # -- a rollout on the cluster (the deploy agent rolls a failed new version back before these apply)
    # the probes' health path never answered while the app ran: the deploy agent probes the port instead
    Strategy("probe_failing", _DEPLOY, "fix", "deploy", limit=1),
    Strategy(
        "cluster_unreachable",
        _DEPLOY,
        "user",
        hint="Point KUBECONFIG (or --context) at a cluster you can reach, then `containerkit deploy ID`; for a local "
        "test cluster run `scripts/test-infra.sh up --k8s`.",
    ),
    Strategy(
        "image_pull",
        _DEPLOY,
        "user",
        hint="The node cannot pull the image: check its name and tag, the imagePullPolicy, and the registry's "
        "credentials (an imagePullSecret); with --k8s-overlay local the image must be in a registry on 127.0.0.1 "
        "or on the node's engine.",
    ),
    Strategy(
        "crash_loop",
        _DEPLOY,
        "user",
        hint="The container exits at start in the cluster (the cause verify's rules read in its log is in the "
        "evidence): compare the pod's environment (ConfigMap/Secret, read-only root filesystem, non-root user) "
        "with the one verify used.",
    ),
    Strategy(
        "unschedulable",
        _DEPLOY,
        "user",
        hint="No node can take the pod: lower the resource requests in the manifests or add capacity.",
    ),
    Strategy(
        "quota_exceeded",
        _DEPLOY,
        "user",
        hint="The namespace's ResourceQuota refuses the pod: raise the quota or lower the requests and limits.",
    ),
    Strategy(
        "admission_denied",
        _DEPLOY,
        "user",
        hint="The namespace's admission policy (Pod Security, a webhook) refused the pod: the base manifests meet "
        "PSS restricted; the local overlay needs host networking, which only a privileged namespace allows.",
    ),
    Strategy(
        "rollout_timeout",
        _DEPLOY,
        "user",
        hint="The rollout did not finish in time: see the pod statuses in the evidence, or raise --deploy-timeout.",
    ),
)
