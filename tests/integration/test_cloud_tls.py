"""The cloud link over wss:// with a real dev cloud serving TLS on 127.0.0.1: verified
with the CA file, or refused on a wrong fingerprint or an untrusted certificate (the
link stays down, status and the log say why, once; QR keys still open the door)."""

from __future__ import annotations

import logging

import pytest

from panel.config import Config, ConfigError, from_dict
from panel.sim.cloud import DevCloud
from panel.sim.issuer import DevIssuer
from tests.qr import key_opens_the_door
from tests.support import make_config, start_panel, until


@pytest.fixture
async def tls_cloud(tmp_path):
    cloud = DevCloud(Config().property_file, panel_token="panel-token-for-tests", tls_dir=tmp_path / "tls",
                     issuer=DevIssuer(None))
    await cloud.start()
    try:
        yield cloud
    finally:
        await cloud.stop()


def config_for(tmp_path, cloud: DevCloud, **cloud_keys) -> Config:
    return make_config(tmp_path, cloud={"url": cloud.panel_url, "token": cloud.panel_token, **cloud_keys},
                       access={"trusted_keys": cloud.issuer.trusted_keys()}, door={"pulse_seconds": 0.3})


async def test_wss_verified_with_the_ca_file_links_up_and_syncs(tmp_path, tls_cloud):
    assert tls_cloud.panel_url.startswith("wss://127.0.0.1:")
    panel = await start_panel(config_for(tmp_path, tls_cloud, ca_file=str(tls_cloud.ca_file)))
    try:
        await until(lambda: panel.app.state.cloud_online, what="cloud link up over TLS")
        assert (await panel.get_json("/status"))["cloud"] == {"link": "up"}
        await until(lambda: panel.app.gate.directory.get("r01") is not None, what="directory synced over TLS")
        assert tls_cloud.tls_hellos >= 1
    finally:
        await panel.client.close()
        await panel.stop()


async def test_pinned_fingerprint_links_up(tmp_path, tls_cloud):
    pin = ":".join(tls_cloud.fingerprint[i:i + 2] for i in range(0, 64, 2)).upper()     # as openssl prints it
    panel = await start_panel(config_for(tmp_path, tls_cloud, fingerprint=pin))
    try:
        await until(lambda: panel.app.state.cloud_online, what="cloud link up on the pinned certificate")
    finally:
        await panel.client.close()
        await panel.stop()


@pytest.mark.parametrize("keys,words", [
    ({"fingerprint": "ab" * 32}, "does not match [cloud] fingerprint"),
    ({}, "certificate not trusted (self-signed certificate); check [cloud] ca_file"),     # the system's CAs
])
async def test_a_certificate_that_does_not_verify_keeps_the_link_down(tmp_path, tls_cloud, caplog, keys, words):
    caplog.set_level(logging.INFO)
    panel = await start_panel(config_for(tmp_path, tls_cloud, **keys))
    try:
        panel.app.signaling.max_backoff = 0.05        # retry quickly, to see the log say it only once
        await until(lambda: tls_cloud.tls_hellos >= 4, what="the panel retrying")
        status = (await panel.get_json("/status"))["cloud"]
        assert status["link"] == "down" and status["problem"].startswith("certificate ")
        assert words in status["problem"]
        said = [r for r in caplog.records if words in r.getMessage()]
        assert len(said) == 1 and said[0].levelno == logging.WARNING
        assert not panel.app.state.cloud_online and tls_cloud.panel is None
        await key_opens_the_door(panel, tls_cloud.issuer)         # offline, keys still open
        assert "Traceback" not in caplog.text
    finally:
        await panel.client.close()
        await panel.stop()


@pytest.mark.parametrize("cloud,words", [
    ({"url": "ws://192.0.2.7:8443/ws/panel"}, "'cloud.url' = 'ws://192.0.2.7:8443/ws/panel' is unencrypted"),
    ({"url": "ws://cloud.example/ws/panel"}, "set 'cloud.allow_insecure' = true"),
    ({"url": "https://cloud.example/ws"}, "'cloud.url' = 'https://cloud.example/ws': expected wss://"),
    ({"url": "wss://cloud.example/ws", "fingerprint": "12:34"}, "'cloud.fingerprint' must be"),
    ({"url": "wss://cloud.example/ws", "ca_file": "/nonexistent/ca.pem"}, "'cloud.ca_file' = '/nonexistent/ca.pem'"),
])
def test_insecure_or_broken_cloud_settings_are_one_line_config_errors(cloud, words):
    data = {"door": {"backend": "gpio"}, "gpio": {"pin_factory": "mock"}, "camera": {"source": "synthetic"},
            "audio": {"microphone": "tone", "speaker": "sink"}, "cloud": cloud}
    with pytest.raises(ConfigError) as e:
        from_dict(data)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_plain_ws_is_fine_to_loopback_or_when_explicitly_allowed():
    base = {"door": {"backend": "gpio"}, "gpio": {"pin_factory": "mock"}, "camera": {"source": "synthetic"},
            "audio": {"microphone": "tone", "speaker": "sink"}}
    for cloud in ({"url": "ws://127.0.0.1:9/ws/panel"}, {"url": "ws://[::1]:9/ws/panel"},
                  {"url": "ws://localhost:9/ws/panel"},
                  {"url": "ws://10.1.2.3:9/ws/panel", "allow_insecure": True}):
        assert from_dict({**base, "cloud": cloud}).cloud.url == cloud["url"]
