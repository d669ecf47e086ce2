#!/bin/sh
# Écoute kiosk launcher: Debian's Chromium, full screen, on this screen's kiosk page.
# Installed as /usr/local/bin/ecoute-kiosk and started by ecoute-kiosk.service (kiosk/README.md).
#
# Settings (environment, or the file /etc/default/ecoute-kiosk):
#   ECOUTE_URL             where Écoute runs, e.g. https://ecoute.example.com (required)
#   ECOUTE_KIOSK_PROFILE   Chromium's profile: the device cookie and the cached clips live there,
#                          so it must survive reboots (default ~/.local/state/ecoute-kiosk)
#   ECOUTE_KIOSK_FLAGS     more Chromium flags, space-separated (e.g. --force-device-scale-factor=1.5)
#   ECOUTE_CHROMIUM        the browser to run (default: chromium)
set -eu

CONFIG=${ECOUTE_KIOSK_CONFIG:-/etc/default/ecoute-kiosk}
if [ -z "${ECOUTE_URL:-}" ] && [ -r "$CONFIG" ]; then
    # shellcheck source=/dev/null
    . "$CONFIG"
fi
if [ -z "${ECOUTE_URL:-}" ]; then
    echo "ecoute-kiosk: set ECOUTE_URL in $CONFIG (e.g. ECOUTE_URL=https://ecoute.example.com)" >&2
    exit 78  # EX_CONFIG: systemd keeps retrying, the journal says why
fi

profile=${ECOUTE_KIOSK_PROFILE:-${XDG_STATE_HOME:-$HOME/.local/state}/ecoute-kiosk}
chromium=${ECOUTE_CHROMIUM:-chromium}
url="${ECOUTE_URL%/}/kiosk/"

mkdir -p "$profile"
# After a power cut Chromium believes it crashed: it would offer to restore the previous pages, and
# its lock, left by the dead process, could make it refuse the profile. One launcher, one profile:
# nothing else holds that lock.
rm -f "$profile/SingletonLock" "$profile/SingletonSocket" "$profile/SingletonCookie"
preferences="$profile/Default/Preferences"
if [ -f "$preferences" ]; then
    sed -i -e 's/"exited_cleanly":false/"exited_cleanly":true/' \
        -e 's/"exit_type":"[^"]*"/"exit_type":"Normal"/' "$preferences" || true
fi

# Under X, no screen saver and no display power management: the room's screen stays on.
if [ -n "${DISPLAY:-}" ] && command -v xset >/dev/null 2>&1; then
    xset s off s noblank -dpms || true
fi

# Deliberately split on spaces: one variable, several flags.
# shellcheck disable=SC2086
exec "$chromium" \
    --kiosk \
    --autoplay-policy=no-user-gesture-required \
    --noerrdialogs \
    --disable-session-crashed-bubble \
    --disable-infobars \
    --check-for-update-interval=31536000 \
    --no-first-run \
    --user-data-dir="$profile" \
    --password-store=basic \
    --disable-features=Translate \
    --overscroll-history-navigation=0 \
    --disable-pinch \
    ${ECOUTE_KIOSK_FLAGS:-} \
    "$url"
