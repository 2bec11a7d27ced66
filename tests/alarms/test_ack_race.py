"""An acknowledgement that commits while an ingest batch clears the same alarm: the batch
read the occurrence unacknowledged, the operator's action committed, then the batch wrote its
clear. On PostgreSQL the clear went from the state it had read (`rtn_unack` over
`acknowledged`) and the alarm asked for a second acknowledgement; now the batch finds the row
changed under it (`records.still_as_read`), rolls back and is handled again from the new
state: acknowledged, then cleared, is normal and closed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from qorgau.alarms import records, service
from qorgau.alarms.ingest.unprocessable import handle_alone
from qorgau.alarms.models import AlarmEvent, AlarmRecord
from qorgau.alarms.schemas import AckIn
from qorgau.core.db import get_sessionmaker


# SQLite cannot race: the batch holds the database's write lock from its first write
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_ack_committed_under_a_clearing_batch_is_not_written_over(db, as_, mine, proc,
                                                                     monkeypatch) -> None:
    proc.handle_raw(db, mine.batch([("CH4-1", 2.0, -2)]), source="test")
    db.commit()
    rec = db.scalars(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                               AlarmRecord.kind == "HIHI")).one()
    assert (rec.state, rec.active) == ("unacknowledged", True)
    real, acked = records.OpenOccurrences.find, []

    def read_then_acked(self, device_id, kind):
        got = real(self, device_id, kind)
        if got is not None and got.id == rec.id and not acked:  # after the batch's read
            with get_sessionmaker()() as other:
                service.acknowledge(db=other, actor=as_("osh_krg"), alarm_id=rec.id,
                                    data=AckIn(note="on my way"))
            acked.append(1)
        return got

    monkeypatch.setattr(records.OpenOccurrences, "find", read_then_acked)
    db.close()
    assert handle_alone(proc, mine.batch([("CH4-1", 0.1, -1)]), source="test",
                        site_id=mine.site_id)
    assert acked
    db.expire_all()
    got = db.get(AlarmRecord, rec.id)
    assert (got.state, got.active, got.open) == ("normal", False, False)
    trail = db.scalars(select(AlarmEvent).where(AlarmEvent.alarm_id == rec.id)
                       .order_by(AlarmEvent.id)).all()
    assert [(e.frm, e.to) for e in trail][-2:] == [
        ("unacknowledged", "acknowledged"), ("acknowledged", "normal")]
