"""The fuzz targets by name, and each one's share of a run's inputs."""

from __future__ import annotations

from .access import CredentialCose, CredentialMutated, CredentialText, OsdpCards
from .api import ApiBody, ApiHttp
from .cloud import SignalingCall, SignalingSync
from .images import ImageDecode, ImageScanner
from .wire import OsdpEvents, OsdpWire, SerialModbus


# name -> (harness class, share of --inputs)
TARGETS = {
    "credential.text": (CredentialText, 0.15),
    "credential.cose": (CredentialCose, 0.15),
    "credential.mutated": (CredentialMutated, 0.15),
    "api.body": (ApiBody, 0.10),
    "api.http": (ApiHttp, 0.005),
    "signaling.sync": (SignalingSync, 0.10),
    "signaling.call": (SignalingCall, 0.10),
    "serial.modbus": (SerialModbus, 0.001),
    "osdp.cards": (OsdpCards, 0.10),
    "osdp.events": (OsdpEvents, 0.019),
    "osdp.wire": (OsdpWire, 0.02),
    "image.decode": (ImageDecode, 0.09),
    "image.scanner": (ImageScanner, 0.01),
}
