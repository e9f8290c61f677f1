from __future__ import annotations

import json

from containerkit.state import Attempt, ErrorRecord, Session, StageRecord, now
from containerkit.tools.analyze.models import ModuleAnalysis, RepoAnalysis


def test_session_round_trips_through_json() -> None:
    t = now()
    s = Session(
        session_id="abc",
        repo_path="/r",
        analysis=RepoAnalysis(root="/r", modules=[ModuleAnalysis(path=".", name="r", language="node", port=3000)]),
        history=[StageRecord(stage="analyze", start=t, end=t, duration_s=0.1, ok=True)],
        errors=[ErrorRecord(stage="infra", code="CK301", message="down", hint="start it")],
        recovery=[Attempt(number=1, failed_stage="buildsec", code="CK202", action="fix_dockerfile")],
        attempts={"fix_dockerfile:buildsec": 1},
    )
    again = Session.model_validate_json(s.model_dump_json())
    assert again == s
    summary = again.summary()
    json.dumps(summary)
    assert summary["status"] == "running"
    assert summary["errors"][0]["code"] == "CK301"
