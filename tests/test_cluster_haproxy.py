"""The HAProxy configuration ``./majlis start --instances N`` writes (scripts/cluster.py), checked by HAProxy itself.

The web chat's page and socket.io path go to a sticky backend (a socket.io session is
several HTTP requests that must reach one server: tests/e2e/test_cluster_webchat.py shows
a page behind it); everything else is balanced in turn.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cluster import Child, haproxy_config, webchat_paths  # scripts/ (tests/conftest.py puts it on the path)
from tests.conftest import ROOT


def servers(prefix: str, count: int, first_port: int) -> list:
    return [Child(f"{prefix}-{i}", [], {}, first_port + i, "/ready", Path("/dev/null")) for i in range(count)]


def backend(config: str, name: str) -> str:
    return re.search(rf"^backend {name}\n((?:    .*\n)+)", config, re.M).group(1)


def test_web_chat_paths_are_sticky_and_the_rest_is_balanced_in_turn(tmp_path) -> None:
    paths = webchat_paths(ROOT / "credentials.yml")
    assert paths == ["/webhooks/webchat", "/webchat/socket.io"]
    config = haproxy_config(5005, "127.0.0.1", servers("rasa", 2, 7000), servers("receiver", 1, 7100), 7200, paths)
    assert "    acl webchat path_beg /webhooks/webchat /webchat/socket.io\n    use_backend rasa_sticky if webchat" in config
    sticky = backend(config, "rasa_sticky")
    assert "balance source" in sticky and "hash-type consistent" in sticky
    assert "cookie MAJLIS_SERVER insert indirect nocache httponly" in sticky
    assert "server rasa-0 127.0.0.1:7000 check cookie rasa-0" in sticky
    assert "server rasa-1 127.0.0.1:7001 check cookie rasa-1" in sticky
    assert "balance roundrobin" in backend(config, "rasa") and "cookie" not in backend(config, "rasa")
    if shutil.which("haproxy"):  # ./majlis test installs it (the cluster tests need it)
        (tmp_path / "haproxy.cfg").write_text(config, encoding="utf-8")
        check = subprocess.run(["haproxy", "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_without_the_web_chat_there_is_no_sticky_backend(tmp_path) -> None:
    credentials = tmp_path / "credentials.yml"
    credentials.write_text("channels.rest.channel.RestInput:\n  token: x\n", encoding="utf-8")
    assert webchat_paths(credentials) == []
    config = haproxy_config(5005, "127.0.0.1", servers("rasa", 2, 7000), [], 7200, webchat_paths(credentials))
    assert "rasa_sticky" not in config and "cookie" not in config


@pytest.mark.parametrize("path", ["/chat/io", "chat/io/"])
def test_a_configured_socket_path_is_the_one_made_sticky(tmp_path, path) -> None:
    credentials = tmp_path / "credentials.yml"
    credentials.write_text(f"channels.webchat.channel.WebChatInput:\n  socketio_path: {path}\n", encoding="utf-8")
    assert webchat_paths(credentials) == ["/webhooks/webchat", "/chat/io"]
