"""The thread choice every training command makes and prints (``melee_envs.threads.training_threads``)."""

import pytest

torch = pytest.importorskip("torch")

from melee_envs import threads  # noqa: E402


@pytest.fixture(autouse=True)
def _restore(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.delenv(threads.TORCH_THREADS_ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    yield
    torch.set_num_threads(before)


def test_rl_loops_run_torch_on_one_thread_and_bc_on_half_the_cores(monkeypatch):
    torch.set_num_threads(2)
    line = threads.training_threads("rl")
    assert torch.get_num_threads() == 1 and line.startswith("threads: torch 1 (")
    assert "Numba" in line and "env steps on" in line
    for cores, expected in ((1, 1), (2, 1), (8, 4)):
        monkeypatch.setattr(threads, "available_cores", lambda cores=cores: cores)
        threads.training_threads("bc")
        assert torch.get_num_threads() == expected, cores
        assert "the games are played elsewhere" in threads.training_threads("learner")  # a league driver on Ray
        assert torch.get_num_threads() == expected, cores


def test_the_user_chooses_with_an_environment_variable(monkeypatch):
    monkeypatch.setenv(threads.TORCH_THREADS_ENV, "2")
    assert "torch 2 ($EXPHIL_TORCH_THREADS" in threads.training_threads("rl") and torch.get_num_threads() == 2
    monkeypatch.setenv(threads.TORCH_THREADS_ENV, "two")
    with pytest.raises(ValueError, match="EXPHIL_TORCH_THREADS must be a positive integer; got 'two'"):
        threads.training_threads("rl")
    monkeypatch.delenv(threads.TORCH_THREADS_ENV)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    torch.set_num_threads(2)
    assert "$OMP_NUM_THREADS" in threads.training_threads("rl") and torch.get_num_threads() == 2
    with pytest.raises(ValueError, match="kind must be 'rl', 'bc' or 'learner'"):
        threads.training_threads("dqn")
