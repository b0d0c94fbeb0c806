# Shared set-up for scripts/run and scripts/test: install only what is missing.
# Sourced, not executed. Idempotent: a second run does nothing but checks.

# Debian packages the panel needs to run, and those the tests need besides.
#   libzbar0   pyzbar's decoder (the panel's second QR decoder)
#   chromium   the resident's phone in end-to-end tests (driven by Playwright)
#   xvfb, xdotool   a virtual display and a mouse, to test the panel's real window
#   baresip, kamailio   a resident's SIP phone and a registrar/proxy for the SIP call tests
#   baresip-ffmpeg      baresip's H.264 (avcodec), so the SIP tests see the panel's H.264 decoded
#   mosquitto  the MQTT broker the [mqtt] tests start on a free port
RUN_PACKAGES=(libzbar0)
TEST_PACKAGES=(chromium xvfb xdotool mosquitto baresip baresip-ffmpeg kamailio)
# npm packages the tests need, into .cache/npm (ignored by git):
#   axe-core   the accessibility checks injected into the resident app and the office page (tests/a11y.py)
NODE_PACKAGES=(axe-core@4.14.1)

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

ensure_system_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null; then
        say "missing system packages: ${missing[*]} (no apt-get here: install them with your package manager)"
        return 1
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { say "missing system packages: ${missing[*]}; run as root or install sudo"; return 1; }
        sudo="sudo"
    fi
    say "installing system packages: ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

find_python() {
    local py
    for py in python3.13 python3.12 python3.11 python3; do
        if command -v "$py" >/dev/null && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$py"; return 0
        fi
    done
    say "Python 3.11 or newer is needed (apt-get install python3 python3-venv)"
    return 1
}

# .venv with the project installed editable; reinstalled only when pyproject.toml changes.
ensure_venv() {
    local extras="$1" stamp=".venv/.installed" want
    want="$(sha256sum pyproject.toml | cut -d' ' -f1) $extras"
    if [ ! -x .venv/bin/python ]; then
        say "creating .venv"
        "$(find_python)" -m venv .venv
    fi
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing Python packages into .venv (first run takes a minute)"
        .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
        .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extras]"
        echo "$want" > "$stamp"
    fi
}

# npm packages into .cache/npm/node_modules; reinstalled only when the list changes.
ensure_node_packages() {
    local dir=.cache/npm stamp=.cache/npm/.installed want="$*"
    [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
    # npm from Debian only when there is none (a NodeSource node brings its own, and Debian's would clash)
    command -v npm >/dev/null || ensure_system_packages nodejs npm || return 1
    say "installing npm packages into $dir: $*"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "$@" >/dev/null
    echo "$want" > "$stamp"
}
