"""A second Majlis instance for tests/bot/workbench/test_follow.py: a real Rasa agent that follows activations.

Run as ``python -m tests.bot.workbench.follower_instance <database url> <models dir> <model>``.
It loads ``<model>``, follows the activations in the shared database
(:class:`bot.workbench.follow.ActivationFollower`) and prints, on every change of the
model it serves, ``active <model> <intent of "my bill">`` parsed by the model now in service.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path


async def main(url: str, models: str, model: str) -> None:
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage

    from bot.handoff.config import ROOT
    from bot.storage import create_engine
    from bot.workbench.follow import ActivationFollower
    from bot.workbench.models import ModelManager

    agent = Agent.load(str(Path(models) / model))
    manager = ModelManager(root=ROOT, models=Path(models), agent=lambda: agent, cases=lambda: {},
                           record=lambda *_: None)
    follower = ActivationFollower(manager, create_engine(url), poll_s=0.2)
    await follower.start()
    shown = None
    while True:
        name = manager.active_name()
        if name != shown:
            parsed = await agent.processor.parse_message(UserMessage("my bill"))
            print("active", name, parsed["intent"]["name"], flush=True)
            shown = name
        await asyncio.sleep(0.1)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
