"""HTTPS for the local API: a self-signed certificate kept in the state dir, its
fingerprint printed at start-up and pinned by PanelClient; on by default beyond loopback."""

from __future__ import annotations

import hashlib
import ssl

import aiohttp
import pytest

from panel.api import tls
from panel.remote import ApiError, PanelClient, PanelProcess
from tests.configs import with_simulated_parts
from tests.support import TOKEN, make_config, start_panel


def fingerprint_of(pem: bytes) -> str:
    der = ssl.PEM_cert_to_DER_cert(pem.decode())
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


@pytest.mark.parametrize("mode,host,wanted", [("auto", "127.0.0.1", False), ("auto", "::1", False),
                                              ("auto", "localhost", False), ("auto", "0.0.0.0", True),
                                              ("auto", "192.168.1.20", True), ("auto", "panel.local", True),
                                              ("on", "127.0.0.1", True), ("off", "0.0.0.0", False)])
def test_tls_is_on_by_default_beyond_loopback(mode, host, wanted):
    assert tls.wanted(mode, host) is wanted


async def test_https_with_the_fingerprint_pinned(tmp_path):
    config = make_config(tmp_path, api={"tls": "on"})
    running = await start_panel(config)
    try:
        assert running.app.api.url.startswith("https://127.0.0.1:")
        cert = (config.state_dir / tls.CERT_FILE).read_bytes()
        fingerprint = running.app.api.fingerprint
        assert fingerprint == fingerprint_of(cert)
        assert (config.state_dir / tls.KEY_FILE).stat().st_mode & 0o077 == 0     # the key: the panel's user only
        async with PanelClient(running.app.api.url, TOKEN, fingerprint=fingerprint) as client:
            assert (await client.status())["door"]["relay"] == "locked"
        wrong = "00:" * 31 + "00"
        async with PanelClient(running.app.api.url, TOKEN, fingerprint=wrong) as client:
            with pytest.raises(aiohttp.ServerFingerprintMismatch):
                await client.status()
        with pytest.raises(ValueError, match="fingerprint"):
            PanelClient(running.app.api.url, TOKEN)
        # Plain HTTP to the HTTPS port gets nowhere near the API.
        async with PanelClient(running.app.api.url.replace("https:", "http:"), TOKEN, timeout=5) as client:
            with pytest.raises((aiohttp.ClientError, ApiError)):
                await client.status()
    finally:
        await running.session.close()
        await running.stop()
    # The same certificate after a restart: a pinned fingerprint stays valid.
    again = await start_panel(config)
    try:
        assert again.app.api.fingerprint == fingerprint
    finally:
        await again.session.close()
        await again.stop()


async def test_panel_run_prints_the_fingerprint_and_the_client_pins_it(tmp_path):
    path = tmp_path / "panel.toml"
    path.write_text(with_simulated_parts(f'[panel]\nstate_dir = "{tmp_path / "state"}"\n'
                                         f'[api]\nport = 0\ntoken = "{TOKEN}"\ntls = "on"\n'))
    panel = await PanelProcess.run(path).astart()
    try:
        assert panel.api_url.startswith("https://")
        assert panel.fingerprint == fingerprint_of((tmp_path / "state" / tls.CERT_FILE).read_bytes())
        async with panel.client() as client:
            assert (await client.status())["screen"] == "home"
    finally:
        await panel.astop()
    assert "Traceback" not in panel.stderr


async def test_a_damaged_certificate_is_a_clear_error_not_a_new_identity(tmp_path):
    config = make_config(tmp_path, api={"tls": "on"})
    (config.state_dir).mkdir(parents=True)
    (config.state_dir / tls.CERT_FILE).write_text("not a certificate")
    (config.state_dir / tls.KEY_FILE).write_text("not a key")
    with pytest.raises(OSError, match="delete both"):
        await start_panel(config)
    assert (config.state_dir / tls.CERT_FILE).read_text() == "not a certificate"
