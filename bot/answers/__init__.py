"""Answers that do not go stale (issue 15): every bot answer has an owner and a review date.

- :mod:`.book` reads ``data/answers.yml`` (owner, review date per domain response), checks it
  against the domain, and says which answers are due or overdue;
- :mod:`.edit` writes a confirmation or an edited wording back (``data/answers.yml`` and the
  response lines of ``domain.yml``) with every other byte kept;
- :mod:`.serving` decides, per turn, whether an overdue answer is served or withheld
  (``MAJLIS_OVERDUE_ANSWERS``); :class:`bot.nlg.BilingualNLG` asks it.
"""
