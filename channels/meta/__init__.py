"""Meta pieces shared by the WhatsApp Cloud and Instagram connectors.

:mod:`channels.meta.graph`: the ``X-Hub-Signature-256`` check, the ``hub.challenge``
handshake and the Graph API client (one attempt per call, errors classified).
"""
