import os

from suite.measure import calibration


def test_each_cpu_is_timed_on_itself_and_the_affinity_is_restored():
    before = os.sched_getaffinity(0)
    cpus = sorted(before)
    timed = calibration.calibrate(cpus)
    assert list(timed) == [str(cpu) for cpu in cpus]
    assert all(us > 0 for us in timed.values())
    assert os.sched_getaffinity(0) == before


def test_steal_is_read_per_cpu_and_differenced_in_seconds(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  10 0 5 100 1 0 0 7 0 0\n"
                    "cpu0 5 0 2 50 1 0 0 3 0 0\n"
                    "cpu1 5 0 3 50 0 0 0 4 0 0\n"
                    "intr 12345\n")
    before = calibration.steal_ticks(stat)
    assert before == {"0": 3, "1": 4}
    tick = os.sysconf("SC_CLK_TCK")
    after = {"0": 3 + tick // 2, "1": 4}
    assert calibration.stolen_s(before, after) == {"0": round((tick // 2) / tick, 2), "1": 0.0}
    assert set(calibration.steal_ticks()) == {str(cpu) for cpu in range(os.cpu_count())}
