#!/usr/bin/env bash
# Fetch the real sample images and video with people into data/samples/ (git-ignored), from the Debian
# package `opencv-doc` (usr/share/doc/opencv-doc/examples/data/). No root needed: `apt-get download` into a
# temporary directory, `dpkg-deb -x`, copy the few files, remove the temporary files.
#   basketball1.png, basketball2.png  640x480 greyscale, two men passing a ball
#   vtest.avi                         768x576, 10 fps, outdoor CCTV, about 8 small pedestrians
#   messi5.jpg                        one player and a crowd
# Idempotent: a fast no-op when every file is already there. Usage: scripts/get_samples.sh [DEST_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-data/samples}
FILES=(basketball1.png basketball2.png vtest.avi messi5.jpg)

missing=()
for f in "${FILES[@]}"; do [ -s "$DEST/$f" ] || missing+=("$f"); done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

log() { printf '[get_samples] %s\n' "$*"; }
for tool in apt-get dpkg-deb; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "error: '$tool' not found; the samples come from the Debian package opencv-doc." >&2
    log "On a non-Debian system copy ${missing[*]} from OpenCV's samples/data/ into $DEST/ by hand." >&2
    exit 1
  fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pinet_samples.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
log "downloading opencv-doc (about 96 MB) for ${missing[*]}"
download() { (cd "$TMP" && apt-get download -q opencv-doc >"$TMP/apt.log" 2>&1); }
if ! download && [ "$(id -u)" = 0 ]; then
  # A fresh machine may have no package index yet; as root we can fetch it and try again.
  log "apt-get download failed; running apt-get update once"
  apt-get update -qq >"$TMP/update.log" 2>&1 || cat "$TMP/update.log" >&2
  download || true
fi
if ! ls "$TMP"/opencv-doc_*.deb >/dev/null 2>&1; then
  cat "$TMP/apt.log" >&2
  log "error: 'apt-get download opencv-doc' failed (no Debian mirror reachable, or run 'apt-get update')." >&2
  exit 1
fi
deb=$(ls "$TMP"/opencv-doc_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || { log "error: apt-get download produced no opencv-doc .deb" >&2; exit 1; }
dpkg-deb -x "$deb" "$TMP/x"
SRC="$TMP/x/usr/share/doc/opencv-doc/examples/data"
mkdir -p "$DEST"
for f in "${missing[@]}"; do
  if [ -f "$SRC/$f" ]; then
    cp "$SRC/$f" "$DEST/$f.part" && mv "$DEST/$f.part" "$DEST/$f"
  elif [ -f "$SRC/$f.gz" ]; then  # Debian may compress large docs
    gzip -dc "$SRC/$f.gz" > "$DEST/$f.part" && mv "$DEST/$f.part" "$DEST/$f"
  else
    log "error: $f not found in $(basename "$deb")" >&2
    exit 1
  fi
done
log "samples ready in $DEST: ${FILES[*]}"
