"""Each migration line has exactly one head: the foundation trunk and one branch per domain.
Two revisions of one line with the same parent would apply in an undefined order."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory

from qorgau.core.config import PACKAGE_DIR


def test_one_head_per_line() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    script = ScriptDirectory.from_config(cfg)
    labels = {label for rev in script.walk_revisions() for label in rev.branch_labels}
    heads = script.get_heads()
    assert len(heads) == 1 + len(labels), heads
    trunk = [h for h in heads if not script.get_revision(h).branch_labels
             and not any(r.branch_labels for r in script.iterate_revisions(h, "base"))]
    assert len(trunk) == 1, heads
