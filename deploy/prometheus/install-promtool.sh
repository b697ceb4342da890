#!/bin/sh
# Install promtool (used by tests/unit/observability to check and unit-test alerts.yml).
#
# Idempotent: a no-op when `promtool` is already on PATH.
# On Debian/Ubuntu, promtool ships in the `prometheus` package. That package's postinst
# would normally start a Prometheus server listening on 0.0.0.0:9090; we do NOT want a
# server running, only the promtool binary. So:
#   1. a temporary /usr/sbin/policy-rc.d returning 101 forbids invoke-rc.d from starting
#      any service during the install (the standard Debian "policy-rc.d trick");
#   2. afterwards, if systemd is running, `systemctl disable --now prometheus` (and the
#      node exporter, if a recommends pulled it in) makes sure nothing stays enabled;
#   3. --no-install-recommends keeps exporters and other extras out.
set -eu

if command -v promtool >/dev/null 2>&1; then
    echo "promtool already installed: $(command -v promtool)"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-promtool.sh: no apt-get here; install promtool from" \
         "https://prometheus.io/download/ and put it on PATH" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

POLICY_RC=/usr/sbin/policy-rc.d
CREATED_POLICY_RC=0
if [ ! -e "$POLICY_RC" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY_RC" >/dev/null
    $SUDO chmod 755 "$POLICY_RC"
    CREATED_POLICY_RC=1
fi
cleanup() {
    if [ "$CREATED_POLICY_RC" = 1 ]; then
        $SUDO rm -f "$POLICY_RC"
    fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends prometheus

# Belt and braces: never leave a Prometheus server running or enabled.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    $SUDO systemctl disable --now prometheus 2>/dev/null || true
    $SUDO systemctl disable --now prometheus-node-exporter 2>/dev/null || true
else
    # No running systemd (containers, CI images): nothing was started thanks to
    # policy-rc.d, but the postinst still enables the unit; remove that symlink so a
    # later boot with systemd does not start a server either.
    if command -v systemctl >/dev/null 2>&1; then
        $SUDO systemctl disable prometheus 2>/dev/null || true
    elif command -v deb-systemd-helper >/dev/null 2>&1; then
        # deb-systemd-helper refuses to run outside dpkg unless told it is a maintscript
        $SUDO env DPKG_MAINTSCRIPT_PACKAGE=prometheus DPKG_MAINTSCRIPT_NAME=postinst \
            deb-systemd-helper disable prometheus.service 2>/dev/null || true
    fi
    if command -v service >/dev/null 2>&1; then
        $SUDO service prometheus stop 2>/dev/null || true
    fi
fi

command -v promtool >/dev/null 2>&1 || { echo "promtool still not on PATH" >&2; exit 1; }
echo "installed: $(promtool --version 2>&1 | head -n 1)"
