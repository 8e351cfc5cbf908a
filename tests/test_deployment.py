"""Deployment settings: behind a reverse proxy the client address comes from X-Forwarded-For."""

from __future__ import annotations

import pytest

from gazetteer.core.settings import SettingsError, load_settings


def _statuses(store, tmp_path, proxy_hops):
    from webmap import create_app

    app = create_app(
        {
            "DATA_DIR": str(tmp_path),
            "SECRET_KEY": "k",
            "RATE_LIMIT_PER_MINUTE": 2,
            "PROXY_HOPS": proxy_hops,
        },
        store=store,
    )
    client = app.test_client()
    # Three public requests from each of two clients, all through one proxy at 127.0.0.1.
    return [
        client.get("/api/health", headers={"X-Forwarded-For": client_ip}).status_code
        for client_ip in ("203.0.113.1", "203.0.113.1", "203.0.113.1", "198.51.100.7")
    ]


def test_without_proxy_hops_every_client_shares_the_proxy_address(store, tmp_path):
    assert _statuses(store, tmp_path, 0) == [200, 200, 429, 429]


def test_with_one_proxy_hop_each_client_has_its_own_limit(store, tmp_path):
    assert _statuses(store, tmp_path, 1) == [200, 200, 429, 200]


def test_proxy_hops_is_validated():
    with pytest.raises(SettingsError, match="PROXY_HOPS"):
        load_settings({"PROXY_HOPS": "-1"})
