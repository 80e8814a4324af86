import time

from melee_envs import compile_notice as notice


def test_a_slow_first_call_is_announced_once_and_a_fast_one_never(capsys, monkeypatch):
    monkeypatch.setattr(notice, "_announced", set())
    with notice.compile_notice("the test kernel", after_s=0.05):
        time.sleep(0.3)  # still "compiling" when the timer fires
    assert "compiling the test kernel for this machine" in capsys.readouterr().err
    with notice.compile_notice("the test kernel", after_s=0.05):
        time.sleep(0.3)  # a later call: no timer at all
    with notice.compile_notice("a cached kernel", after_s=0.5):
        pass  # loaded from the cache well before the timer
    time.sleep(0.6)
    assert capsys.readouterr().err == ""
