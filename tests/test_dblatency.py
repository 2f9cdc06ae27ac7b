"""Which fail point adds the database latency, and what is sent to MongoDB, without a mongod
(the real one: tests/integration/test_db_latency.py)."""

import pytest
from pymongo.errors import OperationFailure

from suite.measure import dblatency
from suite.measure.dblatency import BLOCK, SLEEP, FailPoint
from suite.measure.mongo import MongoError


class FakeAdmin:
    """An admin database that knows some fail points, or has no test commands at all."""

    def __init__(self, known=(SLEEP, BLOCK), test_commands=True):
        self.known = set(known)
        self.test_commands = test_commands
        self.sent: list[dict] = []

    def command(self, command):
        self.sent.append(command)
        name = command.get("configureFailPoint")
        if not self.test_commands:
            message = "no such command: 'configureFailPoint'"
            raise OperationFailure(message, 59, {"ok": 0, "errmsg": message, "code": 59})
        if name not in self.known:
            message = f"{name} not found"
            raise OperationFailure(message, 266, {"ok": 0, "errmsg": message, "code": 266})
        return {"ok": 1, "count": 0}


class FakeClient:
    def __init__(self, admin):
        self.admin = admin

    def close(self):
        pass


def fail_point(admin, commands=("find",)):
    point = FailPoint("mongodb://127.0.0.1:9", "battle", commands=commands)
    point.client.close()
    point.client = FakeClient(admin)
    return point


def switched_on(admin):
    return [c for c in admin.sent if c["mode"] != "off"]


def test_the_latency_comes_from_the_fail_point_that_does_not_log():
    # failCommand logs three INFO lines for every find it blocks (COMMAND 4898500, 20432,
    # 20433), which no log setting silences: gigabytes of mongod.log and mongod CPU in a run.
    admin = FakeAdmin()
    point = fail_point(admin, commands=("find", "insert"))
    point._configure(5)
    assert point.name == SLEEP == "sleepMillisAfterCommandExecutionBegins"
    [command] = switched_on(admin)
    assert command == {"configureFailPoint": SLEEP, "mode": "alwaysOn",
                       "data": {"millis": 5, "commands": {"find": 1, "insert": 1}}}
    assert not any(c["configureFailPoint"] == BLOCK and c["mode"] != "off" for c in admin.sent)
    described = point.describe("enabled by the suite")
    assert described["name"] == SLEEP and described["commands"] == ["find", "insert"]
    assert described["data"] == {"millis": "per cell", "commands": {"find": 1, "insert": 1}}


def test_a_fail_point_left_on_by_an_earlier_run_is_turned_off_first():
    admin = FakeAdmin()
    fail_point(admin)._configure(0)
    assert [(c["configureFailPoint"], c["mode"]) for c in admin.sent[:2]] == \
        [(SLEEP, "off"), (BLOCK, "off")]


def test_a_server_without_the_silent_fail_point_gets_failcommand():
    admin = FakeAdmin(known=(BLOCK,))
    point = fail_point(admin)
    point._configure(5)
    assert point.name == BLOCK
    assert switched_on(admin)[-1]["data"] == {"failCommands": ["find"],
                                              "blockConnection": True, "blockTimeMS": 5}
    assert point.describe("x")["data"]["blockTimeMS"] == "per cell"


@pytest.mark.parametrize("admin", [FakeAdmin(test_commands=False), FakeAdmin(known=())],
                         ids=["no test commands", "no such fail point"])
def test_a_server_that_refuses_is_one_line_naming_the_setting(admin):
    point = fail_point(admin)
    with pytest.raises(MongoError) as raised:
        point.set(0)
    message = str(raised.value)
    assert "refuses the fail point that adds database latency" in message
    assert "enableTestCommands=1" in message and "\n" not in message
    point.close()   # nothing was set: nothing more is sent, and it does not raise
    assert len(admin.sent) == (1 if not admin.test_commands else len(dblatency.NAMES))
