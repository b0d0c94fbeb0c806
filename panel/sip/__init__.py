"""The panel's SIP user agent (RFC 3261): registration, outgoing calls, G.711 audio and VP8
video over RTP, the door by key press.

Messages are parsed and written by sipmessage (the aiortc authors' SIP grammar); the
protocol's state machines are here, one module per part of the spec: message.py
(building requests and responses), auth.py (digest), transaction.py (UDP transport and
client transactions), dialog.py, sdp.py (offer/answer), register.py, invite.py (an
outgoing call), rtp.py (audio media with aiortc's G.711 codecs), video.py (VP8 from the
camera track), doorcode.py (the door
by key press), ua.py (the user agent),
service.py (SipCallService: the core's StartCall / StopCall as SIP calls).
"""
