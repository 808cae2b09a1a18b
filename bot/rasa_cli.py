"""Rasa's command line with Majlis' fix to Rasa 3.6 (bot/rasa_fixes.py) installed.

``./majlis start`` runs ``python -m bot.rasa_cli run ...`` where one would run
``rasa run ...``; every argument is Rasa's own.
"""
from __future__ import annotations


def main() -> None:
    from bot.rasa_fixes import apply

    apply()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
