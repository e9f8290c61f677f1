"""Sessions at scale: labels, filters, delete, prune (TTL), export bundles, statistics, one run per repo."""

from __future__ import annotations

import json
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from typer.testing import CliRunner

from containerkit.cli import app
from containerkit.errors import InvalidOption, RepoBusy, SessionNotFound
from containerkit.graph.admin import (
    delete_sessions,
    export_session,
    prune_sessions,
    redact_build_values,
    session_stats,
)
from containerkit.graph.locks import holder, repo_lock, running_sessions
from containerkit.graph.sessions import SessionFilter, SessionStore
from containerkit.settings import Settings, parse_duration
from containerkit.state import (
    Attempt,
    BuildInfo,
    DockerfileInfo,
    ErrorRecord,
    ManifestInfo,
    RunOptions,
    Session,
    StageRecord,
)

NOW = datetime.now(UTC)
FAKE_AWS_KEY = "AKIAZ7QWERTYUIOPASDF"
FAKE_AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8Rk9pLmN"


def _stage(stage: str, seconds: float, ok: bool = True) -> StageRecord:
    return StageRecord(stage=stage, start=NOW, end=NOW, duration_s=seconds, ok=ok)


def _put(store: SessionStore, session: Session, n: int) -> None:
    checkpoint: Any = {
        "v": 1,
        "id": f"1ef00000-0000-6000-8000-{n:012d}",
        "ts": session.updated.isoformat(),
        "channel_values": session.model_dump(),
        "channel_versions": {},
        "versions_seen": {},
    }
    config: Any = {"configurable": {"thread_id": session.session_id, "checkpoint_ns": ""}}
    store.saver.put(config, checkpoint, {"source": "input", "step": -1, "parents": {}}, {})


