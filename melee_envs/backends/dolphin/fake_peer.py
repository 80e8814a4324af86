"""A stand-in for the Slippi Dolphin executable: no emulator, but Dolphin's real boundaries.

For tests and benchmarks of the Dolphin backend where no Dolphin exists (:func:`write_stand_in`
makes an executable that runs this module).

libmelee runs it as it would run Dolphin (``--version``, then ``-e <image> -u <user dir>``). It
then does what Dolphin does at libmelee's two boundaries:

* reads the bot controller pipes (``<user dir>/Pipes/slippibot<N>``) and logs every byte to
  ``<user dir>/pipe<N>.log``;
* serves the Slippi spectator protocol on the port libmelee wrote into ``Dolphin.ini`` (ENet,
  JSON messages: ``connect_reply``, then one ``game_event`` per replay event, base64), streaming
  the events of the real replay named by ``EXPHIL_FAKE_REPLAY``, then a menu event every frame
  (the game is over: a post-game screen) until killed.

``EXPHIL_FAKE_MODE``: ``stream`` (default), ``silent`` (accepts the connection, never sends a
frame), ``drop`` (disconnects after 60 frames), ``exit`` (exits at once with code 3), ``late_exit``
(exits with code 3 after a second, as a slow-starting Dolphin that dies would), ``mute`` (never
answers ``--version``, as a build waiting for a display might), ``odd_version`` (answers as a
program libmelee does not know).
"""

from __future__ import annotations

import base64
import configparser
import json
import os
import sys
import threading
import time
from pathlib import Path


def _events(path: str):
    data = Path(path).read_bytes()
    raw_len = int.from_bytes(data[11:15], "big")
    raw = data[15 : 15 + raw_len]
    sizes = {}
    i = 0
    assert raw[0] == 0x35, "replay does not start with the payload-sizes event"
    payload = raw[1]
    for k in range((payload - 1) // 3):
        cmd = raw[2 + 3 * k]
        sizes[cmd] = int.from_bytes(raw[3 + 3 * k : 5 + 3 * k], "big") + 1
    yield raw[: payload + 1]
    i = payload + 1
    while i < len(raw):
        size = sizes[raw[i]]
        yield raw[i : i + size]
        i += size


def _read_pipe(fifo: Path, log: Path) -> None:
    with open(fifo, "rb") as reader, open(log, "ab") as out:
        while chunk := reader.read1(4096) if hasattr(reader, "read1") else reader.read(1):
            out.write(chunk)
            out.flush()


def _port(user: Path) -> int:
    ini = configparser.ConfigParser()
    ini.read(user / "Config" / "Dolphin.ini")
    for section, key in (("Core", "SlippiSpectatorLocalPort"), ("Slippi", "SpectatorLocalPort")):
        if ini.has_option(section, key):
            return int(ini.get(section, key))
    return 51441


def write_stand_in(directory: str | Path) -> Path:
    """Write an executable named like Slippi Dolphin into ``directory`` that runs this module
    with the current Python; returns its path (use it as ``DolphinConfig.dolphin_path``)."""
    path = Path(directory) / "Slippi_Dolphin"
    path.write_text(f"#!{sys.executable}\nfrom melee_envs.backends.dolphin.fake_peer import main\nmain()\n")
    path.chmod(0o755)
    return path


def main() -> None:
    if "--version" in sys.argv:
        if os.environ.get("EXPHIL_FAKE_MODE") == "mute":  # a build that never answers
            time.sleep(3600)
        if os.environ.get("EXPHIL_FAKE_MODE") == "odd_version":  # not a Dolphin libmelee knows
            print("SomeEmulator 1.0")
            return
        print("Slippi Dolphin 4.0.0-mainline (test stand-in)")
        return
    mode = os.environ.get("EXPHIL_FAKE_MODE", "stream")
    if mode == "exit":
        sys.exit(3)
    if mode == "late_exit":
        time.sleep(1.0)
        sys.exit(3)
    user = Path(sys.argv[sys.argv.index("-u") + 1])
    for fifo in sorted((user / "Pipes").glob("slippibot*")):
        threading.Thread(target=_read_pipe, args=(fifo, user / f"pipe{fifo.name[-1]}.log"), daemon=True).start()

    import enet

    host = enet.Host(enet.Address(b"127.0.0.1", _port(user)), 1, 0, 0)
    peer = None
    while peer is None:  # wait for libmelee's connect + handshake
        event = host.service(100)
        if (
            event.type == enet.EVENT_TYPE_RECEIVE
            and json.loads(bytes(event.packet.data)).get("type") == "connect_request"
        ):
            peer = event.peer
    reply = {"type": "connect_reply", "nick": "fake", "version": "3.18.0", "cursor": 0}
    peer.send(0, enet.Packet(json.dumps(reply).encode(), enet.PACKET_FLAG_RELIABLE))
    if mode != "silent":
        frames = 0
        for cursor, event_bytes in enumerate(_events(os.environ["EXPHIL_FAKE_REPLAY"])):
            message = {"type": "game_event", "cursor": cursor, "next_cursor": cursor + 1}
            message["payload"] = base64.b64encode(event_bytes).decode()
            peer.send(0, enet.Packet(json.dumps(message).encode(), enet.PACKET_FLAG_RELIABLE))
            if event_bytes[0] == 0x3C:  # frame bookend
                frames += 1
                if frames % 50 == 0:
                    host.service(0)
                if mode == "drop" and frames == 60:
                    peer.disconnect_now(0)
                    host.flush()
                    return
        menu = bytearray(0x200)
        menu[0], menu[1], menu[2] = 0x3E, 0x00, 0x04  # a post-game scene: the match is over
        message = json.dumps({"type": "menu_event", "payload": base64.b64encode(bytes(menu)).decode()}).encode()
        while True:  # like Dolphin, a menu event every frame while on the post-game screen
            peer.send(0, enet.Packet(message, enet.PACKET_FLAG_RELIABLE))
            host.service(16)
    while True:
        host.service(100)
        time.sleep(0.01)


if __name__ == "__main__":
    main()
