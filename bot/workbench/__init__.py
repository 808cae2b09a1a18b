"""The trainer's workbench: real customer messages in, better understanding out (issue 15).

- :mod:`.collect` indexes customer messages from the tracker store's ``events`` table,
  incrementally, with the reasons they deserve a look and a similarity group;
- :mod:`.inbox` answers the inbox (groups with counts, filters, the conversation around);
- :mod:`.nlu_files` writes labelled examples into ``data/nlu`` (comments kept);
- :mod:`.coverage` counts examples per intent and language/form;
- :mod:`.models` trains a candidate in the background, compares it, activates it in-process;
- :mod:`.routes` puts all of it on the agent desk (same sign-in, roles, CSRF, CSP).
"""
