"""The five agents. Each is a node function ``(state, runtime) -> partial update`` composing tools."""

from containerkit.agents._deps import Deps
from containerkit.agents.analyze import analyze
from containerkit.agents.buildsec import buildsec
from containerkit.agents.deploy import deploy
from containerkit.agents.infra import infra
from containerkit.agents.orch import RecoveryRule, Strategy, decide_next, make_orch

__all__ = [
    "Deps",
    "RecoveryRule",
    "Strategy",
    "analyze",
    "buildsec",
    "decide_next",
    "deploy",
    "infra",
    "make_orch",
]
