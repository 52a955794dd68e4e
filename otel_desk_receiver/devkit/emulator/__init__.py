"""Desk API emulator: a faithful loopback stand-in for Sendbird Desk's bot webhook log API (the
Platform API's /bots and /bots/{id}/webhook_logs), with generated traffic, a virtual clock and planned
faults. `otel-desk-receiver emulator --help` lists its options; the README shows it in use.

    from otel_desk_receiver.devkit.emulator import DeskEmulator, EmulatorConfig
    with DeskEmulator(EmulatorConfig(frozen_at=...)) as emu:
        bot = emu.add_bot("alpha")
        emu.add_entry(bot["id"], status="SENT")
        requests.get(emu.url + "/bots", headers={"SENDBIRDDESKAPITOKEN": emu.config.token})
"""

from otel_desk_receiver.devkit.emulator.clock import VirtualClock
from otel_desk_receiver.devkit.emulator.config import BotProfile, EmulatorConfig
from otel_desk_receiver.devkit.emulator.faults import Faults
from otel_desk_receiver.devkit.emulator.service import DeskEmulator, RequestRecord

__all__ = ["BotProfile", "DeskEmulator", "EmulatorConfig", "Faults", "RequestRecord", "VirtualClock"]
