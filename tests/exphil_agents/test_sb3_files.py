"""SB3 .zip models are read without unpickling: a crafted archive cannot run code by default."""

import base64
import json
import os
import pickle
import subprocess
import sys
import zipfile
from dataclasses import asdict

import pytest
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO

from exphil_agents.policies import BackbonePolicy, RecurrentBackbonePolicy
from exphil_agents.sb3_files import UnsafeModelError, load_sb3, pickled_fields, read_data
from melee_envs.envs.vector import sb3_vec_env
from melee_envs.obs import ObsConfig


class _Payload:
    """Unpickling this runs a shell command (what a crafted model file would do)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zips")
    env = sb3_vec_env(2, opponent="idle", obs=ObsConfig.learned())
    obs = {"obs_config": asdict(ObsConfig.learned())}
    PPO(BackbonePolicy, env, n_steps=8, batch_size=8, policy_kwargs={"backbone": "mlp", **obs}, device="cpu").save(
        folder / "ppo.zip"
    )
    RecurrentPPO(RecurrentBackbonePolicy, env, n_steps=8, batch_size=8, policy_kwargs=obs, device="cpu").save(
        folder / "rppo.zip"
    )
    return folder


def _with_payload(source, target, field, marker):
    """A copy of ``source`` whose ``data`` field ``field`` holds a pickle that touches ``marker``
    (an existing field keeps its plain text, so it still reads as what it was)."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(members["data"])
    payload = base64.b64encode(pickle.dumps(_Payload(marker))).decode()
    data[field] = {**data.get(field, {":type:": "<class 'object'>"}), ":serialized:": payload}
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return target


def test_our_archives_load_without_unpickling_anything(archives, monkeypatch):
    from stable_baselines3.common import save_util

    def refuse(*_):
        raise AssertionError("unpickled")

    monkeypatch.setattr(save_util.cloudpickle, "loads", refuse)
    for name, algorithm, policy in (("ppo", PPO, BackbonePolicy), ("rppo", RecurrentPPO, RecurrentBackbonePolicy)):
        data = read_data(archives / f"{name}.zip")
        assert {"policy_class", "observation_space", "action_space"} <= set(pickled_fields(data))
        model = load_sb3(algorithm, archives / f"{name}.zip", device="cpu")
        assert type(model.policy) is policy and model.observation_space.shape == (121,)
        print(f"{name}.zip: {len(pickled_fields(data))} pickled fields rebuilt, none unpickled")


def test_a_crafted_archive_is_refused_and_runs_nothing(archives, tmp_path):
    marker = tmp_path / "ran"
    evil = _with_payload(archives / "ppo.zip", tmp_path / "evil.zip", "surprise", marker)
    refused = r"evil.zip: holds pickled Python objects .*\(surprise\).*--allow-pickle"
    with pytest.raises(UnsafeModelError, match=refused):
        load_sb3(PPO, evil, device="cpu")
    assert not marker.exists()
    # a known field carrying a payload is rebuilt, never unpickled
    swapped = _with_payload(archives / "ppo.zip", tmp_path / "swapped.zip", "policy_class", marker)
    load_sb3(PPO, swapped, device="cpu")
    assert not marker.exists()
    load_sb3(PPO, evil, device="cpu", allow_pickle=True)  # the explicit opt-in unpickles, as SB3 does
    assert marker.exists()


def test_tournament_and_play_refuse_a_crafted_archive(archives, tmp_path):
    from exphil_agents.actors import ActorError, load_actor

    marker = tmp_path / "ran"
    evil = _with_payload(archives / "ppo.zip", tmp_path / "evil.zip", "surprise", marker)
    args = ["tournament", "idle", "random", str(evil), "--games", "2", "--out", str(tmp_path / "t")]
    cli = [sys.executable, "-m", "exphil", *args]
    proc = subprocess.run(cli, capture_output=True, text=True, check=False)
    output = proc.stdout + proc.stderr
    assert "pickled Python objects" in output and "--allow-pickle" in output, output[-2000:]
    with pytest.raises(ActorError, match="--allow-pickle"):  # exphil play's loader (Dolphin not needed)
        load_actor(evil)
    assert not marker.exists()
    actor = load_actor(archives / "ppo.zip")  # an honest archive plays
    assert actor.obs_config == ObsConfig.learned() and actor.encoder.size == 121