def _session(sid: str, *, status: str = "succeeded", age_days: float = 0, **kw: Any) -> Session:
    at = NOW - timedelta(days=age_days)
    return Session(
        session_id=sid,
        repo_path=f"/repos/{sid}",
        options=RunOptions(),
        status=status,  # type: ignore[arg-type]
        created=at,
        updated=at,
        **kw,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


def _fill(settings: Settings, *sessions: Session) -> None:
    with SessionStore(settings.sessions_db) as store:
        for n, s in enumerate(sessions, start=1):
            _put(store, s, n)


def _fleet(settings: Settings) -> None:
    _fill(
        settings,
        _session(
            "aaa111",
            labels={"team": "shop"},
            history=[_stage("analyze", 1.0), _stage("buildsec", 30.0), _stage("infra", 4.0)],
        ),
        _session(
            "bbb222",
            status="failed",
            age_days=10,
            labels={"team": "shop", "env": "ci"},
            history=[_stage("analyze", 3.0), _stage("buildsec", 50.0, ok=False)],
            errors=[ErrorRecord(stage="buildsec", code="CK202", message="build failed", hint="h")],
            recovery=[
                Attempt(number=1, failed_stage="buildsec", code="CK202", cause="native_build", action="fix"),
                Attempt(number=2, failed_stage="buildsec", code="CK202", cause="native_build", action="fix"),
            ],
        ),
        _session(
            "ccc333",
            status="failed",
            age_days=40,
            labels={"team": "data"},
            history=[_stage("analyze", 2.0)],
            errors=[ErrorRecord(stage="analyze", code="CK103", message="nothing", hint="h")],
            recovery=[
                Attempt(number=1, failed_stage="infra", code="CK301", cause="registry_unreachable", action="retry")
            ],
        ),
    )


def _ids(settings: Settings, where: SessionFilter) -> set[str]:
    with SessionStore(settings.sessions_db) as store:
        return {i.session_id for i in store.list(where)}


def test_list_filters_by_status_label_and_age(settings: Settings) -> None:
    _fleet(settings)
    assert _ids(settings, SessionFilter()) == {"aaa111", "bbb222", "ccc333"}
    assert _ids(settings, SessionFilter(statuses=frozenset({"failed"}))) == {"bbb222", "ccc333"}
    assert _ids(settings, SessionFilter(labels={"team": "shop"})) == {"aaa111", "bbb222"}
    assert _ids(settings, SessionFilter(labels={"team": "shop", "env": "ci"})) == {"bbb222"}
    assert _ids(settings, SessionFilter(older_than_s=parse_duration("7d"))) == {"bbb222", "ccc333"}
    assert _ids(settings, SessionFilter(newer_than_s=parse_duration("1d"))) == {"aaa111"}
    both = SessionFilter(statuses=frozenset({"failed"}), labels={"team": "data"}, older_than_s=30 * 86400)
    assert _ids(settings, both) == {"ccc333"}


def test_the_cli_lists_with_filters_and_labels_a_run(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    _fleet(settings)
    monkeypatch.setenv("CONTAINERKIT_HOME", str(settings.home))
    res = CliRunner().invoke(app, ["sessions", "list", "--status", "failed", "--label", "team=shop", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [(r["session_id"], r["labels"], r["live"]) for r in rows] == [
        ("bbb222", {"team": "shop", "env": "ci"}, False)
    ]
    bad = CliRunner().invoke(app, ["sessions", "list", "--status", "exploded"])
    assert bad.exit_code == 2 and "CK106" in bad.output
    bad = CliRunner().invoke(app, ["sessions", "list", "--older-than", "soon"])
    assert bad.exit_code == 2 and "not a duration" in bad.output


def test_a_label_must_be_key_equals_value() -> None:
    from containerkit.cli.cmd_workflow import parse_labels

    assert parse_labels(["team=shop", "app.kubernetes.io/part-of=web", "empty="]) == {
        "team": "shop",
        "app.kubernetes.io/part-of": "web",
        "empty": "",
    }
    for bad in ("noequals", "=v", "a b=c", "k=line\nbreak", "k=" + "x" * 300):
        with pytest.raises(InvalidOption):
            parse_labels([bad])


def test_delete_removes_the_checkpoints_and_the_folder_and_a_typo_deletes_nothing(settings: Settings) -> None:
    _fleet(settings)
    folder = settings.session_dir("bbb222")
    folder.mkdir(parents=True)
    (folder / "scan-report.json").write_text("{}")
    with pytest.raises(SessionNotFound):
        delete_sessions(settings, ["bbb222", "zzz"])
    assert _ids(settings, SessionFilter()) == {"aaa111", "bbb222", "ccc333"}
    assert delete_sessions(settings, ["bbb"]) == ["bbb222"]
    assert _ids(settings, SessionFilter()) == {"aaa111", "ccc333"}
    assert not folder.exists()
    with SessionStore(settings.sessions_db) as store:
        rows = store.conn.execute("SELECT COUNT(*) FROM writes WHERE thread_id = 'bbb222'").fetchone()
        assert rows[0] == 0


def test_a_running_session_is_never_deleted_nor_pruned(settings: Settings) -> None:
    _fleet(settings)
    with repo_lock(settings.home, "/repos/ccc333", "ccc333"):
        assert running_sessions(settings.home) == {"ccc333"}
        with pytest.raises(RepoBusy):
            delete_sessions(settings, ["ccc333"])
        result = prune_sessions(settings, older_than_s=86400)
        assert result.deleted == ["bbb222"]
        assert result.kept_running == ["ccc333"]
    assert running_sessions(settings.home) == set()
    assert _ids(settings, SessionFilter()) == {"aaa111", "ccc333"}


def test_prune_uses_the_configured_ttl_and_a_dry_run_deletes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[sessions]\nttl = "2w"\n')
    settings = Settings.load({"CONTAINERKIT_HOME": str(home)})
    assert settings.sessions_ttl_s == 14 * 86400
    _fleet(settings)
    dry = prune_sessions(settings, dry_run=True)
    assert dry.deleted == ["ccc333"] and dry.dry_run
    assert _ids(settings, SessionFilter()) == {"aaa111", "bbb222", "ccc333"}
    assert prune_sessions(settings).deleted == ["ccc333"]
    assert prune_sessions(settings, where=SessionFilter(labels={"env": "ci"}), older_than_s=0).deleted == ["bbb222"]
    assert _ids(settings, SessionFilter()) == {"aaa111"}
    assert Settings.load({"CONTAINERKIT_HOME": str(home), "CONTAINERKIT_SESSIONS_TTL": "12h"}).sessions_ttl_s == 43200
    (home / "config.toml").write_text('[sessions]\nttl = "forever"\n')
    with pytest.raises(InvalidOption, match="not a duration"):
        Settings.load({"CONTAINERKIT_HOME": str(home)})


def test_export_bundles_state_reports_dockerfile_and_manifests_without_secrets(
    settings: Settings, tmp_path: Path
) -> None:
    manifests = tmp_path / "k8s"
    (manifests / "base").mkdir(parents=True)
    (manifests / "base" / "deployment.yaml").write_text("kind: Deployment\n")
    (manifests / "base" / "kustomization.yaml").write_text("resources: [deployment.yaml]\n")
    dockerfile = (
        f"FROM python:3.12-slim\nENV AWS_ACCESS_KEY_ID={FAKE_AWS_KEY}\n"
        "ENV PORT=8080 DB_PASSWORD=hunter2 \\\n    MODE=prod\nARG API_TOKEN='abc 123'\nenv LEGACY_SECRET hunter3\n"
        "ARG NPM_TOKEN\nENV NPM_TOKEN=$NPM_TOKEN\n"
        'CMD ["python", "app.py"]\n'
    )
    session = _session(
        "ddd444",
        dockerfile=DockerfileInfo(content=dockerfile, path="/repos/ddd444/Dockerfile", origin="user"),
        build=BuildInfo(
            image_id="sha256:1",
            tags=["a:1"],
            size_bytes=1,
            duration_s=1,
            log_tail="#6 [3/6] ENV PORT=8080 DB_PASSWORD=hunter2\n#6 DONE 0.0s",
        ),
        manifests=ManifestInfo(
            paths=[str(manifests / "base" / "deployment.yaml")], kinds=["Deployment"], root=str(manifests)
        ),
        history=[_stage("analyze", 1.0)],
    )
    _fill(settings, session)
    folder = settings.session_dir("ddd444")
    folder.mkdir(parents=True)
    (folder / "scan-report.json").write_text(
        json.dumps({"findings": [], "note": f"aws_secret_access_key={FAKE_AWS_SECRET}"})
    )

    (tmp_path / "out").mkdir()
    result = export_session(settings, "ddd", tmp_path / "out")
    assert result.path == str(tmp_path / "out" / "containerkit-session-ddd444.tar.gz")
    assert result.redacted >= 2
    with tarfile.open(result.path) as tar:
        names = set(tar.getnames())
        blob = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())  # type: ignore[union-attr]
        state = json.loads(tar.extractfile("session-ddd444/session.json").read())  # type: ignore[union-attr]
        index = json.loads(tar.extractfile("session-ddd444/MANIFEST.json").read())  # type: ignore[union-attr]
    assert {
        "session-ddd444/session.json",
        "session-ddd444/summary.json",
        "session-ddd444/Dockerfile",
        "session-ddd444/session-folder/scan-report.json",
        "session-ddd444/manifests/base/deployment.yaml",
        "session-ddd444/manifests/base/kustomization.yaml",
        "session-ddd444/MANIFEST.json",
    } <= names
    assert state["session_id"] == "ddd444"
    assert FAKE_AWS_KEY.encode() not in blob
    assert FAKE_AWS_SECRET.encode() not in blob
    assert b"<redacted AKIA" in blob
    for value in (b"hunter2", b"abc 123", b"hunter3"):  # secrets by their variable's name, not their shape
        assert value not in blob
    with tarfile.open(result.path) as tar:
        shipped = tar.extractfile("session-ddd444/Dockerfile").read().decode()  # type: ignore[union-attr]
    assert "ENV PORT=8080 DB_PASSWORD=<redacted>" in shipped and "MODE=prod" in shipped
    assert "ENV NPM_TOKEN=$NPM_TOKEN" in shipped and "ARG NPM_TOKEN\n" in shipped
    assert {f["name"] for f in index["files"]} == {n.split("/", 1)[1] for n in names} - {"MANIFEST.json"}


def test_export_refuses_an_output_that_is_a_file_in_a_missing_folder(settings: Settings, tmp_path: Path) -> None:
    _fill(settings, _session("eee555"))
    from containerkit.errors import ContainerKitError

    (tmp_path / "afile").write_text("x")
    with pytest.raises(ContainerKitError):
        export_session(settings, "eee555", tmp_path / "afile" / "bundle.tar.gz")
    assert not list(tmp_path.glob("**/*.tmp"))


def test_stats_count_statuses_errors_recoveries_and_median_stage_time(settings: Settings) -> None:
    _fleet(settings)
    with SessionStore(settings.sessions_db) as store:
        stats = session_stats(store.sessions())
    assert stats.runs == 3
    assert stats.by_status == {"failed": 2, "succeeded": 1}
    assert stats.top_errors == [("CK202", 1), ("CK103", 1)] or stats.top_errors == [("CK103", 1), ("CK202", 1)]
    assert stats.top_recovery[0] == ("native_build", 2)
    assert stats.recovery_attempts == 3
    assert stats.stage_median_s == {"analyze": 2.0, "buildsec": 40.0, "infra": 4.0}


def test_the_cli_prints_stats_and_exports(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fleet(settings)
    monkeypatch.setenv("CONTAINERKIT_HOME", str(settings.home))
    res = CliRunner().invoke(app, ["sessions", "stats", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["top_recovery"][0] == {"category": "native_build", "count": 2}
    res = CliRunner().invoke(app, ["sessions", "export", "aaa", "-o", str(tmp_path / "b.tar.gz")])
    assert res.exit_code == 0, res.output
    assert tarfile.is_tarfile(tmp_path / "b.tar.gz")
    res = CliRunner().invoke(app, ["sessions", "prune", "--older-than", "5d", "--json"])
    assert sorted(json.loads(res.stdout)["deleted"]) == ["bbb222", "ccc333"]
    res = CliRunner().invoke(app, ["sessions", "delete", "aaa111"])
    assert res.exit_code == 0 and "deleted aaa111" in res.stdout


def test_one_run_per_repository_at_a_time(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with repo_lock(home, str(tmp_path / "repo"), "first"):
        assert holder(home, str(tmp_path / "repo"))["session_id"] == "first"  # type: ignore[index]
        with pytest.raises(RepoBusy, match="session first"), repo_lock(home, str(tmp_path / "repo"), "second"):
            pass
        with repo_lock(home, str(tmp_path / "other"), "third"):  # another repository runs side by side
            assert running_sessions(home) == {"first", "third"}
    assert holder(home, str(tmp_path / "repo")) is None
    with repo_lock(home, str(tmp_path / "repo"), "second"):  # free again once the first ended
        pass


def test_durations_parse_with_units() -> None:
    assert parse_duration("90") == 90
    assert parse_duration("15m") == 900
    assert parse_duration("1.5h") == 5400
    assert parse_duration("30d") == 30 * 86400
    assert parse_duration("2w") == 14 * 86400
    for bad in ("", "-1d", "d", "10y", "1e9w"):
        with pytest.raises(InvalidOption):
            parse_duration(bad)


def test_deleting_a_session_whose_id_is_a_path_removes_no_other_folder(settings: Settings) -> None:
    _fill(settings, _session(".."), _session("x"))
    (settings.home / "sessions" / "x").mkdir(parents=True)
    keep = settings.home / "keep.txt"
    keep.write_text("mine")
    assert delete_sessions(settings, [".."]) == [".."]
    assert keep.read_text() == "mine" and (settings.home / "sessions" / "x").is_dir()
    assert _ids(settings, SessionFilter()) == {"x"}


@hsettings(max_examples=200, deadline=None)
@given(
    key=st.sampled_from(["DB_PASSWORD", "API_TOKEN", "STRIPE_SECRET", "AWS_SECRET_ACCESS_KEY", "github_token"]),
    value=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=30).filter(
        # a prefix of the placeholder ("<", "<red") would be found in "<redacted>" itself
        lambda v: not v.startswith(("$", '"', "'")) and "\\" not in v and not "<redacted>".startswith(v)
    ),
    form=st.sampled_from(
        ["ENV {k}={v}", "ARG {k}={v}", "ENV {k} {v}", "ENV PORT=1 {k}={v} MODE=x", "#5 [2/4] ENV {k}={v}"]
    ),
)
def test_a_value_of_a_variable_named_like_a_secret_never_survives_export(key: str, value: str, form: str) -> None:
    text = "FROM scratch\n" + form.format(k=key, v=value) + '\nCMD ["x"]\n'
    cleaned, n = redact_build_values(text)
    assert n == 1
    assert f"{key}={value}" not in cleaned and f"{key} {value}" not in cleaned
    assert cleaned.startswith("FROM scratch\n") and cleaned.endswith('CMD ["x"]\n')
