"""Majlis custom actions for the Rasa action server, one module per business area.

billing (bills, disputes), orders, network (outages), bundles, stores, roaming,
compensation (complaints and compensation), handoff, language; shared form
plumbing in ``forms``, input parsing in ``parsing``, reply values in ``formatting``,
and the backend interface in ``api``.
"""
